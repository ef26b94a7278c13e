"""A campaign's agent file-name pattern: where the agent code sits in an SFTP file's name.

One owner for the rule, used by the gateway (to refuse a bad pattern when it is saved) and
by the sftp service (to read the code out of a name). A pattern is the whole file name
with two kinds of placeholder, so people who have never written a regular expression can
write one, and no pattern can make matching slow:

    *_{agent}_*.wav     call_JS001_20260115.wav        -> JS001
    {agent}-*           JS001-morning.mp3              -> JS001
    rec_*_{agent}.*     rec_20260115_AB12.m4a          -> AB12

`*` is any run of characters (also none), `{agent}` is the code: 1 to 32 letters, digits,
`_` or `-` (the gateway's rule for agent codes), the leftmost and then shortest that lets
the rest of the name fit.
Everything else matches itself, without case. A name the pattern does not fit has no code.
"""

from __future__ import annotations

from dataclasses import dataclass

AGENT_PLACEHOLDER = "{agent}"
MAX_PATTERN_LENGTH = 200
MAX_CODE_LENGTH = 32
_CODE_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class AgentPatternError(ValueError):
    """The pattern cannot be used; the message says what to write instead."""


@dataclass(frozen=True)
class AgentPattern:
    """A checked pattern: the text before and after `{agent}`, both lower-cased."""

    before: str
    after: str

    def code_in(self, file_name: str) -> str | None:
        """The code in the file name (leftmost, then shortest), or None when it does not fit.

        Dynamic programming over the name, not a backtracking regular expression: any
        pattern takes time proportional to name length x pattern length.
        """
        text = _fold(file_name)
        fits_before = _glob_prefixes(self.before, text)
        fits_after = _glob_prefixes(self.after[::-1], text[::-1])[::-1]
        for start, prefix_fits in enumerate(fits_before):
            if not prefix_fits:
                continue
            for end in range(start + 1, min(len(text), start + MAX_CODE_LENGTH) + 1):
                if file_name[end - 1] not in _CODE_CHARACTERS:
                    break
                if fits_after[end]:
                    return file_name[start:end]
        return None


def parse_agent_pattern(pattern: str) -> AgentPattern:
    """The pattern ready to match file names, or AgentPatternError saying what is wrong."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise AgentPatternError(
            f"the agent file-name pattern is at most {MAX_PATTERN_LENGTH} characters"
        )
    if "/" in pattern or "\\" in pattern:
        raise AgentPatternError(
            "the agent file-name pattern matches a file's name, not a path; leave out '/' and '\\'"
        )
    if pattern.lower().count(AGENT_PLACEHOLDER) != 1:
        raise AgentPatternError(
            "the agent file-name pattern needs {agent} exactly once where the code sits, "
            "e.g. *_{agent}_*.wav (* is any text)"
        )
    before, after = _fold(pattern).split(AGENT_PLACEHOLDER)
    return AgentPattern(before, after)


def _fold(text: str) -> str:
    """Lower case, one character for one: positions in the result are positions in text
    (a character whose lower case is longer, such as 'İ', stays as it is)."""
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def agent_code_by_pattern(pattern: str, file_name: str) -> str | None:
    """The code the pattern finds in the file name, or None when the name does not fit."""
    return parse_agent_pattern(pattern).code_in(file_name)


def _glob_prefixes(glob: str, text: str) -> list[bool]:
    """fits[j]: whether the glob (`*` = any run) matches text[:j] exactly."""
    # row[j] after consuming glob[:i]; starts as "the empty glob matches the empty prefix".
    row = [True] + [False] * len(text)
    for symbol in glob:
        if symbol == "*":
            # A star extends any prefix already matched: a running OR from the left.
            seen = False
            row = [seen := seen or fits for fits in row]
        else:
            row = [False] + [row[j] and text[j] == symbol for j in range(len(text))]
    return row

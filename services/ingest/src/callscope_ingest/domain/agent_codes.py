"""The product guide's "Agent Code in Filenames": which agent a call links to, owned here once.

A file name is cut into tokens at `_`, `-`, spaces and dots; the first token that is
2 to 5 upper-case letters followed by 2 to 6 digits is the agent code:

    call_JS001_20260115.mp3            -> JS001
    recording-ABC123-morning.mp3       -> ABC123
    20260115_JS001_outbound_sale.mp3   -> JS001  (the date is digits only, never a code)
    call_AB12_CD34.mp3                 -> AB12   (the first code wins)
    call_js001.mp3, recording.mp3      -> None   (lower case, or no code at all)

Common audio extensions never look like a code: `MP3` and `M4A` have a single digit.
A code given in the call's metadata always wins over one found in the file name
(`domain/agents.py`).
"""

from __future__ import annotations

import re

# The guide's separators between the parts of a file name: underscore, hyphen,
# whitespace and dot (so the code may sit right before the extension).
_TOKEN_SEPARATORS = re.compile(r"[_\-.\s]+")

# A whole token of 2-5 ASCII upper-case letters then 2-6 ASCII digits (JS001, ABC123).
# Explicit ASCII classes rather than \d, so Unicode digits never make a code; a token
# of digits only, such as the date 20260115, never matches because letters come first.
_AGENT_CODE = re.compile(r"[A-Z]{2,5}[0-9]{2,6}")


def agent_code_from_file_name(file_name: str) -> str | None:
    """The first agent-code token in a file name, or None when it holds none."""
    for token in _TOKEN_SEPARATORS.split(file_name):
        if _AGENT_CODE.fullmatch(token):
            return token
    return None

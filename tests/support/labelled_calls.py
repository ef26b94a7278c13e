"""Generated labelled calls: many realistic calls and what a careful QA reviewer says of each check.

`tests/support/scripts.py` holds ten hand-written calls; this module composes
more from pools of sections, to measure how often the offline evaluator agrees
with a reviewer on the "Demo" campaign's default checks (greeting, identity
verification, empathy, offer of further help, proper closing).

A call is an opening, the customer's problem, the agent's response to it, an
identity check (or none), the account looked at, the fix, an offer of further
help (or none) and a goodbye, in one of seven scenarios. Every section comes
from a pool of variants; each variant carries the answer a careful reviewer
gives to the one check it decides, judged from what is said and by whom, never
from which hint phrases the evaluator knows. Paraphrases that satisfy a check
without its hint phrases are there on purpose, and so are lures: the customer
saying the agent's words, a phrase at the wrong end of the call, negations,
near-misses ("sorry, can you repeat that?" is not empathy), a check done only
after the account was discussed. The other sections never touch a check they
do not decide (no apology outside the empathy section, no verification outside
the identity section), so each label follows from one section.

Generation is deterministic: a fixed seed balances the labels (about 55% pass
for every check) and cycles through each pool, so every variant appears. The
`asr_noise` transform makes the same calls read like a speech recogniser's
output (see its docstring); it is seeded per call, so it is deterministic too.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from types import MappingProxyType

from tests.support.dialogue import Dialogue, Line, Party
from tests.support.scripts import CHECK_IDS

SEED = 20260115
CALL_COUNT = 60
PASS_SHARE = 0.55

A: Party = "AGENT"
C: Party = "CUSTOMER"

Template = tuple[Party, str]


@dataclass(frozen=True)
class Persona:
    """A customer and the answers they give to security questions, as spoken words."""

    name: str
    first: str
    dob: str
    postcode: str
    address: str
    pet: str
    digits: str
    letters: str
    code: str


@dataclass(frozen=True)
class Scenario:
    """What a call is about: the company, its agent and the lines only this kind of call has."""

    key: str
    company: str
    agent: str
    problem: str
    repeat: str
    issue: str
    detail: str
    account_fact: str
    resolution: str
    reaction: str
    follow_up: str


@dataclass(frozen=True)
class Variant:
    """One way a section of a call can go, and whether it satisfies the check it decides.

    `later` lines come after the fix instead of in the section's usual place (an
    identity check done once the account has already been discussed).
    """

    key: str
    passes: bool
    lines: tuple[Template, ...]
    later: tuple[Template, ...] = ()
    weight: int = 1


@dataclass(frozen=True)
class LabelledCall:
    """A generated call: its dialogue, the variant of each section and the expected answers."""

    dialogue: Dialogue
    expected: Mapping[str, bool]
    scenario: str
    variants: Mapping[str, str]
    seed: int

    @property
    def name(self) -> str:
        """The call's name, e.g. "billing-07"."""
        return self.dialogue.name

    def noisy(self) -> LabelledCall:
        """The same call as a speech recogniser might have heard it; the labels do not change."""
        return replace(self, dialogue=asr_noise(self.dialogue, seed=self.seed))


PERSONAS: tuple[Persona, ...] = (
    Persona(
        name="Emma Clarke",
        first="Emma",
        dob="It's the fourth of June, nineteen eighty two.",
        postcode="It's north one, two A B.",
        address="twelve Mill Lane, Leeds",
        pet="It was a cat called Tiger.",
        digits="Four five six seven.",
        letters="R and S.",
        code="Three nine one five.",
    ),
    Persona(
        name="David Shaw",
        first="David",
        dob="The tenth of May, nineteen seventy.",
        postcode="South east nine, four P Q.",
        address="forty Station Road, Bristol",
        pet="A dog called Max.",
        digits="Eight two two one.",
        letters="T and A.",
        code="Seven seven two zero.",
    ),
    Persona(
        name="Aisha Khan",
        first="Aisha",
        dob="Second of July, nineteen eighty five.",
        postcode="It's M one four, six L Z.",
        address="seven Park Avenue, Manchester",
        pet="Bella, she was a rabbit.",
        digits="It's one three three nine.",
        letters="O and E.",
        code="Five one eight four.",
    ),
    Persona(
        name="Tom Brooks",
        first="Tom",
        dob="Third of April, nineteen sixty.",
        postcode="B S three, one J W.",
        address="two Church Street, Bath",
        pet="A goldfish called Bubbles.",
        digits="Six zero four two.",
        letters="M and N.",
        code="Two six six one.",
    ),
)

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        key="billing",
        company="City Energy",
        agent="Sam",
        problem="I've been charged twice for my gas bill this month.",
        repeat="I said I've been charged twice for my gas bill.",
        issue="a double charge",
        detail="It's left me short for the rent, to be honest.",
        account_fact="I can see two payments for the same bill on the fourth.",
        resolution="I've sent the second payment back to your card. It takes three to five days.",
        reaction="Okay, that's good to know.",
        follow_up="You'll get an email to say it's on its way.",
    ),
    Scenario(
        key="lost_card",
        company="Harbor Bank",
        agent="Maya",
        problem="I think I've lost my bank card. I can't find it anywhere.",
        repeat="My bank card. I've lost it.",
        issue="a lost card",
        detail="I'm worried someone has been using it.",
        account_fact="The last payment on the card was yesterday, at a supermarket.",
        # "For your security" is said whether or not the caller was verified: a lure for
        # an identity hint such as "for security" when they were not.
        resolution="For your security, I've blocked the card. A new one will come in five days.",
        reaction="Thank goodness. Will my direct debits still work?",
        follow_up="Yes, they will carry on as normal.",
    ),
    Scenario(
        key="delivery",
        company="Swift Parcels",
        agent="Tom",
        problem="My parcel was meant to come on Monday and it still hasn't arrived.",
        repeat="My parcel. It hasn't come.",
        issue="a late parcel",
        detail="It's a birthday present for my son, and his party is on Saturday.",
        account_fact="I can see the parcel is sitting at your local depot.",
        resolution="I've booked it onto tomorrow's first van, so it will come before noon.",
        reaction="Finally. Do I need to be in?",
        follow_up="No, the driver can leave it with a neighbour.",
    ),
    Scenario(
        key="broadband",
        company="Blue Net",
        agent="Priya",
        problem="My internet keeps dropping out every few minutes.",
        repeat="The internet keeps cutting out.",
        issue="an internet connection that keeps dropping",
        detail="I work from home, so I keep losing my video calls.",
        account_fact="I can see the line has dropped forty times since Sunday.",
        resolution="I've reset the line from here. It should be steady within ten minutes.",
        reaction="Okay, I'll keep an eye on it.",
        follow_up="If it drops again, an engineer can come out on Thursday.",
    ),
    Scenario(
        key="cancellation",
        company="Star Mobile",
        agent="Alex",
        problem="I want to cancel my phone contract. The price keeps going up.",
        repeat="I want to cancel my contract.",
        issue="a price rise every year",
        detail="It's gone up three times now, and nobody told me.",
        account_fact="Your contract ends in March, and the last rise was in April.",
        resolution="I've set the contract to end on the last day of March, with no extra fee.",
        reaction="Good. Will I get that in writing?",
        follow_up="Yes, a letter will come out this week.",
    ),
    Scenario(
        key="address_change",
        company="Green Valley Insurance",
        agent="Chris",
        problem="I moved house last month and your letters still go to my old address.",
        repeat="I've moved, and the letters go to the old house.",
        issue="post going to the wrong house",
        detail="The new people there have been opening them.",
        account_fact="The policy still has your old address on it.",
        resolution="I've changed the address on the policy, and the letters will come to you now.",
        reaction="Great. Does the price change?",
        follow_up="No, the price stays the same for the new address.",
    ),
    Scenario(
        key="refund",
        company="Easy Travel",
        agent="Kim",
        problem="My flight was cancelled three weeks ago and I still haven't had my money back.",
        repeat="My flight was cancelled and I want my money back.",
        issue="a cancelled flight and no refund",
        detail="It was four hundred pounds, and I had to pay for another flight.",
        account_fact="The refund was approved but never sent out.",
        resolution="I've sent the refund today. It will reach your account in two working days.",
        reaction="At last. Thank you.",
        follow_up="You'll get an email when it has gone through.",
    ),
)

# --- the sections ---------------------------------------------------------------------------

OPENINGS: tuple[Variant, ...] = (
    Variant(
        "thanks-for-calling",
        True,
        (
            (
                A,
                "Good morning, thank you for calling {company}, I'm {agent}. How can I help?",
            ),
        ),
    ),
    Variant(
        "you-have-reached",
        True,
        ((A, "Hi, you've reached {company}, {agent} speaking. What can I do for you today?"),),
    ),
    Variant(
        "welcome-to",
        True,
        ((A, "Hello and welcome to {company}. This is {agent}, how can I help you?"),),
    ),
    # The script many centres use; it names the company without any stock phrase.
    Variant(
        "company-name-speaking",
        True,
        ((A, "Good morning, {company}, {agent} speaking. How can I help?"),),
    ),
    Variant(
        "through-to-after-hello",
        True,
        (
            (C, "Hello? Is anyone there?"),
            (A, "Hi there, you're through to {company}, I'm {agent}."),
        ),
    ),
    Variant(
        "calling-back-from",
        True,
        (
            (
                A,
                "Hello, is that {first}? It's {agent}, I'm calling from {company} "
                "about your message.",
            ),
            (C, "Yes, that's me. Thanks for ringing back."),
        ),
    ),
    Variant("bare-hello", False, ((A, "Hello?"),)),
    Variant("yeah-what-is-it", False, ((A, "Yeah, what is it?"),)),
    # A greeting, but no company: the question asks for both.
    Variant("greets-without-company", False, ((A, "Good morning, how can I help?"),)),
    # The customer names the company and thanks; the agent only confirms.
    Variant(
        "customer-names-company",
        False,
        (
            (A, "Hello?"),
            (C, "Hi, is that {company}? I've been on hold for ages."),
            (A, "Yes. What's it about?"),
        ),
    ),
    # The customer thanks the agent for calling; the agent names nobody.
    Variant(
        "customer-thanks-for-calling",
        False,
        (
            (A, "Hello, you rang us earlier?"),
            (C, "Yes, thank you for calling me back so quickly."),
            (A, "What's it about?"),
        ),
    ),
    Variant(
        "account-holder",
        False,
        ((A, "Hello, am I speaking to the account holder?"), (C, "Yes, you are.")),
    ),
)

EMPATHY: tuple[Variant, ...] = (
    Variant("sorry-to-hear", True, ((A, "Oh, I'm sorry to hear that."),)),
    Variant(
        "frustrating", True, ((A, "That sounds really frustrating, I'll get it sorted for you."),)
    ),
    Variant(
        "completely-understand",
        True,
        ((A, "I completely understand, nobody wants to deal with {issue}."),),
    ),
    Variant("apologise", True, ((A, "I do apologise for all the trouble this has caused you."),)),
    Variant("can-imagine", True, ((A, "I can imagine how stressful that is."),)),
    # Paraphrases a reviewer credits, with none of the usual words.
    Variant(
        "not-what-you-need",
        True,
        ((A, "Oh no, that's really not what you need right now. Let's put it right."),),
    ),
    Variant("must-have-been-worrying", True, ((A, "That must have been worrying for you."),)),
    Variant("so-sorry-you", True, ((A, "I'm so sorry you've had to deal with {issue}."),)),
    Variant("no-response", False, ((A, "Right."),)),
    # Apologies that are not about the customer's problem.
    Variant(
        "sorry-repeat",
        False,
        ((A, "Sorry, can you repeat that? The line is very quiet."), (C, "{repeat}")),
        weight=2,
    ),
    Variant(
        "sorry-which-account",
        False,
        ((A, "Sorry, which account is this about?"), (C, "Mine, the main one.")),
    ),
    # Negations of empathy phrases.
    Variant("cannot-imagine-why", False, ((A, "Right. I can't imagine why the system did that."),)),
    Variant(
        "does-not-understand-how",
        False,
        ((A, "I don't understand how that happened, to be honest."),),
    ),
    # The customer apologises; the agent does not.
    Variant(
        "customer-apologises",
        False,
        ((C, "I'm so sorry to bother you with all this."), (A, "Okay. Go on.")),
    ),
    Variant("dismissive", False, ((A, "Well, these things happen."),)),
)

_CHECKED = (A, "Thank you, that all matches. {account_fact}")

IDENTITY: tuple[Variant, ...] = (
    Variant(
        "date-of-birth",
        True,
        (
            (A, "Before I look at the account, can I take your date of birth, please?"),
            (C, "{dob}"),
            _CHECKED,
        ),
    ),
    Variant(
        "postcode",
        True,
        ((A, "Can you confirm the postcode on the account for me?"), (C, "{postcode}"), _CHECKED),
    ),
    Variant(
        "security-question",
        True,
        (
            (
                A,
                "I just need to ask you a security question first. "
                "What was the name of your first pet?",
            ),
            (C, "{pet}"),
            _CHECKED,
        ),
    ),
    Variant(
        "last-four-digits",
        True,
        (
            (A, "Could you give me the last four digits of the card on the account?"),
            (C, "{digits}"),
            _CHECKED,
        ),
    ),
    Variant(
        "full-name-and-address",
        True,
        (
            (A, "Can you confirm your full name and address, please?"),
            (C, "It's {name}, {address}."),
            _CHECKED,
        ),
    ),
    # Paraphrases: the purpose is said, the usual words are not.
    Variant(
        "right-person-born",
        True,
        (
            (A, "To make sure I'm talking to the right person, when were you born?"),
            (C, "{dob}"),
            _CHECKED,
        ),
    ),
    Variant(
        "memorable-word-letters",
        True,
        (
            (A, "What are the first and third letters of your memorable word?"),
            (C, "{letters}"),
            _CHECKED,
        ),
    ),
    Variant(
        "through-security-address",
        True,
        (
            (
                A,
                "I'll need to run through security with you first. "
                "What's the first line of your address?",
            ),
            (C, "It's {address}."),
            _CHECKED,
        ),
    ),
    Variant(
        "one-time-code",
        True,
        (
            (A, "I've just sent a code to your mobile. Can you read it out to me?"),
            (C, "{code}"),
            _CHECKED,
        ),
    ),
    Variant("no-check", False, ((A, "Let me bring that up. {account_fact}"),), weight=3),
    # The customer offers a date of birth; the agent checks nothing and goes on.
    Variant(
        "customer-volunteers-birthday",
        False,
        (
            (C, "If you need it, my date of birth is the fourth of June, nineteen eighty two."),
            (A, "Okay, let me have a look. {account_fact}"),
        ),
        weight=2,
    ),
    # A name identifies; it does not verify.
    Variant(
        "name-only",
        False,
        (
            (A, "Can I take your name, please?"),
            (C, "It's {name}."),
            (A, "Thanks, {first}. {account_fact}"),
        ),
        weight=2,
    ),
    Variant(
        "skips-security",
        False,
        ((A, "We don't need to bother with security today. {account_fact}"),),
    ),
    # Asked, refused, and the account discussed anyway.
    Variant(
        "customer-refuses",
        False,
        (
            (A, "Can I take your date of birth?"),
            (C, "No. I will not verify anything over the phone, just tell me what's going on."),
            (A, "Fine. {account_fact}"),
        ),
    ),
    # The account was discussed before any check.
    Variant(
        "checks-too-late",
        False,
        ((A, "Let me have a look. {account_fact}"),),
        later=(
            (A, "Oh, I should have asked before. Can I take your date of birth?"),
            (C, "{dob}"),
            (A, "Thank you."),
        ),
    ),
)

FURTHER_HELP: tuple[Variant, ...] = (
    Variant(
        "anything-else-help", True, ((A, "Is there anything else I can help you with today?"),)
    ),
    Variant(
        "help-with-anything-else",
        True,
        ((A, "Can I help with anything else while you're on the line?"),),
    ),
    Variant("anything-more", True, ((A, "Is there anything more I can do for you?"),)),
    Variant(
        "before-you-go", True, ((A, "Before you go, is there anything else you need from us?"),)
    ),
    Variant(
        "was-there-anything", True, ((A, "Was there anything else you wanted to sort out today?"),)
    ),
    Variant("something-else", True, ((A, "Can I help you with something else today?"),)),
    Variant("other-questions", True, ((A, "Do you have any other questions I can help with?"),)),
    Variant("none", False, (), weight=2),
    # The customer asks; the agent offers nothing.
    Variant(
        "customer-asks",
        False,
        ((C, "Is there anything else I need to do?"), (A, "No, that's it.")),
        weight=2,
    ),
    Variant("all-done", False, ((A, "Right, that's everything done on my side."),)),
    # Help for later, not an offer now.
    Variant(
        "if-anything-else-goes-wrong",
        False,
        ((A, "If anything else goes wrong, just call us back."),),
    ),
)

# What the customer says to an offer of further help.
_NOTHING_ELSE = (C, "No, that's everything, thanks.")

CLOSINGS: tuple[Variant, ...] = (
    Variant(
        "thanks-for-calling-nice-day",
        True,
        ((A, "Thank you for calling {company}, have a nice day."), (C, "You too, bye.")),
    ),
    Variant(
        "thanks-for-your-time",
        True,
        ((A, "Thanks for your time today, take care. Goodbye."), (C, "Bye.")),
    ),
    Variant(
        "thanks-for-contacting",
        True,
        ((A, "Thank you for contacting {company}. Have a good evening."), (C, "Thanks, bye.")),
    ),
    # Paraphrases: thanks and a kind goodbye in other words.
    Variant(
        "getting-in-touch",
        True,
        (
            (A, "Thanks so much for getting in touch, and enjoy the rest of your day."),
            (C, "Will do, bye."),
        ),
    ),
    Variant(
        "thanks-for-the-call",
        True,
        ((A, "Thanks for the call, {first}. Have a lovely weekend."), (C, "You too.")),
    ),
    Variant(
        "thanks-for-patience",
        True,
        ((A, "Thank you for your patience today, and have a great day."), (C, "Bye now.")),
    ),
    Variant("bye", False, ((A, "Okay. Bye."),), weight=2),
    Variant("sorted-bye", False, ((A, "Okay, that's sorted then. Bye."), (C, "Er, bye."))),
    # The customer closes politely; the agent does not.
    Variant(
        "customer-thanks",
        False,
        ((C, "Thanks for your help, have a nice day."), (A, "Yep. Bye.")),
        weight=2,
    ),
    Variant("hangs-up", False, ((A, "Okay."), (C, "Hello? Are you still there?"))),
)

POOLS: Mapping[str, tuple[Variant, ...]] = MappingProxyType(
    {
        "greeting": OPENINGS,
        "identity_verification": IDENTITY,
        "empathy": EMPATHY,
        "further_help": FURTHER_HELP,
        "proper_closing": CLOSINGS,
    }
)


# --- composing calls ------------------------------------------------------------------------


def compose(
    name: str,
    scenario: Scenario,
    persona: Persona,
    sections: Mapping[str, Variant],
    *,
    empathy_late: bool,
) -> Dialogue:
    """The dialogue of one call from its scenario, customer and the variant of every section."""
    identity = sections["identity_verification"]
    empathy = sections["empathy"]
    help_offer = sections["further_help"]
    lines: list[Template] = [*sections["greeting"].lines, (C, scenario.problem)]
    if not empathy_late:
        lines += empathy.lines
    lines += identity.lines
    if empathy_late:
        lines += [(C, scenario.detail), *empathy.lines]
    lines += [(A, scenario.resolution), (C, scenario.reaction), (A, scenario.follow_up)]
    lines += identity.later
    if help_offer.lines:
        lines += [*help_offer.lines, _NOTHING_ELSE] if help_offer.passes else help_offer.lines
    lines += sections["proper_closing"].lines
    values = {
        "company": scenario.company,
        "agent": scenario.agent,
        "issue": scenario.issue,
        "repeat": scenario.repeat,
        "account_fact": scenario.account_fact,
        **asdict(persona),
    }
    return Dialogue(name, tuple(Line(party, text.format(**values)) for party, text in lines))


def generate(count: int = CALL_COUNT, seed: int = SEED) -> tuple[LabelledCall, ...]:
    """`count` labelled calls, the same ones for the same seed."""
    rng = random.Random(seed)
    labels = {check_id: _balanced_labels(count, rng) for check_id in CHECK_IDS}
    pickers = {check_id: _Picker(POOLS[check_id], rng) for check_id in CHECK_IDS}
    calls = []
    for index in range(count):
        scenario = SCENARIOS[index % len(SCENARIOS)]
        sections = {
            check_id: pickers[check_id].next(labels[check_id][index]) for check_id in CHECK_IDS
        }
        name = f"{scenario.key}-{index:02d}"
        dialogue = compose(
            name, scenario, rng.choice(PERSONAS), sections, empathy_late=rng.random() < 0.4
        )
        calls.append(
            LabelledCall(
                dialogue=dialogue,
                expected=MappingProxyType(
                    {check_id: labels[check_id][index] for check_id in CHECK_IDS}
                ),
                scenario=scenario.key,
                variants=MappingProxyType(
                    {check_id: sections[check_id].key for check_id in CHECK_IDS}
                ),
                seed=seed * 1000 + index,
            )
        )
    return tuple(calls)


def _balanced_labels(count: int, rng: random.Random) -> list[bool]:
    passes = round(count * PASS_SHARE)
    labels = [True] * passes + [False] * (count - passes)
    rng.shuffle(labels)
    return labels


class _Picker:
    """Hands out a pool's variants of the wanted label in turn, each as often as its weight."""

    def __init__(self, pool: Sequence[Variant], rng: random.Random) -> None:
        self._rng = rng
        self._pool = pool
        self._queues: dict[bool, list[Variant]] = {True: [], False: []}

    def next(self, passes: bool) -> Variant:
        """The next variant with the given label; a new shuffled round once all were used."""
        queue = self._queues[passes]
        if not queue:
            queue.extend(
                variant
                for variant in self._pool
                if variant.passes == passes
                for _ in range(variant.weight)
            )
            self._rng.shuffle(queue)
        return queue.pop()


# --- speech-recogniser noise ----------------------------------------------------------------

# Words a small recogniser mishears on telephone audio (Whisper tiny.en on espeak-ng
# renderings of the labelled scripts made the first few); each is changed or left alone
# at random, per occurrence.
_MISHEARD: tuple[tuple[str, str], ...] = (
    ("calling", "colling"),
    ("birth", "berth"),
    ("date of", "date on"),
    ("hear", "here"),
    ("postcode", "post code"),
    ("through", "threw"),
    ("welcome", "well come"),
    ("anything", "any thing"),
    ("today", "to day"),
    ("four", "for"),
    ("your", "you're"),
    ("frustrating", "frustrated"),
    ("reached", "reach"),
)
# Fillers at the start of a sentence ("Oh, ", "Right. "), and "just" or "um" anywhere.
_FILLERS = re.compile(
    r"(?:(?<=^)|(?<=[.?!] ))(?:oh|well|right|okay|so|er)[,.]? +|\b(?:just|um) +", re.IGNORECASE
)
# Contractions a recogniser may write out or shorten; either way round.
_CONTRACTIONS: tuple[tuple[str, str], ...] = (
    ("I am", "I'm"),
    ("you are", "you're"),
    ("do not", "don't"),
    ("it is", "it's"),
    ("I have", "I've"),
    ("that is", "that's"),
    ("I will", "I'll"),
)
_NUMBERS = {
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "twelve": "12",
    "forty": "40",
    "fourth": "4th",
    "tenth": "10th",
    "second": "2nd",
    "third": "3rd",
}
# A year said as words ("nineteen eighty two"), which recognisers write as digits.
_YEAR = re.compile(
    r"\bnineteen (sixty|seventy|eighty|ninety)"
    r"(?: (one|two|three|four|five|six|seven|eight|nine))?\b",
    re.IGNORECASE,
)
_DECADES = {"sixty": 6, "seventy": 7, "eighty": 8, "ninety": 9}
_UNITS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
# Everything but letters, digits, spaces and apostrophes: what a recogniser without
# punctuation leaves out.
_PUNCTUATION = re.compile(r"[^\w\s']")
# Any of the number words above, as a whole word.
_NUMBER_WORD = re.compile(rf"\b(?:{'|'.join(_NUMBERS)})\b", re.IGNORECASE)
# A sentence end inside a line, where a recogniser may start a new segment.
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")


def asr_noise(dialogue: Dialogue, *, seed: int) -> Dialogue:
    """The dialogue as a speech recogniser might return it; deterministic for one seed.

    Per line, each at random: filler words dropped, contractions written out or
    shortened, words misheard (`_MISHEARD`), numbers and years as digits, case
    and punctuation lost. Between lines: two consecutive lines of one speaker
    merged into one segment, and a long line cut into two at a sentence end.
    What was said, and so every label, stays the same.
    """
    rng = random.Random(seed)
    lines: list[Line] = []
    for line in dialogue.lines:
        for text in _cut(line.text, rng):
            lines.append(Line(line.party, _garble(text, rng)))
    merged: list[Line] = []
    for line in lines:
        if merged and merged[-1].party == line.party and rng.random() < 0.7:
            merged[-1] = Line(line.party, f"{merged[-1].text} {line.text}")
        else:
            merged.append(line)
    return Dialogue(dialogue.name, tuple(merged))


def _cut(text: str, rng: random.Random) -> list[str]:
    sentences = _SENTENCE_END.split(text)
    if len(text.split()) < 10 or len(sentences) < 2 or rng.random() >= 0.3:
        return [text]
    at = rng.randrange(1, len(sentences))
    return [" ".join(sentences[:at]), " ".join(sentences[at:])]


def _garble(text: str, rng: random.Random) -> str:
    text = _FILLERS.sub(lambda match: "" if rng.random() < 0.5 else match.group(0), text)
    for long, short in _CONTRACTIONS:
        text = _swap(text, long, short) if rng.random() < 0.5 else _swap(text, short, long)
    for heard, misheard in _MISHEARD:
        text = _swap(text, heard, misheard, chance=0.35, rng=rng)
    if rng.random() < 0.5:
        text = _YEAR.sub(_year_digits, text)
        text = _words_to_digits(text)
    if rng.random() < 0.4:
        text = _PUNCTUATION.sub("", text).lower()
    return " ".join(text.split()) or "mm"


def _swap(
    text: str, old: str, new: str, *, chance: float = 1.0, rng: random.Random | None = None
) -> str:
    # The words as whole words, in any case; the replacement keeps a capital first letter.
    pattern = re.compile(rf"\b{re.escape(old)}\b", re.IGNORECASE)

    def replace_one(match: re.Match[str]) -> str:
        if rng is not None and rng.random() >= chance:
            return match.group(0)
        return new if match.group(0)[0].islower() else new[0].upper() + new[1:]

    return pattern.sub(replace_one, text)


def _year_digits(match: re.Match[str]) -> str:
    return str(
        1900 + 10 * _DECADES[match.group(1).lower()] + _UNITS.get((match.group(2) or "").lower(), 0)
    )


def _words_to_digits(text: str) -> str:
    def digit(match: re.Match[str]) -> str:
        return _NUMBERS[match.group(0).lower()]

    return _NUMBER_WORD.sub(digit, text)


LABELLED_CALLS: tuple[LabelledCall, ...] = generate()

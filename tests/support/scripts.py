"""Labelled call scripts: realistic dialogues and the expected answer of every default check.

The expected answers are what a careful human reviewer would say about each
call against the "Demo" campaign's default checks (greeting, identity
verification, empathy, offer of further help, proper closing). The wording
sticks to plain, common words so that a small speech recogniser (Whisper
tiny.en on espeak-ng audio) transcribes it faithfully; names are short and
ordinary.

`speaker_sensitive` marks the scripts whose answers hold only when the
transcript separates the agent from the customer (stereo audio): in them the
customer says the phrases the agent should have said.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from tests.support.dialogue import Dialogue, Line, Party

# The ids of the default checks (services/gateway/.../domain/default_checks.py).
CHECK_IDS: tuple[str, ...] = (
    "greeting",
    "identity_verification",
    "empathy",
    "further_help",
    "proper_closing",
)


@dataclass(frozen=True)
class LabelledScript:
    """A dialogue and, for each default check id, whether the call passes it."""

    dialogue: Dialogue
    expected: Mapping[str, bool]
    speaker_sensitive: bool = False

    @property
    def name(self) -> str:
        """The dialogue's name, e.g. "COMPLIANT"."""
        return self.dialogue.name


@dataclass(frozen=True)
class TimedLine:
    """A dialogue line with made-up times, as a perfect transcript segment would have."""

    party: Party
    start: float
    end: float
    text: str


def timed_lines(
    dialogue: Dialogue, *, seconds_per_word: float = 0.4, pause: float = 0.5
) -> tuple[TimedLine, ...]:
    """The dialogue's lines one after another, each lasting in proportion to its words."""
    lines: list[TimedLine] = []
    clock = 0.0
    for line in dialogue.lines:
        duration = max(1.0, seconds_per_word * len(line.text.split()))
        lines.append(TimedLine(line.party, clock, clock + duration, line.text))
        clock += duration + pause
    return tuple(lines)


def _passes_all_but(*failed: str) -> Mapping[str, bool]:
    unknown = set(failed) - set(CHECK_IDS)
    if unknown:
        raise ValueError(f"unknown check ids: {sorted(unknown)}")
    return MappingProxyType({check_id: check_id not in failed for check_id in CHECK_IDS})


def _dialogue(name: str, *lines: tuple[Party, str]) -> Dialogue:
    return Dialogue(name, tuple(Line(party, text) for party, text in lines))


A: Party = "AGENT"
C: Party = "CUSTOMER"

COMPLIANT = LabelledScript(
    _dialogue(
        "COMPLIANT",
        (A, "Good morning, thank you for calling City Energy. My name is Sam. How can I help?"),
        (C, "Hi Sam. I have been charged twice for my gas bill this month."),
        # "what is your date of birth" came back as "date of worth" from the batched local
        # provider on the mp3 render; this wording is heard word for word on every render.
        (
            A,
            "I am sorry to hear that. Before I look at the account, "
            "can you confirm your date of birth?",
        ),
        (C, "It is the fourth of June, nineteen eighty two."),
        (A, "Thank you. I can see the second payment, and I have sent it back to your card."),
        (C, "That is great, thank you for sorting it out."),
        (A, "Is there anything else I can help you with today?"),
        (C, "No, that is all."),
        (A, "Thank you for calling City Energy. Have a nice day."),
    ),
    _passes_all_but(),
)

NO_GREETING = LabelledScript(
    _dialogue(
        "NO_GREETING",
        (A, "Hello. What can I do for you?"),
        (C, "Hi. My internet has been down since last night."),
        (A, "I am sorry about that. Can you give me your date of birth, please?"),
        (C, "Sure, it is the first of March, nineteen ninety."),
        (A, "Thanks. I have reset the line from here, so it should work again in ten minutes."),
        (C, "Great, thanks."),
        (A, "Is there anything else I can do for you?"),
        (C, "No, that is everything."),
        (A, "Thank you for calling, and have a good day."),
    ),
    _passes_all_but("greeting"),
)

NO_VERIFICATION = LabelledScript(
    _dialogue(
        "NO_VERIFICATION",
        (A, "Good afternoon, you are through to Blue Mobile, this is Alex speaking."),
        (C, "Hello, I would like to change my phone plan to the cheaper one."),
        (A, "I understand how important it is to keep costs down. Let me change that for you."),
        (C, "Thank you. Will it start this month?"),
        (A, "Yes, the new plan starts on the first of next month, and your bill will be lower."),
        (C, "Perfect."),
        (A, "Is there anything else I can help you with?"),
        (C, "No, thank you."),
        (A, "Thanks for calling Blue Mobile. Have a great day."),
    ),
    _passes_all_but("identity_verification"),
)

NO_EMPATHY = LabelledScript(
    _dialogue(
        "NO_EMPATHY",
        (A, "Hello, thank you for calling City Energy, this is Jo."),
        (C, "Hi. My boiler stopped working and I have no hot water."),
        (A, "Can you confirm your date of birth?"),
        (C, "The tenth of May, nineteen seventy."),
        (A, "Okay. An engineer will visit on Friday morning."),
        (C, "Friday? That is three days without hot water."),
        (A, "That is the first free slot. Is there anything else?"),
        (C, "No."),
        (A, "Thank you for calling. Goodbye."),
    ),
    _passes_all_but("empathy"),
)

NO_FURTHER_HELP = LabelledScript(
    _dialogue(
        "NO_FURTHER_HELP",
        (A, "Good morning, welcome to Green Valley Insurance, my name is Chris."),
        (C, "Hi, I need to add my son to my car insurance. He passed his test yesterday."),
        (A, "I can understand that he wants to drive soon. For security, what is your postcode?"),
        (C, "It is the same as always, north one, two A B."),
        (A, "Thank you. I have added him to the policy, and he is covered from today."),
        (C, "Brilliant, that was quick."),
        (A, "The new documents will come by email within the hour."),
        (A, "Thank you for calling Green Valley, and have a lovely day."),
    ),
    _passes_all_but("further_help"),
)

NO_CLOSING = LabelledScript(
    _dialogue(
        "NO_CLOSING",
        (A, "Good morning, you have reached Blue Mobile, my name is Sam."),
        (C, "Hello, my phone bill is much higher than usual."),
        (A, "I am so sorry about that. Can you tell me your date of birth, please?"),
        (C, "Yes, the second of July, nineteen eighty five."),
        (A, "I can see extra roaming charges from your trip. I have removed them this time."),
        (C, "Oh, thank you so much."),
        (A, "Is there anything else I can help with?"),
        (C, "No, that is it."),
        (A, "Okay. Bye."),
    ),
    _passes_all_but("proper_closing"),
)

POOR_CALL = LabelledScript(
    _dialogue(
        "POOR_CALL",
        (A, "Yes, hello, what do you need?"),
        (C, "Hi. I moved house last week and I need to move my energy account."),
        (A, "What is your date of birth?"),
        (C, "The third of April, nineteen sixty."),
        (A, "And the new address?"),
        (C, "It is forty Station Road."),
        (A, "Done. It moves over on Monday."),
        (C, "Okay. Will I get a letter about it?"),
        (A, "Yes. Bye."),
    ),
    _passes_all_but("greeting", "empathy", "further_help", "proper_closing"),
)

PARAPHRASED = LabelledScript(
    _dialogue(
        "PARAPHRASED",
        (A, "Good afternoon, you are speaking with Alex at Star Mobile. How can I help?"),
        (C, "Hello, my phone has had no signal at home since yesterday."),
        (A, "Oh no, that must be frustrating. I need to ask you a security question first."),
        (A, "What is the name of the street where you grew up?"),
        (C, "It was Church Lane."),
        (A, "Thank you. A mast near you is being repaired, and it will work again tonight."),
        (C, "Thank you, that is a relief."),
        (A, "Can I help you with anything else today?"),
        (C, "No, that is all."),
        (A, "Thanks for your time, and have a lovely evening."),
    ),
    _passes_all_but(),
)

CONTRACTIONS = LabelledScript(
    _dialogue(
        "CONTRACTIONS",
        (A, "Hello, thanks for calling Easy Travel, you're speaking to Kim."),
        (C, "Hi Kim, my flight has been cancelled and I don't know what to do."),
        (A, "Oh, I'm really sorry. Can I have the last four digits of the card you paid with?"),
        (C, "Yes, it's four five six seven."),
        (A, "Thanks. I've moved you to the next flight, which leaves at six tonight."),
        (C, "That's perfect, thank you."),
        (A, "You're welcome. Is there anything more I can do for you?"),
        (C, "No, that's everything."),
        (A, "Thank you for your call, and have a safe trip."),
    ),
    _passes_all_but(),
)

CUSTOMER_SAYS_IT = LabelledScript(
    _dialogue(
        "CUSTOMER_SAYS_IT",
        (A, "Hello, am I speaking to the account holder?"),
        (C, "Yes, thank you for calling me back so quickly."),
        (A, "Right. I need your date of birth."),
        (C, "It is the ninth of August, nineteen seventy five. I am so sorry to bother you again."),
        (A, "Your meter reading was wrong. It has been fixed now."),
        (C, "Great. Is there anything else I need to do?"),
        (A, "No."),
        (C, "Then thank you for your time, and have a nice day."),
        (A, "Bye."),
    ),
    _passes_all_but("greeting", "empathy", "further_help", "proper_closing"),
    speaker_sensitive=True,
)

LABELLED_SCRIPTS: tuple[LabelledScript, ...] = (
    COMPLIANT,
    NO_GREETING,
    NO_VERIFICATION,
    NO_EMPATHY,
    NO_FURTHER_HELP,
    NO_CLOSING,
    POOR_CALL,
    PARAPHRASED,
    CONTRACTIONS,
    CUSTOMER_SAYS_IT,
)

"""The quality checks and flag threshold a new "Demo" campaign starts with.

The phrases are hints for the offline evaluator: any one of them, said by the
check's speaker inside its window, satisfies the check. They are written in
plain, expanded words ("you are", not "you're") because the evaluator expands
contractions before it compares, and they avoid company or person names so
that they fit any organisation. The LLM evaluator reads the question instead.

Weights add up to 100, so one missed soft-skill check leaves a call at 80 or
85 (above the default threshold of 70) while two missed checks, or a failed
identity verification (critical), flag it for review.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CheckSpeaker = Literal["AGENT", "CUSTOMER", "ANY"]
CheckWindow = Literal["ANYWHERE", "OPENING", "CLOSING", "FIRST_HALF"]
CheckAnswerType = Literal["YES_NO", "YES_NO_NOT_APPLICABLE"]

DEFAULT_FLAG_THRESHOLD = 70.0


@dataclass(frozen=True)
class CheckDefinition:
    """A quality check as the directory stores it (mirrors `callscope.v1.Check`)."""

    id: str
    name: str
    question: str
    category: str
    weight: float
    critical: bool
    speaker: CheckSpeaker
    phrases: tuple[str, ...]
    window: CheckWindow
    answer_type: CheckAnswerType = "YES_NO"
    # All of these words in one turn of the check's speaker also satisfy the check.
    keywords: tuple[str, ...] = ()
    # A YES_NO_NOT_APPLICABLE check applies only when someone says one of these.
    applies_when: tuple[str, ...] = ()


DEFAULT_CHECKS: tuple[CheckDefinition, ...] = (
    CheckDefinition(
        id="greeting",
        name="Greeting",
        question="Did the agent greet the customer and name the company at the start of the call?",
        category="Opening",
        weight=15.0,
        critical=False,
        speaker="AGENT",
        phrases=(
            "thank you for calling",
            "thanks for calling",
            "welcome to",
            "you are through to",
            "you have reached",
            "you are speaking to",
            "you are speaking with",
            "i am calling from",
        ),
        window="OPENING",
        # "Good morning, Harbor Bank, Maya speaking, how can I help?"
        keywords=("speaking", "help"),
    ),
    CheckDefinition(
        id="identity_verification",
        name="Identity verification",
        question=(
            "Did the agent verify the customer's identity (for example date of birth, "
            "postcode or a security question) before discussing the account?"
        ),
        category="Compliance",
        weight=30.0,
        critical=True,
        speaker="AGENT",
        phrases=(
            "verify your identity",
            "confirm your identity",
            "date of birth",
            "your postcode",
            "postcode on the account",
            "when were you born",
            "full name and address",
            "security question",
            "security check",
            "for security purposes",
            "first line of your address",
            "memorable word",
            "last four digits",
        ),
        window="FIRST_HALF",
        # "I have just sent a code to your mobile; can you read it to me?"
        keywords=("code", "mobile"),
    ),
    CheckDefinition(
        id="empathy",
        name="Empathy",
        question="Did the agent acknowledge the customer's issue with empathy?",
        category="Soft skills",
        weight=20.0,
        critical=False,
        speaker="AGENT",
        phrases=(
            "sorry to hear",
            "i am sorry about",
            "i am so sorry",
            "i am really sorry",
            "i apologise for",
            "sorry for the trouble",
            "sorry for the inconvenience",
            "i understand how",
            "i completely understand",
            "i can understand",
            "must be frustrating",
            "sounds frustrating",
            "sounds really frustrating",
            "i can see why you",
            "i can imagine",
        ),
        window="ANYWHERE",
    ),
    CheckDefinition(
        id="further_help",
        name="Offer of further help",
        question="Did the agent ask whether there was anything else they could help with?",
        category="Customer care",
        weight=15.0,
        critical=False,
        speaker="AGENT",
        phrases=(
            "anything else i can help",
            "anything else i can do",
            "help you with anything else",
            "is there anything else",
            "anything more i can do",
            "anything further i can",
            "any other questions",
        ),
        window="CLOSING",
    ),
    CheckDefinition(
        id="proper_closing",
        name="Proper closing",
        question="Did the agent close the call politely, thanking the customer for calling?",
        category="Closing",
        weight=20.0,
        critical=False,
        speaker="AGENT",
        phrases=(
            "thank you for calling",
            "thanks for calling",
            "thank you for your call",
            "thank you for contacting",
            "thank you for getting in touch",
            "thanks for the call",
            "thank you for your time",
            "thanks for your time",
            "have a nice day",
            "have a good day",
            "have a great day",
            "have a lovely day",
            "enjoy the rest of your day",
        ),
        window="CLOSING",
    ),
)

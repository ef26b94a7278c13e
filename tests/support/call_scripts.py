"""Realistic call-centre scripts for test audio: greeting, verification, the issue, the closing.

Numbers are written the way they are spoken, so the reference text is what the
voices actually say.
"""

from __future__ import annotations

from tests.support.dialogue import Dialogue, Line

BILLING_DISPUTE = Dialogue(
    name="billing-dispute",
    lines=(
        Line(
            "AGENT",
            "Thank you for calling Northwind Energy, my name is Daniel. How can I help you today?",
        ),
        Line(
            "CUSTOMER",
            "Hello Daniel. I am calling about my last bill. It is much higher than usual.",
        ),
        Line(
            "AGENT",
            "I am sorry to hear that. Before we look at the bill, "
            "can you please confirm your full name and the first line of your address?",
        ),
        Line("CUSTOMER", "Yes, my name is Sarah Collins, and I live at twelve Station Road."),
        Line(
            "AGENT",
            "Thank you, Sarah. I can see your account. "
            "Your last bill was based on an estimated meter reading.",
        ),
        Line("CUSTOMER", "I see. So what should I do now?"),
        Line(
            "AGENT",
            "If you read your meter today and give me the number, "
            "I will send you a corrected bill within three working days.",
        ),
        Line("CUSTOMER", "That sounds good. I will do that this evening. Thank you for your help."),
        Line(
            "AGENT",
            "You are welcome. Is there anything else I can help you with today?",
        ),
        Line("CUSTOMER", "No, that is everything. Goodbye."),
    ),
)

LOST_CARD = Dialogue(
    name="lost-card",
    lines=(
        Line(
            "AGENT",
            "Good morning, you are through to Harbor Bank customer service. "
            "My name is Michael. How may I help you?",
        ),
        Line(
            "CUSTOMER", "Hi Michael, I think I have lost my debit card. I cannot find it anywhere."
        ),
        Line(
            "AGENT",
            "I am sorry about that. For security, "
            "can you please tell me your date of birth and your postcode?",
        ),
        Line("CUSTOMER", "My date of birth is the fourth of May, and my postcode is in Leeds."),
        Line(
            "AGENT",
            "Thank you, you are verified. I have blocked the card now, so nobody else can use it.",
        ),
        Line("CUSTOMER", "Thank you. Will I get a new card soon?"),
        Line(
            "AGENT",
            "Yes, a new card will arrive by post in five to seven days. "
            "Your new pin will come in a separate letter.",
        ),
        Line("CUSTOMER", "Perfect. That is very helpful."),
        Line(
            "AGENT",
            "Is there anything else I can do for you today?",
        ),
        Line("CUSTOMER", "No, that is all. Thank you very much."),
        Line("AGENT", "Thank you for calling Harbor Bank. Have a lovely day."),
    ),
)

BROADBAND_FAULT = Dialogue(
    name="broadband-fault",
    lines=(
        Line(
            "AGENT",
            "Hello, thank you for calling Skyline Broadband technical support. "
            "This is Emma speaking.",
        ),
        Line(
            "CUSTOMER",
            "Hello Emma. My internet has been very slow since yesterday, "
            "and it keeps dropping out.",
        ),
        Line(
            "AGENT",
            "I am sorry about that. Can I take your account number, please?",
        ),
        Line("CUSTOMER", "Sure, it is four seven two nine one eight."),
        Line(
            "AGENT",
            "Thank you. I can see a fault in your area. Our engineers are working on it right now.",
        ),
        Line("CUSTOMER", "Do you know when it will be fixed?"),
        Line(
            "AGENT",
            "It should be fixed by six o'clock this evening. "
            "Please restart your router after that time.",
        ),
        Line("CUSTOMER", "Okay, I will do that. Thanks for letting me know."),
        Line(
            "AGENT",
            "You are welcome. I have also added a credit of ten pounds to your account "
            "for the trouble.",
        ),
        Line("CUSTOMER", "That is very kind of you. Goodbye."),
    ),
)

ORDER_RETURN = Dialogue(
    name="order-return",
    lines=(
        Line(
            "AGENT",
            "Hi, thanks for calling Bluebird Home Store. My name is James. What can I do for you?",
        ),
        Line("CUSTOMER", "Hello, I would like to return a lamp that I ordered last week."),
        Line(
            "AGENT",
            "No problem. Could you give me your order number and the email address on the order?",
        ),
        Line(
            "CUSTOMER", "The order number is five five three two, and my email is my name at gmail."
        ),
        Line(
            "AGENT",
            "Thank you. I found the order. What is the reason for the return?",
        ),
        Line("CUSTOMER", "The lamp arrived broken. The glass shade was cracked."),
        Line(
            "AGENT",
            "I am really sorry about that. I will send you a free return label today, "
            "and you will get a full refund when we receive the lamp.",
        ),
        Line("CUSTOMER", "Great, thank you. How long does the refund take?"),
        Line(
            "AGENT",
            "The refund usually takes three to five days after we receive it.",
        ),
        Line("CUSTOMER", "Okay, that is fine. Thanks for your help, James."),
    ),
)

SAMPLE_DIALOGUES: tuple[Dialogue, ...] = (
    BILLING_DISPUTE,
    LOST_CARD,
    BROADBAND_FAULT,
    ORDER_RETURN,
)

SHORT_GREETING = Dialogue(
    name="short-greeting",
    lines=(
        Line("AGENT", "Thank you for calling Northwind Energy, my name is Daniel."),
        Line("CUSTOMER", "Hello Daniel, I have a question about my bill."),
        Line("AGENT", "Of course. Can you please confirm your full name?"),
        Line("CUSTOMER", "Yes, it is Sarah Collins."),
    ),
)

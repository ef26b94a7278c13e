"""What a Claude evaluation cost, at list prices (US dollars per million tokens).

Prompt-cache writes (5-minute) cost 1.25 x the input price and cache reads 0.1 x;
the Message Batches API halves every price. A model missing from the table has
no known cost: the tokens are still recorded, the cost is left empty rather
than guessed. Update the table when Anthropic changes its prices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    """List prices of one model family, US dollars per million tokens."""

    input: float
    output: float

    @property
    def cache_write(self) -> float:
        """A 5-minute prompt-cache write."""
        return self.input * 1.25

    @property
    def cache_read(self) -> float:
        """A prompt-cache hit."""
        return self.input * 0.1


# Keys are model ids; an id with a date snapshot ("claude-sonnet-4-5-20250929") has its price.
PRICES: dict[str, Price] = {
    "claude-opus-5": Price(5.0, 25.0),
    "claude-opus-4-8": Price(5.0, 25.0),
    "claude-opus-4-7": Price(5.0, 25.0),
    "claude-opus-4-6": Price(5.0, 25.0),
    "claude-opus-4-5": Price(5.0, 25.0),
    "claude-sonnet-4-6": Price(3.0, 15.0),
    "claude-sonnet-4-5": Price(3.0, 15.0),
    "claude-haiku-4-5": Price(1.0, 5.0),
}

BATCH_DISCOUNT = 0.5


_SNAPSHOT = re.compile(r"-\d{8}$")


def price_of(model: str) -> Price | None:
    """The model's price (a dated snapshot costs what its model costs), if the table has it."""
    return PRICES.get(_SNAPSHOT.sub("", model.strip()))


def cost_usd(
    model: str,
    *,
    input_tokens: int,
    output_tokens: int,
    cache_creation_input_tokens: int,
    cache_read_input_tokens: int,
    batched: bool = False,
) -> float | None:
    """The cost of the tokens in US dollars, or None for a model without a known price."""
    price = price_of(model)
    if price is None:
        return None
    dollars = (
        input_tokens * price.input
        + output_tokens * price.output
        + cache_creation_input_tokens * price.cache_write
        + cache_read_input_tokens * price.cache_read
    ) / 1_000_000
    return round(dollars * (BATCH_DISCOUNT if batched else 1.0), 6)

"""Scripted call dialogues: the reference text that test audio is spoken from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Party = Literal["AGENT", "CUSTOMER"]


@dataclass(frozen=True)
class Line:
    """One turn of a dialogue."""

    party: Party
    text: str


@dataclass(frozen=True)
class Dialogue:
    """A named call script; its lines, joined, are the reference transcript."""

    name: str
    lines: tuple[Line, ...]

    def reference_text(self, party: Party | None = None) -> str:
        """The words spoken (by one party, or by both in order)."""
        return " ".join(line.text for line in self.lines if party is None or line.party == party)

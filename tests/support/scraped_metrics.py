"""Reads Prometheus text exposition the way Prometheus does, for assertions on metrics."""

from __future__ import annotations

from collections.abc import Mapping

from callscope_common.metrics import exposition
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


class Scrape:
    """One scrape of a /metrics page: sample values by name and labels."""

    def __init__(self, text: str) -> None:
        self.samples = [
            sample for family in text_string_to_metric_families(text) for sample in family.samples
        ]

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples called name whose labels include these (0 when none)."""
        return sum(sample.value for sample in self._matching(name, labels))

    def has(self, name: str, **labels: str) -> bool:
        """Whether any sample called name carries these labels."""
        return any(True for _ in self._matching(name, labels))

    def label_values(self, name: str, label: str) -> set[str]:
        """The values a label takes among the samples called name."""
        return {sample.labels[label] for sample in self.samples if sample.name == name}

    def _matching(self, name: str, labels: Mapping[str, str]) -> list[Sample]:
        return [
            sample
            for sample in self.samples
            if sample.name == name
            and all(sample.labels.get(key) == value for key, value in labels.items())
        ]


def scrape_this_process() -> Scrape:
    """The metrics this test process has recorded, as a /metrics page would show them."""
    body, _ = exposition()
    return Scrape(body.decode())

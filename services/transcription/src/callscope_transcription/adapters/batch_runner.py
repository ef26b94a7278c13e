"""Runs batches of chunks through the model, one at a time or a few at once, keeping their order.

With a model loaded with several workers (CTranslate2 `num_workers`), that many
batches run at the same time, each on its own worker; the caller blocks while all
are busy, so no more than `parallel` batches are ever held. The time during which
at least one batch was in the model is measured, so a caller can tell its own
overhead from the model's work.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from time import perf_counter
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class BatchRunner(Generic[T, R]):
    """Submits batches to `recognise` with at most `parallel` in flight; results in order."""

    def __init__(self, recognise: Callable[[Sequence[T]], list[R]], parallel: int) -> None:
        self._recognise = recognise
        self._parallel = max(1, parallel)
        self._pool = (
            ThreadPoolExecutor(self._parallel, thread_name_prefix="recognise")
            if self._parallel > 1
            else None
        )
        self._in_flight: deque[Future[tuple[list[R], float, float]]] = deque()
        self._results: list[R] = []
        self._intervals: list[tuple[float, float]] = []

    @property
    def parallel(self) -> int:
        """How many batches may run at once."""
        return self._parallel

    def __enter__(self) -> BatchRunner[T, R]:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, batch: Sequence[T]) -> None:
        """Runs the batch now, or hands it to a free worker (waiting for one if all are busy)."""
        if self._pool is None:
            self._collect(self._timed(batch))
            return
        while len(self._in_flight) >= self._parallel:
            self._collect(self._in_flight.popleft().result())
        self._in_flight.append(self._pool.submit(self._timed, batch))

    def submit_rest(self, chunks: Sequence[T], batch_size: int) -> None:
        """Submits the last chunks, spread over the workers so that none of them idles."""
        if not chunks:
            return
        per_batch = min(batch_size, -(-len(chunks) // self._parallel))
        for at in range(0, len(chunks), per_batch):
            self.submit(chunks[at : at + per_batch])

    def results(self) -> list[R]:
        """Every batch's results in submission order, once all have finished."""
        while self._in_flight:
            self._collect(self._in_flight.popleft().result())
        return self._results

    def busy_seconds(self) -> float:
        """Time during which at least one batch was in the model."""
        total, reached = 0.0, float("-inf")
        for start, end in sorted(self._intervals):
            if end > reached:
                total += end - max(start, reached)
                reached = end
        return total

    def _timed(self, batch: Sequence[T]) -> tuple[list[R], float, float]:
        started = perf_counter()
        results = self._recognise(batch)
        return results, started, perf_counter()

    def _collect(self, done: tuple[list[R], float, float]) -> None:
        results, started, ended = done
        self._results.extend(results)
        self._intervals.append((started, ended))

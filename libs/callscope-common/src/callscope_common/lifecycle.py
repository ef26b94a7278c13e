"""Process lifecycle: run until SIGINT/SIGTERM, then let the caller shut down cleanly."""

from __future__ import annotations

import asyncio
import signal


async def wait_for_shutdown_signal() -> None:
    """Returns when the process receives SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def run_until_shutdown(*workers: asyncio.Task[None]) -> None:
    """Waits for a shutdown signal or the first worker to fail, then cancels the rest."""
    stopper = asyncio.create_task(wait_for_shutdown_signal())
    done, _ = await asyncio.wait({stopper, *workers}, return_when=asyncio.FIRST_COMPLETED)
    for task in (stopper, *workers):
        task.cancel()
    await asyncio.gather(stopper, *workers, return_exceptions=True)
    for task in done:
        if task is not stopper and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]

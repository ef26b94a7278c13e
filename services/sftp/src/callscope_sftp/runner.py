"""The sweep loop: every interval, each enabled campaign this replica holds is swept."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

from callscope_sftp.adapters.sftp_server import SftpConnectionError
from callscope_sftp.domain.model import CampaignFolder
from callscope_sftp.ports import Directory, DropFolders, FolderMissingError, Ingest, SftpStore
from callscope_sftp.sweeper import CampaignSweep, SweepRules

logger = logging.getLogger(__name__)

Connect = Callable[[], AbstractAsyncContextManager[DropFolders]]


@dataclass(frozen=True)
class SweepLoop:
    """Sweeps until cancelled; one failing campaign never stops the others."""

    directory: Directory
    ingest: Ingest
    store: SftpStore
    connect: Connect
    rules: SweepRules
    replica_id: str
    server_label: str
    interval_s: float
    max_parallel: int = 4
    # Campaigns whose folder cannot be made, already reported (once, not every sweep).
    _reported_missing: set[str] = field(default_factory=set, init=False, repr=False)

    async def run_forever(self) -> None:
        """Sweeps every interval until the task is cancelled."""
        while True:
            try:
                await self.sweep_once()
            except Exception:  # the database is down, say: the loop must outlive it
                logger.exception("SFTP sweep failed; trying again after the interval")
            await asyncio.sleep(self.interval_s)

    async def sweep_once(self) -> None:
        """One pass over every enabled campaign this replica holds."""
        try:
            campaigns = await self.directory.sftp_campaigns()
        except Exception as failed:  # reported; the next pass retries
            logger.warning("cannot list SFTP campaigns: %s", failed)
            return
        if not campaigns:
            await self.store.record_sweep(self.replica_id, self.server_label, "", 0)
            return
        held: list[CampaignFolder] = []
        try:
            # Connect before taking any lease: a replica that cannot reach the server (or is
            # refused for a changed host key) must leave the campaigns to the others.
            async with self.connect() as drop:
                held = [
                    c
                    for c in campaigns
                    if await self.store.hold_lease(c.campaign_id, self.replica_id)
                ]
                limit = asyncio.Semaphore(self.max_parallel)
                await asyncio.gather(*(self._sweep(c, drop, limit) for c in held))
        except SftpConnectionError as refused:
            logger.error("SFTP sweep refused: %s", refused)
            await self.store.record_sweep(self.replica_id, self.server_label, str(refused), 0)
            return
        except Exception as failed:  # the connection broke mid-sweep
            logger.warning("SFTP sweep broke off: %s", failed)
            await self.store.record_sweep(
                self.replica_id, self.server_label, f"the sweep broke off: {failed}", len(held)
            )
            return
        await self.store.record_sweep(self.replica_id, self.server_label, "", len(held))

    async def _sweep(
        self, campaign: CampaignFolder, drop: DropFolders, limit: asyncio.Semaphore
    ) -> None:
        async with limit:
            sweep = CampaignSweep(
                campaign,
                drop=drop,
                store=self.store,
                ingest=self.ingest,
                rules=self.rules,
                still_held=self._holds(campaign.campaign_id),
            )
            try:
                await sweep.run()
            except SftpConnectionError:
                raise
            except FolderMissingError as missing:
                if campaign.campaign_id not in self._reported_missing:
                    self._reported_missing.add(campaign.campaign_id)
                    logger.warning(
                        "campaign not swept: %s",
                        missing,
                        extra={"campaign_id": campaign.campaign_id, "folder": campaign.path},
                    )
                return
            except Exception:
                logger.exception(
                    "sweeping a campaign folder failed; the next sweep carries on",
                    extra={"campaign_id": campaign.campaign_id, "folder": campaign.path},
                )
                return
            self._reported_missing.discard(campaign.campaign_id)

    def _holds(self, campaign_id: str) -> Callable[[], Awaitable[bool]]:
        async def still_held() -> bool:
            return await self.store.hold_lease(campaign_id, self.replica_id)

        return still_held

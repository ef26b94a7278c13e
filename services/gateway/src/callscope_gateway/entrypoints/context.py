"""What every route needs, built once per process and handed to routes as a dependency."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from callscope_gateway.adapters.grpc_clients import PeerClients
from callscope_gateway.adapters.mongo import MongoDirectory
from callscope_gateway.adapters.mongo_audit import MongoAuditLog
from callscope_gateway.adapters.mongo_rate_limit import MongoRateLimiter
from callscope_gateway.adapters.mongo_sessions import MongoSessionStore
from callscope_gateway.domain.access import AccessPolicy


@dataclass(frozen=True)
class ApiContext:
    """The directory, the peer clients, login sessions, API-key rate limiting, the audit log."""

    directory: MongoDirectory
    peers: PeerClients
    sessions: MongoSessionStore
    rate_limiter: MongoRateLimiter
    policy: AccessPolicy
    audit: MongoAuditLog


def _context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.api
    return context


Context = Annotated[ApiContext, Depends(_context)]

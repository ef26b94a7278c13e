"""What every route needs, built once per process and handed to routes as a dependency."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from callscope_gateway.adapters.grpc_clients import PeerClients
from callscope_gateway.adapters.mongo import MongoDirectory


@dataclass(frozen=True)
class ApiContext:
    """The directory and the peer clients."""

    directory: MongoDirectory
    peers: PeerClients


def _context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.api
    return context


Context = Annotated[ApiContext, Depends(_context)]

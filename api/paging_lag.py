"""Backpressure on the worker: how far behind it is with paging the signals this API process accepted.

A signal's first page and its read-model row are written together (one local activity), so an accepted signal with
no row yet is one its owners have not been paged for. When several such signals (LATE_TO_GATE) are older than
`api_paging_lag_limit`, `POST /api/v1/signals` waits (at most `api_queue_timeout`) for the worker to catch up, then
answers 503 with Retry-After: a burst is accepted at the pace the worker pages, and an accepted signal's owners are
paged within about the limit, instead of minutes later behind a queue nobody sees. One signal that is never paged
(its workflow failed, ops terminated it) does not close the gate, and is forgotten after FORGET_AFTER."""

import asyncio
import time

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request

from core.db import get_async_engine
from core.errors import PillarError
from core.settings import get_settings
from models.tables import SignalRow

CHECK_EVERY = 0.05  # seconds between looks at the read model, shared by every waiting request
FORGET_AFTER = 10.0  # a signal not paged by then stops counting (a stuck one; a backlog keeps the newer ones late)
LATE_TO_GATE = 3  # unpaged signals past the limit that close the gate
MAX_TRACKED = 5000


class PagingLag:
    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.pending: dict[str, float] = {}  # signal id -> when it was accepted, oldest first
        self.checked_at = 0.0
        self.checking: asyncio.Task | None = None

    def accepted(self, signal_id: str) -> None:
        if self.limit and len(self.pending) < MAX_TRACKED:
            self.pending[signal_id] = time.monotonic()

    async def behind(self) -> float:
        """How far behind the worker is: the age of the oldest unpaged signal, once LATE_TO_GATE of them are past
        the limit (else 0)."""
        if self.pending and time.monotonic() - self.checked_at > CHECK_EVERY:
            if self.checking is None or self.checking.done():
                self.checking = asyncio.create_task(self._check())
            await asyncio.shield(self.checking)
        now = time.monotonic()
        late = [now - at for at in self.pending.values() if now - at > self.limit]
        return max(late) if len(late) >= LATE_TO_GATE else 0.0

    async def _check(self) -> None:
        ids = list(self.pending)[:500]
        async with AsyncSession(get_async_engine()) as session:
            paged = set((await session.exec(select(SignalRow.id).where(SignalRow.id.in_(ids)))).all())
        now = time.monotonic()
        for signal_id in ids:
            if signal_id in paged or now - self.pending[signal_id] > FORGET_AFTER:
                del self.pending[signal_id]
        self.checked_at = now

    async def admit(self) -> None:
        """Return when the worker is within the limit; a 503 when it has not caught up within api_queue_timeout."""
        if not self.limit:
            return
        deadline = time.monotonic() + get_settings().api_queue_timeout
        while (behind := await self.behind()) > self.limit:
            if time.monotonic() > deadline:
                raise PillarError("unavailable", f"the worker is {behind:.1f}s behind paging the signals already accepted: "
                                                 "retry shortly")
            await asyncio.sleep(CHECK_EVERY)


def paging_lag_for(request: Request) -> PagingLag:
    limit = get_settings().api_paging_lag_limit
    lag = getattr(request.app.state, "paging_lag", None)
    if lag is None or lag.limit != limit:
        lag = request.app.state.paging_lag = PagingLag(limit)
    return lag

"""Backpressure on the worker: at most `api_paging_backlog` (6) signals accepted by this API process wait for their first
page at once.

A signal's first page and its read-model row are written together (one local activity), so an accepted signal with
no row yet is one its owners have not been paged for. When the backlog is full, `POST /api/v1/signals` waits (at
most `api_queue_timeout`) for the worker to page some, then answers 503 with Retry-After: a burst is accepted at the
pace the worker pages, and an accepted signal's owners are paged about `backlog / the worker's rate` after the 202,
instead of minutes later behind a queue nobody sees. A signal that is never paged (its workflow failed, ops
terminated it) stops counting after FORGET_AFTER."""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request

from core.db import get_async_engine
from core.errors import PillarError
from core.settings import get_settings
from models.tables import SignalRow

CHECK_EVERY = 0.05  # seconds between looks at the read model, shared by every waiting request
FORGET_AFTER = 10.0


class PagingLag:
    def __init__(self, backlog: int) -> None:
        self.backlog = backlog
        self.pending: dict[str, float] = {}  # accepted, not paged yet: signal id -> when, oldest first
        self.reserved = 0  # admitted requests that have not answered yet
        self.checked_at = 0.0
        self.checking: asyncio.Task | None = None

    def full(self) -> bool:
        return len(self.pending) + self.reserved >= self.backlog

    async def refresh(self) -> None:
        """Forget the signals paged since the last look (one look at a time, shared by every waiting request)."""
        if self.pending and time.monotonic() - self.checked_at > CHECK_EVERY:
            if self.checking is None or self.checking.done():
                self.checking = asyncio.create_task(self._check())
            await asyncio.shield(self.checking)

    async def _check(self) -> None:
        ids = list(self.pending)[:500]
        async with AsyncSession(get_async_engine()) as session:
            paged = set((await session.exec(select(SignalRow.id).where(SignalRow.id.in_(ids)))).all())
        now = time.monotonic()
        for signal_id in ids:
            if signal_id in paged or now - self.pending[signal_id] > FORGET_AFTER:
                del self.pending[signal_id]
        self.checked_at = now

    @asynccontextmanager
    async def slot(self) -> AsyncIterator["PagingLag"]:
        """A place in the backlog for one request (waited for, bounded); `accepted` keeps it until the page."""
        if self.backlog:
            deadline = time.monotonic() + get_settings().api_queue_timeout
            while self.full():
                await self.refresh()
                if not self.full():
                    break
                if time.monotonic() > deadline:
                    raise PillarError("unavailable", f"{len(self.pending)} accepted signals wait for the worker to page "
                                                     "them: retry shortly")
                await asyncio.sleep(CHECK_EVERY)
        self.reserved += 1
        try:
            yield self
        finally:
            self.reserved -= 1

    def accepted(self, signal_id: str) -> None:
        if self.backlog:
            self.pending[signal_id] = time.monotonic()


def paging_lag_for(request: Request) -> PagingLag:
    backlog = get_settings().api_paging_backlog
    lag = getattr(request.app.state, "paging_lag", None)
    if lag is None or lag.backlog != backlog:
        lag = request.app.state.paging_lag = PagingLag(backlog)
    return lag

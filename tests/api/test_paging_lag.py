"""POST /signals waits for a worker that is behind paging, then answers 503 with Retry-After (issue 12, item 2:
backpressure when the worker is saturated), and accepts again once it has caught up."""

import asyncio
import time

import pytest

from api.paging_lag import PagingLag
from core.settings import get_settings
from tests.support.http import assert_error, post_signal

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_signals_wait_for_a_worker_behind_paging_then_are_refused_with_retry_after(api, monkeypatch):
    monkeypatch.setenv("TEMPORAL_TASK_QUEUE", "no-worker-polls-this")  # accepted signals stay unpaged
    monkeypatch.setenv("API_PAGING_LAG_LIMIT", "0.3")
    get_settings.cache_clear()
    try:
        for _ in range(3):
            accepted = await post_signal(api)
            assert accepted.status_code == 202, accepted.text
        await asyncio.sleep(0.4)  # the worker is now 0.4 s behind with those signals' pages
        began = time.monotonic()
        refused = await post_signal(api)
        waited = time.monotonic() - began
        assert_error(refused, 503, "unavailable", "behind paging")
        assert refused.headers["retry-after"] and waited >= get_settings().api_queue_timeout
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    caught_up = await post_signal(api)  # the suite's setting again (off), a fresh tracker: accepted at once
    assert caught_up.status_code == 202, caught_up.text


async def test_one_signal_never_paged_does_not_close_the_gate_a_backlog_does():
    lag = PagingLag(limit=0.3)
    now = time.monotonic()
    lag.pending = {"stuck": now - 5.0}  # its workflow failed: it will never be paged
    lag.checked_at = now  # just looked: no database read in this test
    assert await lag.behind() == 0.0
    lag.pending.update({"late-1": now - 0.5, "late-2": now - 0.4})
    assert await lag.behind() >= 5.0  # three late: the worker is behind, by the oldest

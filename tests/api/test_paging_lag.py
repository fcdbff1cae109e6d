"""POST /signals waits for a worker that is behind paging, then answers 503 with Retry-After (issue 12, item 2:
backpressure when the worker is saturated), and accepts again once it has caught up."""

import time

import pytest

from api.paging_lag import PagingLag
from core.settings import get_settings
from tests.support.http import assert_error, post_signal

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_signals_wait_for_a_worker_behind_paging_then_are_refused_with_retry_after(api, monkeypatch):
    monkeypatch.setenv("TEMPORAL_TASK_QUEUE", "no-worker-polls-this")  # accepted signals stay unpaged
    monkeypatch.setenv("API_PAGING_BACKLOG", "3")
    get_settings.cache_clear()
    try:
        for _ in range(3):
            accepted = await post_signal(api)
            assert accepted.status_code == 202, accepted.text
        began = time.monotonic()
        refused = await post_signal(api)
        waited = time.monotonic() - began
        assert_error(refused, 503, "unavailable", "wait for the worker")
        assert refused.headers["retry-after"] and waited >= get_settings().api_queue_timeout
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    caught_up = await post_signal(api)  # the suite's setting again (off), a fresh tracker: accepted at once
    assert caught_up.status_code == 202, caught_up.text


async def test_a_slot_is_given_back_whatever_the_request_answers():
    lag = PagingLag(backlog=2)
    async with lag.slot():
        pass  # a refusal or a dedup answer: nothing to wait for
    async with lag.slot() as held:
        held.accepted("paged-later")
    assert lag.reserved == 0 and list(lag.pending) == ["paged-later"] and not lag.full()

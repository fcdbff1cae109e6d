"""Waiting for something until an absolute deadline, from inside a workflow."""

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow

from workflows import metrics

# A timer seen this long after its due time counts as late: the worker (or the server) is behind.
LATE_TIMER = timedelta(seconds=5)


async def wait_until(condition: Callable[[], bool], until: datetime, patch_id: str) -> bool:
    """Wait for `condition` until `until`; True when it holds by then.

    A timer can fire before its time when the Temporal server restarts with it pending (seen on the dev server):
    the rest is then waited out, so an SLA never lapses early. Executions recorded before `patch_id` existed keep
    their single timer on replay."""
    while (remaining := until - workflow.now()) > timedelta(0):
        try:
            await workflow.wait_condition(condition, timeout=remaining)
            return True
        except asyncio.TimeoutError:
            if (lateness := workflow.now() - until) > LATE_TIMER:
                metrics.timer_off_time("late")
            elif lateness < timedelta(0):
                metrics.timer_off_time("early")
            if not workflow.patched(patch_id):
                break
    return condition()

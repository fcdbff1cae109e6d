"""Waiting for something until an absolute deadline, from inside a workflow."""

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow


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
            if not workflow.patched(patch_id):
                break
    return condition()

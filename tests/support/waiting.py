"""Waiting for eventually consistent views."""

import asyncio


async def eventually(check, timeout: float = 20.0, interval: float = 0.2, what: str | None = None):
    """Retry `check` (sync or async) until it returns a truthy value: for eventually consistent views (and for
    `what` to happen)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"waited {timeout:.0f}s for {what}" if what else f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(interval)

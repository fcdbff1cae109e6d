"""Waiting for eventually consistent views."""

import asyncio


async def eventually(check, timeout: float = 20.0, interval: float = 0.2):
    """Retry `check` (sync or async) until it returns a truthy value: for eventually consistent views."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(interval)

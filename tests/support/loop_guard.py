"""Catches an API request that blocks the event loop, two ways:
- a synchronous database call made on the loop's thread while a request is being handled;
- a watchdog thread that pings the loop every few milliseconds: when a ping waits more than STALL_LIMIT, it takes
  the loop thread's stack, and a stack in Pillar's API-side code while a request is in flight is a violation
  (the stack says what blocked; the worker sharing the loop in tests, full garbage collections, and the wait for a new
  threadpool thread to start — the OS scheduling it on a starved machine, not code of the app — are not counted)."""

import asyncio
import contextvars
import gc
import sys
import threading
import traceback
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.support.paths import PROJECT_ROOT

STALL_LIMIT = 0.1  # seconds
PING_EVERY = 0.01
PROJECT = str(PROJECT_ROOT)
API_SIDE = tuple(f"{PROJECT}/{part}/" for part in ("api", "services", "core", "models"))
NOT_THE_API = ("/temporalio/worker/", f"{PROJECT}/activities/")

handling: contextvars.ContextVar[str | None] = contextvars.ContextVar("handling", default=None)


@dataclass
class LoopGuard:
    """Wraps an ASGI app; `take()` returns what blocked the loop while it handled requests."""

    app: object
    watched: tuple[str, ...] = API_SIDE  # where blocking code counts: the files of the app under test
    violations: list[str] = field(default_factory=list)
    in_flight: dict[int, str] = field(default_factory=dict)
    loop: asyncio.AbstractEventLoop | None = None
    loop_thread: int | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    collections: int = 0  # full collections started so far (a stall during one is the collector's, not a request's)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        self._start()
        label, key = f"{scope['method']} {scope['path']}", id(scope)
        token = handling.set(label)
        self.in_flight[key] = label
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight.pop(key, None)
            handling.reset(token)

    def _start(self) -> None:
        if self.loop is not None:
            return
        self.loop, self.loop_thread = asyncio.get_running_loop(), threading.get_ident()
        event.listen(Engine, "before_cursor_execute", self._on_sync_query)
        gc.callbacks.append(self._on_gc)
        threading.Thread(target=self._watch, name="loop-guard", daemon=True).start()

    def _on_gc(self, phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 2:  # young collections are quick: they excuse nothing
            self.collections += 1

    def _watch(self) -> None:
        while not self.stopping.wait(PING_EVERY):
            answered, collections = threading.Event(), self.collections
            try:
                self.loop.call_soon_threadsafe(answered.set)
            except RuntimeError:  # the loop has closed
                return
            if answered.wait(STALL_LIMIT) or not self.in_flight or self.collections != collections:
                continue
            requests = ", ".join(sorted(set(self.in_flight.values())))
            frame = sys._current_frames().get(self.loop_thread)
            stack = traceback.extract_stack(frame) if frame else []
            if _in(stack, self.watched) and not _starting_a_thread(stack):
                where = "".join(traceback.format_list([f for f in stack if f.filename.startswith(PROJECT) and "/.venv/" not in f.filename] + stack[-3:]))
                self.violations.append(f"event loop blocked over {STALL_LIMIT * 1000:.0f} ms while handling "
                                       f"{requests}, in:\n{where}")
            answered.wait(30)  # one report per stall

    def _on_sync_query(self, connection, cursor, statement, *_):
        request = handling.get()
        if request and not connection.dialect.is_async and threading.get_ident() == self.loop_thread:
            where = "".join(traceback.format_stack(limit=10)[:-2])
            self.violations.append(f"synchronous database call on the event loop during {request}: "
                                   f"{statement.split()[0]} …\n{where}")

    async def take(self) -> list[str]:
        found, self.violations = self.violations, []
        return found

    async def stop(self) -> None:
        self.stopping.set()
        if self.loop is not None:
            event.remove(Engine, "before_cursor_execute", self._on_sync_query)
            gc.callbacks.remove(self._on_gc)


def _starting_a_thread(stack: traceback.StackSummary) -> bool:
    """The loop waits in `Thread.start()` for a thread the threadpool just created to run (anyio's, for a sync route)."""
    return any(f.filename.endswith("/threading.py") and f.name == "start" for f in stack[-3:])


def _in(stack: traceback.StackSummary, watched: tuple[str, ...]) -> bool:
    files = [f.filename for f in stack]
    return any(f.startswith(watched) for f in files) and not any(part in f for f in files for part in NOT_THE_API)

"""What a busy API reads on every request but changes rarely: who holds a token, an account's team, the routing
matrix in force, who holds which role for an account. Kept per process until the directory generation moves (any
write to users, accounts or config, in any process: models/tables/generations.py), checked once per request."""

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlmodel import Session, select

from models.tables.generations import DIRECTORY, CacheGeneration

T = TypeVar("T")
MISSING = object()
CURRENT_GENERATION = select(CacheGeneration.generation).where(CacheGeneration.name == DIRECTORY)


class ReadCache:
    def __init__(self, max_entries: int = 20_000) -> None:
        self.max_entries = max_entries
        self.generation: int | None = None
        self.entries: dict[Any, Any] = {}
        self.lock = threading.Lock()

    def refresh(self, session: Session) -> None:
        """One indexed read: forget everything when the directory or config changed since the last look."""
        generation = session.exec(CURRENT_GENERATION).first()
        with self.lock:
            if generation != self.generation or generation is None:
                self.entries, self.generation = {}, generation

    def get(self, key: Any, load: Callable[[], T]) -> T:
        """The cached value (as of the last `refresh`), else `load()`; load only immutable snapshots, never ORM rows.
        A value read while another request moved the generation on is used once, not kept; nor is a miss (None)."""
        value = self.entries.get(key, MISSING)
        if value is MISSING:
            generation = self.generation
            value = load()
            with self.lock:
                if value is not None and generation == self.generation:
                    if len(self.entries) >= self.max_entries:
                        self.entries.clear()
                    self.entries[key] = value
        return value


def cached(cache: ReadCache | None, key: Any, load: Callable[[], T]) -> T:
    """Through the cache when the caller has one (the API), straight from the database when not (worker, CLI)."""
    return load() if cache is None else cache.get(key, load)

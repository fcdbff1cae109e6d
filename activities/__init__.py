"""Everything with side effects, as classes that receive their dependencies (worker.py builds each once)."""

from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlmodel import Session

# A new session per unit of work, committed on success (core.db.session_scope; tests pass their own).
Sessions = Callable[[], AbstractContextManager[Session]]

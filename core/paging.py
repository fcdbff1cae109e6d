"""Keyset paging, the one way every list pages: a page is `limit` rows after a cursor, and the cursor is the last
row's sort key (its ordering columns, ending with a unique id) — never an OFFSET, so a page costs the same at row
10 as at row 10,000 and rows added meanwhile neither repeat nor vanish from the pages still to come.

The cursor is opaque to clients: url-safe base64 of `{"l": list, "k": [values]}`. A cursor that does not decode, or
that belongs to another list (or another ordering of the same list), is refused with a 422."""

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import and_, or_
from sqlmodel import Session

from core.errors import PillarError

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True)
class PageRequest:
    """What a caller asked for: how many rows, and after which cursor (None: the first page)."""

    limit: int = DEFAULT_LIMIT
    cursor: str | None = None

    def after(self, list_name: str, arity: int) -> list | None:
        """The sort key the cursor carries, checked to belong to `list_name`'s ordering."""
        if self.cursor is None:
            return None
        payload = decode_cursor(self.cursor)
        key = payload.get("k")
        if payload.get("l") != list_name or not isinstance(key, list) or len(key) != arity:
            raise bad_cursor("it belongs to another list or ordering")
        return key


@dataclass
class Page(Generic[T]):
    """One page's rows, and the cursor of the next page (None on the last)."""

    items: list[T]
    next_cursor: str | None = field(default=None)

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class SortKey:
    """One ordering column; the last key of an ordering must be unique (the id) so the order is total."""

    column: Any
    descending: bool = False

    def order(self):
        return self.column.desc() if self.descending else self.column.asc()

    def beyond(self, value):
        return self.column < value if self.descending else self.column > value


def bad_cursor(why: str) -> PillarError:
    return PillarError("invalid", f"malformed cursor: {why}; pass back the X-Next-Cursor of the previous page as it "
                       "was given, or leave the cursor out for the first page", {"field": "cursor"})


def encode_cursor(list_name: str, key: Sequence) -> str:
    payload = json.dumps({"l": list_name, "k": list(key)}, default=_tag, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw, object_hook=_untag)
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise bad_cursor("it is not one this API gave") from error
    if not isinstance(payload, dict):
        raise bad_cursor("it is not one this API gave")
    return payload


def _tag(value):
    if isinstance(value, datetime):
        return {"$t": value.isoformat()}
    raise TypeError(f"cannot put {type(value).__name__} in a cursor")


def _untag(value: dict):
    return datetime.fromisoformat(value["$t"]) if set(value) == {"$t"} else value


def check_key(order: Sequence[SortKey], key: Sequence) -> None:
    """Every value of a cursor's key has its column's type (a hand-edited cursor is a 422, not a failed query)."""
    for sort_key, value in zip(order, key):
        column_type = sort_key.column.type
        try:
            expected = getattr(column_type, "impl", column_type).python_type  # a TypeDecorator says `object`
        except (AttributeError, NotImplementedError):
            continue
        if value is None or expected is float and isinstance(value, int):
            continue
        if not isinstance(value, expected) or (isinstance(value, datetime) and value.tzinfo is None):
            raise bad_cursor("it is not one this API gave")


def after_clause(order: Sequence[SortKey], key: Sequence):
    """Rows strictly after `key` in `order`: (a > x) or (a = x and b > y) or … — portable, any mix of directions."""
    return or_(*(and_(*(k.column == v for k, v in zip(order[:i], key)), order[i].beyond(key[i]))
                 for i in range(len(order))))


def page_of(session: Session, query, page: PageRequest, list_name: str, order: Sequence[SortKey],
            convert: Callable[[Any], T], row_key: Callable[[Any], Sequence] | None = None) -> Page[T]:
    """Run `query` for one page in `order`; `row_key` reads a row's sort key (default: the ordering's attributes)."""
    after = page.after(list_name, len(order))
    if after is not None:
        check_key(order, after)
        query = query.where(after_clause(order, after))
    rows = session.exec(query.order_by(*(k.order() for k in order)).limit(page.limit + 1)).all()
    more, rows = len(rows) > page.limit, rows[:page.limit]
    row_key = row_key or (lambda row: [getattr(row, k.column.key) for k in order])
    return Page([convert(r) for r in rows], encode_cursor(list_name, row_key(rows[-1])) if more else None)

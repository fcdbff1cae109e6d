"""The API side of keyset paging (core/paging.py): `limit` and `cursor` query parameters on every list, and the next
page's cursor in the `Link: <url>; rel="next"` and `X-Next-Cursor` headers (absent on the last page). Bodies stay
JSON arrays, as the contract has them."""

from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request, Response

from core.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, PageRequest, decode_cursor

T = TypeVar("T")

PAGING_NOTE = (f" Pages by cursor: `limit` rows (default {DEFAULT_LIMIT}, at most {MAX_LIMIT}); when more follow, the "
               "`X-Next-Cursor` header carries the cursor to pass as `cursor` and `Link` the next page's URL.")
PAGED = {200: {"headers": {
    "Link": {"description": 'The next page: `<url>; rel="next"`. Absent on the last page.', "schema": {"type": "string"}},
    "X-Next-Cursor": {"description": "The `cursor` for the next page. Absent on the last page.",
                      "schema": {"type": "string"}},
}}}


@dataclass
class Paging:
    request: Request
    response: Response
    page: PageRequest

    def send(self, page: Page[T]) -> list[T]:
        """The page's rows as the body; the next page's cursor in the headers."""
        if page.next_cursor is not None:
            url = self.request.url.include_query_params(cursor=page.next_cursor)
            self.response.headers["Link"] = f'<{url}>; rel="next"'
            self.response.headers["X-Next-Cursor"] = page.next_cursor
        return page.items


async def paging(
    request: Request,
    response: Response,
    limit: int = Query(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Rows per page"),
    cursor: str | None = Query(default=None, max_length=2000,
                               description="The `X-Next-Cursor` of the previous page; leave out for the first page"),
) -> Paging:
    if cursor is not None:
        decode_cursor(cursor)  # malformed → 422 before any work
    return Paging(request, response, PageRequest(limit=limit, cursor=cursor))


PagingDep = Annotated[Paging, Depends(paging)]

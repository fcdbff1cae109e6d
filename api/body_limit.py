"""A request body larger than `api_max_body_bytes` is a 413 before anything parses it: a declared Content-Length is
refused at once; a chunked body is counted as it arrives, reading past the limit fails the read, and whatever the app
then answers (FastAPI: a 400 for an unreadable body) is replaced by the 413."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response
from core.errors import PillarError


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes
        self.message = f"the request body is larger than {max_bytes:,} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await error_response(413, "too_large", self.message)(scope, receive, send)
        seen = 0
        too_large = error_response(413, "too_large", self.message)

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise PillarError("too_large", self.message)
            return message

        async def answer(message: Message) -> None:
            if seen <= self.max_bytes:
                await send(message)
            elif message["type"] == "http.response.start":
                await too_large(scope, receive, send)

        await self.app(scope, counted, answer)

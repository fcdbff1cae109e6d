"""Every error leaves as `{"error": {"code", "message", "details"?}}`."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import PillarError
from core.settings import get_settings

log = logging.getLogger("pillar.api")

CODE_BY_STATUS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                  409: "conflict", 413: "too_large", 422: "invalid", 429: "rate_limited", 503: "unavailable"}
RETRY_LATER = (429, 503)


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES = {status: {"model": ErrorBody} for status in (401, 403, 404, 409, 422)}


def error_response(status: int, code: str, message: str, details: Any = None, headers=None) -> JSONResponse:
    """The error shape; an overload or outage (429, 503) also says when to come back (`Retry-After`)."""
    body = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    if status in RETRY_LATER:
        headers = {"Retry-After": str(get_settings().retry_after_seconds), **(headers or {})}
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def outage_types() -> tuple[type[Exception], ...]:
    from sqlalchemy.exc import SQLAlchemyError
    from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
    from temporalio.service import RPCError

    return SQLAlchemyError, RPCError, WorkflowUpdateRPCTimeoutOrCancelledError


def outage(error: Exception) -> str | None:
    """What is down, when `error` means a dependency is saturated or unreachable (503), else None."""
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeout
    from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
    from temporalio.service import RPCError, RPCStatusCode

    if isinstance(error, RPCError) and error.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED,
                                                        RPCStatusCode.CANCELLED, RPCStatusCode.RESOURCE_EXHAUSTED):
        return f"Temporal is unreachable or saturated: {error.message}"
    if isinstance(error, WorkflowUpdateRPCTimeoutOrCancelledError):
        return "Temporal did not answer in time"
    if isinstance(error, PoolTimeout):
        return "every database connection is busy"
    if isinstance(error, DBAPIError) and (error.connection_invalidated or "locked" in str(error.orig)):
        return "the database is unreachable or busy"
    return None


def _describe(error: dict) -> str:
    location = ".".join(str(part) for part in error["loc"] if part != "body")
    return f"{location}: {error['msg']}" if location else error["msg"]


def wants_page(request: Request) -> bool:
    """A browser asking for a page (not the API) gets the error as an HTML page, if the app serves pages."""
    return (getattr(request.app.state, "html_error", None) is not None and not request.url.path.startswith("/api/")
            and "text/html" in request.headers.get("accept", ""))


def install(app: FastAPI) -> None:
    @app.exception_handler(PillarError)
    async def pillar_error(request: Request, error: PillarError) -> Response:
        if wants_page(request):
            return await request.app.state.html_error(request, error.status_code, error.code, error.message, error.details)
        headers = {"WWW-Authenticate": "Bearer"} if error.code == "unauthorized" else None
        return error_response(error.status_code, error.code, error.message, error.details, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]} for e in error.errors()
        ]
        message = "; ".join(_describe(e) for e in error.errors())
        if wants_page(request):
            return await request.app.state.html_error(request, 422, "invalid", f"invalid request: {message}", problems)
        return error_response(422, "invalid", f"invalid request: {message}", problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        code = CODE_BY_STATUS.get(error.status_code, "error")
        if wants_page(request):
            return await request.app.state.html_error(request, error.status_code, code, str(error.detail))
        return error_response(error.status_code, code, str(error.detail), headers=getattr(error, "headers", None))

    async def dependency_down(request: Request, error: Exception) -> Response:
        """An outage answered here, not by the last-resort handler below: Starlette re-raises what reaches that one
        after answering, and the server then drops the connection a client may already be reusing."""
        down = outage(error)
        if down is None:
            raise error
        if wants_page(request):
            return await request.app.state.html_error(request, 503, "unavailable", f"{down}: try again shortly")
        return error_response(503, "unavailable", f"{down}: try again shortly")

    for kind in outage_types():
        app.add_exception_handler(kind, dependency_down)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, error: Exception) -> Response:
        """Anything no route expected still answers in the error shape: Temporal going away mid-request is a 503,
        the rest a 500 that names no internals (the server logs the traceback)."""
        status, code, message = 500, "internal", "an unexpected error occurred; it has been logged"
        if down := outage(error):
            status, code, message = 503, "unavailable", f"{down}: try again shortly"
        else:
            log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
        if wants_page(request):
            return await request.app.state.html_error(request, status, code, message)
        return error_response(status, code, message)

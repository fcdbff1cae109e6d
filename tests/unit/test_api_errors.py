"""The error shape holds for failures no route expected: an unhandled exception is a 500 and Temporal going away
mid-request a 503, both as `{"error": {"code", "message"}}` (API.md, Errors), without leaking internals."""

import httpx
from temporalio.service import RPCError, RPCStatusCode

from api.main import create_app


def app_failing_with(error: Exception):
    app = create_app()

    @app.get("/api/v1/failing")
    def failing() -> None:
        raise error

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://pillar.test")


async def test_an_unexpected_error_answers_500_in_the_error_shape(sqlite_db):
    async with app_failing_with(ValueError("secret internals")) as http:
        response = await http.get("/api/v1/failing")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal"
    assert "secret internals" not in response.text


async def test_temporal_unreachable_mid_request_answers_503_in_the_error_shape(sqlite_db):
    async with app_failing_with(RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")) as http:
        response = await http.get("/api/v1/failing")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"

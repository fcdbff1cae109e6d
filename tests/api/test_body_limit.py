"""A body over the limit is a 413 in the error shape before anything parses it, declared or chunked (issue 15, item 5)."""

import pytest

from tests.support.http import assert_error

pytestmark = pytest.mark.asyncio(loop_scope="session")
BIG = b'{"family": "renewal_risk", "severity": "critical", "account_id": "acme", "evidence": {"x": "' + b"a" * 1_100_000 + b'"}}'


async def test_a_declared_body_over_the_limit_is_a_413_and_opens_nothing(api):
    before = len((await api.http.get("/api/v1/signals", params={"account_id": "acme", "limit": 500}, headers=api.auth("admin"))).json())
    response = await api.http.post("/api/v1/signals", content=BIG, headers={**api.auth("admin"), "Content-Type": "application/json"})
    assert_error(response, 413, "too_large", "1,048,576 bytes")
    after = len((await api.http.get("/api/v1/signals", params={"account_id": "acme", "limit": 500}, headers=api.auth("admin"))).json())
    assert after == before


async def test_a_chunked_body_is_cut_off_at_the_limit(api):
    async def chunks():
        for i in range(0, len(BIG), 65536):
            yield BIG[i:i + 65536]

    response = await api.http.post("/api/v1/signals", content=chunks(), headers={**api.auth("admin"), "Content-Type": "application/json"})
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "too_large")

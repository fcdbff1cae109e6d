"""The HTTP API's answers: the error shape, a signal posted, a unique id."""

import uuid


def assert_error(response, status: int, code: str, *words: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    for word in words:
        assert word in error["message"], error["message"]
    return error


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def post_signal(api, family="renewal_risk", severity="critical", account_id="acme", as_user="admin", **extra):
    return await api.http.post(
        "/api/v1/signals",
        json={"family": family, "severity": severity, "account_id": account_id, **extra},
        headers=api.auth(as_user),
    )

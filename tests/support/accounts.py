"""Accounts and users through the API, and the signals listed for one."""

from datetime import date

from tests.support.http import unique

TEAM = {"ae": "alex", "csm": "casey", "csm_lead": "lee", "sdr": "sam", "support": "sky"}


async def make_account(api, prefix: str, arr: float = 180_000, motion: str = "academic", **extra) -> str:
    account_id = unique(prefix)
    body = {"name": f"{prefix} University", "arr": arr, "motion": motion, "segment": "enterprise",
            "renewal_date": "2027-03-31", "team": TEAM, **extra}
    response = await api.http.put(f"/api/v1/accounts/{account_id}", json=body, headers=api.auth("admin"))
    assert response.status_code == 200, response.text
    return account_id


async def move_renewal(api, account_id: str, renewal_date: date) -> None:
    """Change only the account's renewal date (its scores stay as they were computed)."""
    account = (await api.http.get(f"/api/v1/accounts/{account_id}", headers=api.auth("admin"))).json()
    body = {k: v for k, v in account.items() if k != "id"} | {"renewal_date": renewal_date.isoformat()}
    response = await api.http.put(f"/api/v1/accounts/{account_id}", json=body, headers=api.auth("admin"))
    assert response.status_code == 200, response.text


async def signals_of(api, account_id: str, family: str | None = None) -> list[dict]:
    rows = (await api.http.get("/api/v1/signals", params={"account_id": account_id}, headers=api.auth("maya"))).json()
    return [r for r in rows if family is None or r["family"] == family]


async def make_user(api, role: str, manager_id: str | None = None, prefix: str = "user") -> tuple[str, dict]:
    """A new user of `role` (under `manager_id`) and the headers that carry their token."""
    user_id = unique(f"{prefix}-{role}")
    created = await api.http.post("/api/v1/users", json={"id": user_id, "name": user_id, "role": role, "manager_id": manager_id},
                                  headers=api.auth("admin"))
    assert created.status_code == 201, created.text
    return user_id, {"Authorization": f"Bearer {created.json()['token']}"}

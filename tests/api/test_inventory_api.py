"""POST /api/v1/inventory/import against the running app: revops reads a team's spreadsheet before routing goes
live; other roles are refused, and a CSV that cannot be read is a 422 in the contract's error shape."""

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")

CSV = "family,severity,account_id,owner\nrenewal_risk,critical,acme,\nadoption_decay,warning,globex,casey\n"


async def test_revops_reads_the_inventory_and_nothing_is_opened(api):
    before = (await api.http.get("/api/v1/signals", params={"account_id": "acme"}, headers=api.auth("admin"))).json()
    response = await api.http.post("/api/v1/inventory/import", json={"csv": CSV}, headers=api.auth("rory"))
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows"], report["without_owner"], report["routed"]) == (2, 1, 2)
    assert report["summary"].startswith("1 of 2 item(s) (50%) have no defined owner (1 blank)")
    after = (await api.http.get("/api/v1/signals", params={"account_id": "acme"}, headers=api.auth("admin"))).json()
    assert len(after) == len(before)


async def test_other_roles_and_unreadable_csv_are_refused(api):
    refused = await api.http.post("/api/v1/inventory/import", json={"csv": CSV}, headers=api.auth("casey"))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    bad = await api.http.post("/api/v1/inventory/import", json={"csv": "family,account_id\nx,acme\n"}, headers=api.auth("rory"))
    assert bad.status_code == 422
    assert bad.json()["error"]["details"] == {"missing_columns": ["owner"]}

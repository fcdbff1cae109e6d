"""Bounded input (issue 15, item 5): what schemathesis found as 500s is a 422 in the error shape, free-form objects
have a size, and /openapi.json states the bounds the API enforces."""

import pytest

from tests.support.stack import ADMIN_TOKEN

pytestmark = pytest.mark.asyncio(loop_scope="session")
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
HUGE = "138387549310785323008"  # past 64 bits: SQLite's driver raised OverflowError, a 500


def assert_invalid(response, field: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in response.text, response.text


@pytest.mark.parametrize("path", ["routing", "handoffs", "task-templates", "rituals", "signal-definitions",
                                  "score-weights", "cost-model", "calendars"])
async def test_a_config_version_too_large_for_the_database_is_a_422(api, path):
    assert_invalid(await api.http.get(f"/api/v1/config/{path}/{HUGE}", headers=ADMIN), "version")
    assert_invalid(await api.http.get(f"/api/v1/config/{path}/0", headers=ADMIN), "version")


async def test_a_flywheel_config_version_too_large_is_a_422(api):
    response = await api.http.get("/api/v1/flywheel/proposals", params={"config_version": HUGE}, headers=ADMIN)
    assert_invalid(response, "config_version")


async def test_a_replay_with_a_malformed_run_id_is_a_422(api):
    for run_id in ("8è", "not-a-uuid", "0" * 37):
        response = await api.http.post("/api/v1/ops/executions/signal-nope/replay", params={"run_id": run_id},
                                       headers=ADMIN)
        assert_invalid(response, "run_id")


async def test_evidence_and_fields_are_bounded(api):
    big = {"family": "renewal_risk", "severity": "critical", "account_id": "acme", "evidence": {"blob": "x" * 70_000}}
    assert_invalid(await api.http.post("/api/v1/signals", json=big, headers=ADMIN), "64 KB")
    many = {f"k{i}": 1 for i in range(101)}
    assert_invalid(await api.http.post("/api/v1/signals", json={**big, "evidence": many}, headers=ADMIN), "evidence")
    odd_key = {"kind": "ae_to_csm", "account_id": "acme", "to_user_id": "casey", "fields": {"no spaces": 1}}
    assert_invalid(await api.http.post("/api/v1/handoffs", json=odd_key, headers=ADMIN), "fields")
    long_note = {"outcome": "renewed", "note": "n" * 4001}
    assert_invalid(await api.http.post("/api/v1/tasks/nope/outcome", json=long_note, headers=ADMIN), "note")


async def test_the_openapi_document_states_the_bounds(api):
    document = (await api.http.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    evidence = schemas["SignalIn"]["properties"]["evidence"]
    assert evidence["maxProperties"] == 100 and evidence["propertyNames"]["maxLength"] == 64
    assert schemas["OutcomeIn"]["properties"]["outcome"]["enum"][0] == "renewed"
    assert schemas["RoutingConfigIn"]["properties"]["rules"]["maxItems"] == 500
    assert schemas["AccountIn"]["properties"]["arr"]["maximum"] == 1e12
    version = document["paths"]["/api/v1/config/handoffs/{version}"]["get"]["parameters"][0]["schema"]
    assert (version["minimum"], version["maximum"]) == (1, 2**31 - 1)
    replay = document["paths"]["/api/v1/ops/executions/{workflow_id}/replay"]["post"]["parameters"]
    assert {p["name"]: p["schema"].get("maxLength") for p in replay}["workflow_id"] == 200

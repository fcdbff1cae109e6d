"""GET /api/v1/metrics/response on the dev server: a CSM's own signal acknowledged within its SLA shows in their
figures (JSON and CSV), nowhere in another team's, and a bad grouping or window is refused in words."""

import pytest

from tests.support.accounts import make_account, make_user
from tests.support.http import assert_error, post_signal
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_csms_acknowledged_signal_counts_in_their_figures_only(api):
    manager, _ = await make_user(api, "manager", prefix="resp")
    csm, as_csm = await make_user(api, "csm", manager, prefix="resp")
    _, as_stranger = await make_user(api, "csm", prefix="resp")
    account_id = await make_account(api, "resp", team={"csm": csm})
    created = await post_signal(api, "adoption_decay", "warning", account_id)
    assert created.status_code == 202, created.text
    signal_id = created.json()["id"]
    acknowledged = await api.http.post(f"/api/v1/signals/{signal_id}/acknowledge", headers=as_csm)
    assert acknowledged.status_code == 200, acknowledged.text

    async def figures():
        body = (await api.http.get("/api/v1/metrics/response", params={"by": "family,team"}, headers=as_csm)).json()
        return body if body["groups"] and body["groups"][0]["acknowledged"] == 1 else None

    body = await eventually(figures, what="the acknowledgement in the read model")
    [group] = body["groups"]
    assert (group["family"], group["team"], group["signals"], group["sla_met"]) == ("adoption_decay", manager, 1, 1)
    assert group["sla_compliance_pct"] == 100.0 and group["escalation_rate_pct"] == 0.0
    assert group["time_to_acknowledge_median_s"] is not None and body["weeks"] == 12 and "manager" in body["team_definition"]

    as_csv = await api.http.get("/api/v1/metrics/response", params={"by": "owner"}, headers={**as_csm, "Accept": "text/csv"})
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    header, line = as_csv.text.splitlines()
    assert header.startswith("owner,signals,acknowledged,") and line.startswith(f"{csm},1,1,")
    assert (await api.http.get("/api/v1/metrics/response?format=csv", headers=as_csm)).text.startswith("signals,")

    stranger = (await api.http.get("/api/v1/metrics/response", headers=as_stranger)).json()
    assert stranger["groups"] == []  # another team's signal is not theirs to count

    assert_error(await api.http.get("/api/v1/metrics/response", params={"by": "colour"}, headers=as_csm), 422, "invalid", "family")
    assert_error(await api.http.get("/api/v1/metrics/response", params={"weeks": 53}, headers=as_csm), 422, "invalid")
    assert_error(await api.http.get("/api/v1/metrics/response"), 401, "unauthorized")

"""Input that could wedge a workflow is a 422 at the door: times without a zone or past 2100, durations of zero where
that makes no sense, or so long that adding them to a date overflows (issue 14, item 1)."""

import pytest
from pydantic import TypeAdapter, ValidationError

from models.detection import DetectionRunIn
from models.events import AccountEvent
from models.handoffs import HandoffSpec
from models.rituals import ActionItemIn
from models.routing import RoutingRule
from models.tasks import TaskIn
from services.signals import signal_handle
from tests.support.http import assert_error, post_signal
from tests.support.signals import signal_idle
from tests.support.waiting import eventually

RULE = {"family": "renewal_risk", "severity": "critical", "owners": ["csm"], "sla": "PT4H", "escalation": []}


@pytest.mark.parametrize("moment", ["2026-12-01T09:00:00", "9999-12-31T00:00:00Z", "1970-01-01T00:00:00Z"])
@pytest.mark.parametrize("model, field, rest", [
    (TaskIn, "due_at", {"template_key": "exec_call"}),
    (ActionItemIn, "due_at", {"title": "Call the champion", "owner_id": "casey"}),
    (AccountEvent, "occurred_at", {"kind": "nps_response", "account_id": "acme", "score": 3}),
    (DetectionRunIn, "as_of", {}),
])
def test_a_moment_needs_its_time_zone_and_a_sane_year(model, field, rest, moment):
    with pytest.raises(ValidationError) as refused:
        TypeAdapter(model).validate_python({**rest, field: moment})
    assert refused.value.errors()[0]["loc"][-1] == field


@pytest.mark.parametrize("change, words", [
    ({"sla": "P3000000D"}, "at most P400D"),
    ({"sla": "PT0S"}, "longer than zero"),
    ({"escalation": [{"after": "P401D", "to": "manager"}]}, "at most P400D"),
])
def test_a_routing_duration_is_bounded(change, words):
    with pytest.raises(ValidationError, match=words):
        RoutingRule.model_validate({**RULE, **change})
    RoutingRule.model_validate({**RULE, "sla": "P400D", "escalation": [{"after": "PT0S", "to": "manager"}]})


def test_a_handoff_acceptance_sla_is_bounded():
    spec = {"kind": "ae_to_csm", "sender_roles": ["ae"], "receiver_roles": ["csm"], "required_fields": ["pain"]}
    for sla in ("PT0S", "P3000000D"):
        with pytest.raises(ValidationError, match="acceptance_sla"):
            HandoffSpec.model_validate({**spec, "acceptance_sla": sla})


@pytest.mark.asyncio(loop_scope="session")
async def test_a_task_due_without_a_time_zone_is_a_422_and_leaves_the_workflow_untouched(api):
    created = (await post_signal(api, family="adoption_decay", severity="warning")).json()
    acknowledged = await api.http.post(f"/api/v1/signals/{created['id']}/acknowledge", headers=api.auth("casey"))
    assert acknowledged.status_code == 200, acknowledged.text
    handle = signal_handle(api.client, created["id"])
    await eventually(lambda: signal_idle(handle))
    before = (await handle.fetch_history()).events

    template = acknowledged.json()["task_candidates"][0]["template_key"]
    for due_at in ("2026-12-09T17:00:00", "9999-12-31T00:00:00Z"):
        response = await api.http.post(f"/api/v1/signals/{created['id']}/tasks",
                                       json={"template_key": template, "due_at": due_at}, headers=api.auth("casey"))
        assert_error(response, 422, "invalid", "due_at")
    assert (await handle.fetch_history()).events == before

    routing = (await api.http.get("/api/v1/config/routing", headers=api.auth("rory"))).json()
    rules = [{**routing["rules"][0], "sla": "P3000000D"}] + routing["rules"][1:]
    assert_error(await api.http.put("/api/v1/config/routing", json={"rules": rules}, headers=api.auth("rory")),
                 422, "invalid", "P400D")
    assert (await api.http.get("/api/v1/config/routing", headers=api.auth("rory"))).json()["version"] == routing["version"]

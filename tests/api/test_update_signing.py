"""Whoever reaches Temporal's frontend without Pillar's key cannot act in a workflow: an update that Pillar did not
sign, or signed with another key, is refused in the validator and leaves no history (issue 15, item 1)."""

import pytest
import yaml
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter

from core.update_signing import UpdateSigning
from models.common import Actor, Role
from models.signals import AcknowledgeInput, SignalStatus
from services.signals import signal_handle
from tests.support.http import post_signal
from tests.support.paths import PROJECT_ROOT
from tests.support.signals import signal_idle
from tests.support.waiting import eventually
from workflows.signal import SignalWorkflow


def client_beside(client: Client, interceptors=()) -> Client:
    """Another client of the same server: what anyone who can reach port 7233 has."""
    return Client(client.service_client, namespace=client.namespace, data_converter=pydantic_data_converter,
                  interceptors=list(interceptors))


@pytest.mark.asyncio(loop_scope="session")
async def test_an_update_sent_around_the_api_is_refused_and_leaves_no_history(api):
    created = (await post_signal(api)).json()
    handle = signal_handle(api.client, created["id"])
    await eventually(lambda: signal_idle(handle))
    before = (await handle.fetch_history()).events
    as_the_owner = AcknowledgeInput(actor=Actor(id="lee", role=Role.csm_lead))  # any actor can be made up
    forged = UpdateSigning("not-pillars-key-0123456789abcdef", pydantic_data_converter.payload_converter)

    for rogue in (client_beside(api.client), client_beside(api.client, [forged])):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await rogue.get_workflow_handle(handle.id).execute_update(SignalWorkflow.acknowledge, as_the_owner)
        assert refused.value.cause.type == "forbidden" and "not sent by Pillar" in refused.value.cause.message
    assert (await handle.fetch_history()).events == before

    signed = await handle.execute_update(SignalWorkflow.acknowledge, as_the_owner)  # api.client signs, as the API's does
    assert signed.status == SignalStatus.acknowledged


def test_compose_keeps_temporal_and_its_ui_off_the_network_and_the_ui_read_only():
    services = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())["services"]
    assert services["temporal"]["ports"] == ["127.0.0.1:7233:7233"]
    assert services["temporal-ui"]["ports"] == ["127.0.0.1:8080:8080"]
    assert services["temporal-ui"]["environment"]["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"
    assert "PILLAR_SIGNING_KEY" in services["api"]["environment"] and "PILLAR_SIGNING_KEY" in services["worker"]["environment"]

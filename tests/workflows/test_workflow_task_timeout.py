"""Workflows started through Pillar's client get its workflow task timeout (a task lost with a killed worker is
handed on after it, not after Temporal's 10 s)."""

from datetime import timedelta

from sqlmodel import Session

from core.db import get_engine
from core.settings import get_settings
from core.temporal import connect_temporal
from models.common import Role
from models.handoffs import HandoffIn
from services.handoffs import handoff_handle, start_handoff
from tests.support.handoffs import COMPLETE
from tests.support.stack import seed


async def test_a_workflow_started_by_pillar_has_its_workflow_task_timeout(ts_env, sqlite_db, monkeypatch):
    seed()
    monkeypatch.setenv("TEMPORAL_ADDRESS", ts_env.client.service_client.config.target_host)
    get_settings.cache_clear()
    try:
        client = await connect_temporal()
    finally:
        get_settings.cache_clear()
    with Session(get_engine()) as session:
        handoff = await start_handoff(session, client, HandoffIn(kind="ae_to_csm", account_id="acme", to_user_id="lee",
                                                                 fields=COMPLETE), "alex", Role.ae)
    described = await handoff_handle(client, handoff.id).describe()
    timeout = described.raw_description.execution_config.default_workflow_task_timeout.ToTimedelta()
    assert timeout == timedelta(seconds=get_settings().workflow_task_timeout_seconds) == timedelta(seconds=1.5)

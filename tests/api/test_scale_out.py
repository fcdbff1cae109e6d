"""Scale-out on one machine: two worker processes on one task queue and the API with `uvicorn --workers 2`, sharing
one SQLite database and one dev server, open, page and escalate every signal exactly once."""

import asyncio
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session, select
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

import devstack
from core.db import get_engine
from core.settings import get_settings
from models.tables import NotificationRow, SignalRow
from tests.support.stack import ADMIN_TOKEN, PG_SERVER_URL, process_stack, seed
from tests.support.waiting import eventually

SIGNALS = 6
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
FAST_ROUTING = {"rules": [{"family": "renewal_risk", "severity": "critical", "owners": ["csm_lead"], "sla": "PT2S",
                           "escalation": [{"after": "PT0S", "to": "manager"}]}]}


async def pollers(client, task_queue: str) -> set[str]:
    described = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
        namespace=client.namespace, task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW))
    return {poller.identity for poller in described.pollers}


def notifications(signal_ids: list[str]) -> Counter:
    with Session(get_engine()) as session:
        rows = session.exec(select(NotificationRow).where(NotificationRow.subject_id.in_(signal_ids)))
        return Counter((row.subject_id, row.kind, row.user_id) for row in rows)


async def test_two_workers_and_two_api_processes_page_and_escalate_each_signal_once(sqlite_db, tmp_path, monkeypatch):
    seed()
    async with process_stack(tmp_path / "processes.log", monkeypatch, workers=2, api_workers=2) as (env, base_url, children):
        # both workers poll the one task queue before the first signal
        assert len(await eventually(lambda: _at_least(pollers(env.client, get_settings().temporal_task_queue), 2),
                                    timeout=30)) == 2

        limits = httpx.Limits(max_connections=SIGNALS)  # parallel connections: uvicorn spreads them over both processes
        async with httpx.AsyncClient(base_url=base_url, timeout=20, limits=limits) as http:
            # A config change made through one process is what every process routes with next.
            edited = await http.put("/api/v1/config/routing", json=FAST_ROUTING, headers=ADMIN)
            assert edited.status_code == 200, edited.text
            version = edited.json()["version"]

            async def open_signal(key: str) -> httpx.Response:
                body = {"family": "renewal_risk", "severity": "critical", "account_id": "acme", "dedup_key": key}
                return await http.post("/api/v1/signals", json=body, headers=ADMIN)

            opened = await asyncio.gather(*(open_signal(f"scale-{i}") for i in range(SIGNALS)))
            assert [r.status_code for r in opened] == [202] * SIGNALS, [r.text for r in opened]
            assert {r.json()["routing_version"] for r in opened} == {version}
            ids = [r.json()["id"] for r in opened]

            # The same dedup_key at once on both processes: one workflow, one 202, the rest 200 with its id.
            again = await asyncio.gather(*(open_signal("scale-same") for _ in range(4)))
            assert sorted(r.status_code for r in again) == [200, 200, 200, 202], [r.text for r in again]
            assert len({r.json()["id"] for r in again}) == 1
            ids.append(again[0].json()["id"])

            # Paged at once (lee owns it), then, unacknowledged past the 2 s SLA, escalated once to her manager.
            expected = Counter({(sid, kind, user): 1 for sid in ids for kind, user in (("page", "lee"), ("escalation", "maya"))})
            assert await eventually(lambda: notifications(ids) == expected or None, timeout=30)
            for sid in ids:
                signal = (await http.get(f"/api/v1/signals/{sid}", headers=ADMIN)).json()
                assert (signal["status"], signal["escalation_level"]) == ("escalated", 1)
                assert [e["type"] for e in signal["timeline"]].count("escalated") == 1
            with Session(get_engine()) as session:
                assert len(session.exec(select(SignalRow).where(SignalRow.id.in_(ids))).all()) == len(ids)
        await asyncio.sleep(1)  # nothing more arrives late (a second escalation, a page twice)
        assert notifications(ids) == expected
        assert all(process.poll() is None for _, process in children)
    print((tmp_path / "processes.log").read_text()[-2000:], file=sys.stderr)


async def _at_least(found, count: int):
    found = await found
    return found if len(found) >= count else None


def test_api_command_runs_several_processes_only_when_asked():
    assert "--workers" not in devstack.api_command("127.0.0.1", 8000)
    assert devstack.api_command("127.0.0.1", 8000, workers=3)[-2:] == ["--workers", "3"]


def fresh_database(kind: str, tmp_path) -> tuple[str, Callable[[], None]]:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/fresh.db", lambda: None
    name = f"pillar_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return PG_SERVER_URL.rsplit("/", 1)[0] + f"/{name}", drop


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_processes_starting_at_once_on_an_empty_database_migrate_it_once(kind, tmp_path, monkeypatch):
    """Each worker migrates at start; three at once on an empty database all succeed (without the lock in
    core.db.migrate, all but one fail: 'table accounts already exists', or a duplicate alembic_version on PostgreSQL)."""
    url, drop = fresh_database(kind, tmp_path)
    try:
        monkeypatch.setenv("DATABASE_URL", url)
        started = [subprocess.Popen([sys.executable, "-c", "from core.db import migrate; migrate()"],
                                    stderr=subprocess.PIPE) for _ in range(3)]
        failures = [p.stderr.read().decode()[-500:] for p in started if p.wait(60) != 0]
        assert failures == []
        engine = create_engine(url)
        with engine.connect() as connection:
            assert len(connection.execute(text("SELECT version_num FROM alembic_version")).all()) == 1
        engine.dispose()
    finally:
        drop()

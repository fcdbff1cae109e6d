"""The fault suite's stack and its bookkeeping (tests/faults/test_fault_scenarios.py).

Every part runs as something a test can break on its own: a private PostgreSQL cluster (initdb into a temporary
directory, on a free port, so stopping it touches nobody else's database), Temporal's dev server on a database
file (restartable on the same port), the worker and the API as subprocesses (SIGKILL-able), and a webhook receiver
that can be taken down and brought back. `Workload` drives a steady mix over HTTP (signals that escalate, plays
advancing a step, handoffs accepted, events ingested) and remembers what the API accepted; `tally` then counts,
from the database and Temporal, what became of it."""

import asyncio
import glob
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from sqlalchemy import bindparam, create_engine, text
from sqlmodel import Session
from temporalio.api.enums.v1 import EventType, TaskQueueKind, TimeoutType
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError

import devstack
from core.seed import demo_token, load_default_config, load_demo_directory
from models.handoffs import Handoff
from models.signals import SignalDetail
from tests.support.handoffs import COMPLETE
from tests.support.plays import FIELDS
from tests.support.stack import ADMIN_TOKEN, free_port
from tests.support.waiting import eventually

# The probe signal's route: casey (the csm on acme) owns it for 5 s, then it escalates once, to lee (her manager).
PROBE_FAMILY = "fault_probe"
PROBE_RULE = {"family": PROBE_FAMILY, "severity": "warning", "owners": ["csm"], "sla": "PT5S",
              "escalation": [{"after": "PT0S", "to": "manager"}]}
WEBHOOK_USERS = ("casey", "lee", "alex")


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own: initdb into a temporary directory, pg_ctl on a free port. As root the
    server must run as `postgres`, which then owns the directory."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="pillar-faults-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "30", "-o", options, "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")

    def destroy(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.root, ignore_errors=True)


class Child:
    """A subprocess that can be killed and started again with the same command, appending to one log."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_file: Path, ready_line: str | None = None) -> None:
        self.name, self.command, self.env, self.log_file, self.ready_line = name, command, env, log_file, ready_line
        self.process: subprocess.Popen | None = None
        self._log_offset = 0

    def start(self) -> None:
        self._log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        with open(self.log_file, "ab") as log:
            self.process = devstack.spawn(self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        """SIGKILL: no chance to finish anything."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            devstack.stop([(self.name, self.process)])

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise devstack.ChildDied(self.name, self.process.returncode)

    def is_ready(self) -> bool:
        """Its ready line is in the log since this start."""
        return self.ready_at() is not None

    def ready_at(self) -> datetime | None:
        """When the process logged its ready line since this start (its own timestamp, `%(asctime)s`: local time to
        the millisecond), not when a test happened to read it: on a busy box the reader can lag by a second, long
        enough to miss a recovery that came before the work it counts."""
        self.check_alive()
        with open(self.log_file, "rb") as log:
            log.seek(self._log_offset)
            lines = log.read().decode(errors="replace").splitlines()
        line = next((line for line in lines if self.ready_line in line), None)
        return None if line is None else datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").astimezone(UTC)


class WebhookReceiver:
    """Users' webhooks: records every delivery's Idempotency-Key; `stop()` closes the port (connections refused)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.received: list[str] = []
        self.delay = 0.0  # seconds each answer takes: a slow receiver keeps a delivery activity running
        self.in_flight = 0
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.in_flight += 1
                time.sleep(receiver.delay)
                receiver.in_flight -= 1
                receiver.received.append(self.headers.get("Idempotency-Key", ""))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        class Server(ThreadingHTTPServer):
            allow_reuse_address = True
            request_queue_size = 128

        self._server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class FaultStack:
    """PostgreSQL (private), Temporal's dev server (on a file), a worker, the API and a webhook receiver."""

    def __init__(self, work_dir: Path, pg_bin: Path) -> None:
        self.dir = work_dir
        self.postgres = PrivatePostgres(pg_bin)
        self.temporal_port, self.temporal_ui_port, self.api_port = free_port(), free_port(), free_port()
        self.temporal_address = f"127.0.0.1:{self.temporal_port}"
        self.base_url = f"http://127.0.0.1:{self.api_port}"
        self.receiver = WebhookReceiver()
        self.temporal: subprocess.Popen | None = None
        self.client: Client | None = None
        self.engine = create_engine(self.postgres.url, pool_pre_ping=True)
        # Every page of the workload reaches the webhooks (no per-user rate limit in the way); no metrics port to clash.
        self.env = {**os.environ, "DATABASE_URL": self.postgres.url, "TEMPORAL_ADDRESS": self.temporal_address,
                    "PILLAR_ADMIN_TOKEN": ADMIN_TOKEN, "PUBLIC_URL": self.base_url, "PAGES_PER_USER_PER_MINUTE": "10000",
                    "API_PAGING_BACKLOG": "0"}
        self.env.pop("WORKER_METRICS_ADDRESS", None)
        self.worker = self.worker_child("worker")
        self.api = Child("api", devstack.api_command("127.0.0.1", self.api_port), self.env, work_dir / "api.log")

    def worker_child(self, name: str) -> Child:
        """A worker process on the stack's task queue (a second one is the production shape: compose runs two)."""
        return Child(name, devstack.worker_command(), self.env, self.dir / f"{name}.log", "worker polling task queue")

    # --- parts up and down ---------------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(self.postgres.start)
        await self.start_temporal()
        self.receiver.start()
        self.worker.start()  # it migrates the database
        await self.worker_ready()
        with Session(self.engine) as session:
            load_default_config(session)
            session.commit()
            load_demo_directory(session, ADMIN_TOKEN)
            session.execute(text("UPDATE users SET webhook_url = :url WHERE id IN :ids").bindparams(_expanding("ids")),
                            {"url": self.receiver.url, "ids": list(WEBHOOK_USERS)})
            session.commit()
        self.api.start()
        await self.api_ready()
        async with self.http() as http:
            routing = (await http.get("/api/v1/config/routing", headers=auth("rory"))).json()
            rules = [r for r in routing["rules"] if r["family"] != PROBE_FAMILY] + [PROBE_RULE]
            put = await http.put("/api/v1/config/routing", json={"rules": rules}, headers=auth("rory"))
            assert put.status_code == 200, put.text

    async def start_temporal(self) -> None:
        self.temporal = devstack.start_temporal(self.dir / "temporal.db", self.temporal_port, self.temporal_ui_port,
                                                log_file=self.dir / "temporal.log")
        await devstack.wait_for_temporal(self.temporal_address, self.temporal)
        self.client = await Client.connect(self.temporal_address, data_converter=pydantic_data_converter)

    def stop_temporal(self) -> None:
        devstack.stop([("temporal", self.temporal)])

    async def worker_ready(self, timeout: float = 60.0) -> datetime:
        return await eventually(self.worker.ready_at, timeout, what="the worker to poll")

    async def api_ready(self, timeout: float = 60.0) -> datetime:
        async def healthy() -> bool:
            self.api.check_alive()
            try:
                async with self.http() as http:
                    return (await http.get("/healthz")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(healthy, timeout, what="the API's /healthz")
        return now()

    async def restart_worker(self) -> datetime:
        self.worker.start()
        return await self.worker_ready()

    async def close(self) -> None:
        self.receiver.stop()
        for child in (self.api, self.worker):
            child.stop()
        if self.temporal is not None:
            self.stop_temporal()
        self.engine.dispose()
        await asyncio.to_thread(self.postgres.destroy)

    def http(self, timeout: float = 15.0) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=timeout)


def auth(user_id: str) -> dict[str, str]:
    token = ADMIN_TOKEN if user_id == "admin" else demo_token(ADMIN_TOKEN, user_id)
    return {"Authorization": f"Bearer {token}"}


def now() -> datetime:
    return datetime.now(UTC)


# --- the workload ----------------------------------------------------------------------------------------

ANSWERED = (200, 201, 202)
DONE = {"submit": "submitted", "accept": "accepted"}  # a handoff action → its audit row
RETRYABLE = (502, 503, 504)


@dataclass
class Accepted:
    """What the API answered 2xx to, by kind; `unanswered` counts requests that died without an answer (their effect,
    if any, is allowed but not expected)."""

    signals: dict[str, str] = field(default_factory=dict)  # dedup_key → signal id
    workflow_ids: set[str] = field(default_factory=set)  # of every signal, play run and handoff accepted
    signal_ids_by_key: dict[str, set[str]] = field(default_factory=dict)  # every id any answer gave for a key
    plays: dict[str, bool] = field(default_factory=dict)  # run id → first step's completion answered
    handoffs: dict[str, list[str]] = field(default_factory=dict)  # handoff id → audit actions answered
    handoff_unanswered: dict[str, list[str]] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)  # external ids
    requests: int = 0
    unanswered: int = 0
    refused: Counter = field(default_factory=Counter)

    @property
    def count(self) -> int:
        return len(self.signals) + len(self.plays) + len(self.handoffs) + len(self.events)


class Workload:
    """A steady mix over HTTP (light enough for a busy 2-core box to keep up with): every tick a signal; every fifth a play run (its first step completed), a handoff
    (created, submitted, accepted) and an event. Each request is retried while it is surely not applied (refused
    connection, 503) for up to `patience` seconds; a request that dies mid-flight is not retried unless it is
    idempotent (a signal's dedup_key)."""

    def __init__(self, stack: FaultStack, tag: str, patience: float = 45.0) -> None:
        self.stack, self.tag, self.patience = stack, tag, patience
        self.accepted = Accepted()
        self._tasks: list[asyncio.Task] = []
        self._n = 0
        self._stopped = asyncio.Event()

    async def run(self, tick: float = 1.0) -> None:
        """Until `stop()`."""
        while not self._stopped.is_set():
            self.spawn_round()
            try:
                await asyncio.wait_for(self._stopped.wait(), tick)
            except asyncio.TimeoutError:
                pass

    def stop(self) -> None:
        self._stopped.set()

    def spawn_round(self) -> None:
        self._n += 1
        self._tasks.append(asyncio.create_task(self.signal()))
        if self._n % 5 == 1:
            self._tasks += [asyncio.create_task(op()) for op in (self.play, self.handoff, self.event)]

    async def settle(self, timeout: float = 90.0) -> None:
        """Every request of the workload answered or given up on."""
        await asyncio.wait_for(asyncio.gather(*self._tasks), timeout)

    async def _send(self, method: str, path: str, user: str, body: dict | None = None, idempotent: bool = False):
        """The answer, or None when no definite answer came within `patience`."""
        deadline = time.monotonic() + self.patience
        self.accepted.requests += 1
        while True:
            try:
                async with self.stack.http() as http:
                    response = await http.request(method, path, json=body, headers=auth(user))
                if response.status_code not in RETRYABLE:
                    if response.status_code not in ANSWERED:
                        self.accepted.refused[f"{method} {path.split('/')[3]} {response.status_code}"] += 1
                    return response
            except httpx.ConnectError:
                pass  # never reached the API: safe to send again
            except httpx.HTTPError:
                if not idempotent:
                    self.accepted.unanswered += 1
                    return None
            if time.monotonic() > deadline:
                self.accepted.unanswered += 1
                return None
            await asyncio.sleep(1.0)

    async def signal(self) -> None:
        key = f"{self.tag}-{uuid.uuid4().hex[:10]}"
        body = {"family": PROBE_FAMILY, "severity": "warning", "account_id": "acme", "dedup_key": key}
        response = await self._send("POST", "/api/v1/signals", "admin", body, idempotent=True)
        if response is not None and response.status_code in ANSWERED:
            self.accepted.signals[key] = response.json()["id"]
            self.accepted.workflow_ids.add(response.json()["workflow_id"])
            self.accepted.signal_ids_by_key.setdefault(key, set()).add(response.json()["id"])

    async def play(self) -> None:
        created = await self._send("POST", "/api/v1/play-runs", "lee", {"play_key": "renewal_save", "account_id": "acme"})
        if created is None or created.status_code not in ANSWERED:
            return
        run_id = created.json()["id"]
        self.accepted.plays[run_id] = False
        self.accepted.workflow_ids.add(created.json()["workflow_id"])
        done = await self._send("POST", f"/api/v1/play-runs/{run_id}/steps/diagnose/complete", "casey",
                                {"fields": FIELDS["diagnose"]})
        self.accepted.plays[run_id] = done is not None and done.status_code in ANSWERED

    async def handoff(self) -> None:
        body = {"kind": "ae_to_csm", "account_id": "acme", "to_user_id": "casey", "fields": COMPLETE}
        created = await self._send("POST", "/api/v1/handoffs", "alex", body)
        if created is None or created.status_code not in ANSWERED:
            return
        handoff_id = created.json()["id"]
        self.accepted.workflow_ids.add(created.json()["workflow_id"])
        answered = self.accepted.handoffs.setdefault(handoff_id, ["created"])
        for action, user in (("submit", "alex"), ("accept", "casey")):
            response = await self._send("POST", f"/api/v1/handoffs/{handoff_id}/{action}", user, {})
            if response is None:
                self.accepted.handoff_unanswered.setdefault(handoff_id, []).append(DONE[action])
                return
            if response.status_code not in ANSWERED:
                return
            answered.append(DONE[action])

    async def event(self) -> None:
        external_id = f"{self.tag}-{uuid.uuid4().hex[:10]}"
        body = {"kind": "support_ticket", "account_id": "initech", "occurred_at": now().isoformat(),
                "external_id": external_id, "ticket_id": external_id, "priority": "low"}
        response = await self._send("POST", "/api/v1/events", "rory", body, idempotent=True)
        if response is not None and response.status_code in ANSWERED:
            self.accepted.events.append(external_id)


# --- the counts ------------------------------------------------------------------------------------------

@dataclass
class Tally:
    """One scenario's line of the closing table."""

    scenario: str
    late_bound_s: float = 0.0  # the most any escalation may be late (see `lateness`)
    accepted: int = 0
    workflows_found: int = 0
    escalations_fired: int = 0
    escalations_expected: int = 0
    escalations_twice: int = 0
    max_late_s: float = 0.0
    # Where the latest escalation's time went: its history's slowest steps between max(due, recovery) and firing.
    slowest_steps: str = ""
    # Workflow tasks started and never completed (a killed or starved worker: handed on after the task timeout, 10 s),
    # and tasks moved off a worker's sticky queue because it did not poll them in time (dead, or too busy).
    timed_out_workflow_tasks: int = 0
    moved_off_sticky_queues: int = 0
    notifications_lost: int = 0
    notifications_dup: int = 0
    webhooks_lost: int = 0
    webhooks_redelivered: int = 0  # the same Idempotency-Key POSTed again (at-least-once; receivers dedup on it)
    audit_lost: int = 0
    audit_dup: int = 0
    read_model_lost: int = 0
    read_model_dup: int = 0
    failing_workflow_tasks: int = 0
    unanswered: int = 0
    notes: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        late = self.max_late_s > self.late_bound_s
        return self.unsettled() + ([f"an escalation {self.max_late_s:.1f}s late after recovery (bound {self.late_bound_s:.1f}s)"] if late else [])

    def unsettled(self) -> list[str]:
        """What is missing or doubled (missing work may still arrive: deliveries and read models catch up)."""
        found = [f"{name}={getattr(self, name)}" for name in (
            "notifications_lost", "notifications_dup", "webhooks_lost", "audit_lost", "audit_dup", "read_model_lost",
            "read_model_dup", "failing_workflow_tasks", "escalations_twice") if getattr(self, name)]
        if self.workflows_found != self.accepted:
            found.append(f"workflows found {self.workflows_found} of {self.accepted}")
        if self.escalations_fired != self.escalations_expected:
            found.append(f"escalations fired {self.escalations_fired} of {self.escalations_expected}")
        return found

    def as_dict(self) -> dict:
        return asdict(self)


async def tally(stack: FaultStack, scenario: str, accepted: Accepted, recoveries: list[datetime], late_bound: float) -> Tally:
    result = Tally(scenario=scenario, late_bound_s=late_bound, accepted=accepted.count, unanswered=accepted.unanswered)
    histories: dict[str, list] = {}
    for workflow_id in accepted.workflow_ids:
        try:
            history = await stack.client.get_workflow_handle(workflow_id).fetch_history()
        except RPCError:
            continue
        histories[workflow_id] = history.events
        result.workflows_found += 1
        result.failing_workflow_tasks += sum(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED for e in history.events)
        timeouts = [e.workflow_task_timed_out_event_attributes.timeout_type for e in history.events
                    if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT]
        result.timed_out_workflow_tasks += timeouts.count(TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE)
        result.moved_off_sticky_queues += timeouts.count(TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START)
    result.workflows_found += len(events_stored(stack, accepted.events))  # an event's "workflow" is its stored row
    signals = await signal_states(stack, accepted.signals.values())
    count_escalations(result, signals, recoveries, histories)
    count_notifications(stack, result, signals, accepted)
    await count_handoffs(stack, result, accepted)
    count_read_models(stack, result, signals, accepted)
    return result


def events_stored(stack: FaultStack, external_ids: list[str]) -> Counter:
    if not external_ids:
        return Counter()
    with stack.engine.connect() as db:
        rows = db.execute(text("SELECT external_id FROM events WHERE external_id IN :ids").bindparams(
            _expanding("ids")), {"ids": external_ids}).all()
    return Counter(r[0] for r in rows)


def _expanding(name: str):
    return bindparam(name, expanding=True)


async def signal_states(stack: FaultStack, signal_ids) -> dict[str, SignalDetail]:
    states = {}
    for signal_id in signal_ids:
        try:
            states[signal_id] = await stack.client.get_workflow_handle(f"signal-{signal_id}").query(
                "state", result_type=SignalDetail)
        except RPCError:
            pass
    return states


def lateness(due_at: datetime, fired_at: datetime, recoveries: list[datetime]) -> tuple[datetime, float]:
    """Late after recovery: fired_at - max(due_at, recovered_at), where recovered_at is the last time before it fired
    that the broken part was back (the worker polling again, the dev server or PostgreSQL accepting connections, the
    receiver or the API answering). An escalation due before a fault and caught in it counts from the recovery; one
    due after it, from its due time; with no fault, lateness is simply fired_at - due_at."""
    recovered_at = max((r for r in recoveries if r <= fired_at), default=due_at)
    since = max(due_at, recovered_at)
    return since, (fired_at - since).total_seconds()


def count_escalations(result: Tally, signals: dict[str, SignalDetail], recoveries: list[datetime],
                      histories: dict[str, list]) -> None:
    result.escalations_expected = len(signals)
    for state in signals.values():
        fired = [e for e in state.timeline if e.type == "escalated"]
        result.escalations_fired += len(fired) >= 1
        result.escalations_twice += len(fired) > 1
        if not fired:
            result.notes.append(f"not escalated: {state.id}")
            continue
        since, late = lateness(state.sla_due_at, fired[0].at, recoveries)
        if late > result.max_late_s:
            result.max_late_s = round(late, 2)
            result.slowest_steps = slowest_steps(histories.get(f"signal-{state.id}", []), since, fired[0].at)
            result.notes = [n for n in result.notes if not n.startswith("latest:")] + [f"latest: {state.id} {late:.1f}s"]


def slowest_steps(events, since: datetime, until: datetime, count: int = 2) -> str:
    """The `count` longest gaps between consecutive history events in [since, until] (the window's edges count as
    events): what the escalation waited on. A workflow task names its queue (sticky: the worker that ran it last) and
    a timeout its kind."""
    pending, marks = "", []
    for event in events:
        at = event.event_time.ToDatetime(tzinfo=UTC)
        if at < since:
            pending = event_label(event)  # what the workflow was waiting on when the window opened
        elif at <= until:
            marks.append((at, event_label(event)))
    marks.insert(0, (since, f"due/recovered[{pending}]" if pending else "due/recovered"))
    marks.append((until, "escalated"))
    gaps = sorted(((b[0] - a[0]).total_seconds(), f"{a[1]} -> {b[1]}") for a, b in zip(marks, marks[1:]))
    return "; ".join(f"{what} {gap:.1f}s" for gap, what in reversed(gaps[-count:]))


def event_label(event) -> str:
    name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower()
    if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
        kind = event.workflow_task_scheduled_event_attributes.task_queue.kind
        return f"{name}({TaskQueueKind.Name(kind).removeprefix('TASK_QUEUE_KIND_').lower()})"
    if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:  # by which worker process (pid@host)
        return f"{name}({event.workflow_task_started_event_attributes.identity.split('@')[0]})"
    if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
        kind = event.workflow_task_timed_out_event_attributes.timeout_type
        return f"{name}({TimeoutType.Name(kind).removeprefix('TIMEOUT_TYPE_').lower()})"
    if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        return f"{name}({event.activity_task_scheduled_event_attributes.activity_type.name})"
    if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
        return f"{name}({TimeoutType.Name(event.activity_task_timed_out_event_attributes.timeout_type)})"
    return name


def rows_about(stack: FaultStack, subject_ids: list[str]) -> list:
    if not subject_ids:
        return []
    with stack.engine.connect() as db:
        return db.execute(text("SELECT id, user_id, kind, subject_id, text, suppressed FROM notifications "
                               "WHERE subject_id IN :ids").bindparams(_expanding("ids")), {"ids": subject_ids}).all()


def count_notifications(stack: FaultStack, result: Tally, signals: dict[str, SignalDetail], accepted: Accepted) -> None:
    """A probe signal pages casey once and escalates to lee once; a submitted handoff pages its receiver; every row
    for a user with a webhook is POSTed there."""
    rows = rows_about(stack, list(signals) + list(accepted.handoffs))
    by_subject = Counter((r.subject_id, r.user_id, r.kind) for r in rows)
    for signal_id in signals:
        for who, kind in (("casey", "page"), ("lee", "escalation")):
            result.notifications_lost += by_subject[(signal_id, who, kind)] == 0
    for handoff_id, actions in accepted.handoffs.items():
        if "submitted" in actions:
            result.notifications_lost += not any(s == handoff_id and u == "casey" for s, u, _ in by_subject)
    result.notifications_dup += sum(n - 1 for n in Counter((r.subject_id, r.user_id, r.kind, r.text) for r in rows).values())
    received = Counter(stack.receiver.received)
    for row in rows:
        if row.user_id in WEBHOOK_USERS and not row.suppressed:
            result.webhooks_lost += received[row.id] == 0
            result.webhooks_redelivered += max(received[row.id] - 1, 0)


async def count_handoffs(stack: FaultStack, result: Tally, accepted: Accepted) -> None:
    if not accepted.handoffs:
        return
    with stack.engine.connect() as db:
        rows = db.execute(text("SELECT handoff_id, action FROM handoff_audit WHERE handoff_id IN :ids").bindparams(
            _expanding("ids")), {"ids": list(accepted.handoffs)}).all()
        read = dict(db.execute(text("SELECT id, status FROM handoffs WHERE id IN :ids").bindparams(
            _expanding("ids")), {"ids": list(accepted.handoffs)}).all())
    audit = Counter((r.handoff_id, r.action) for r in rows)
    for handoff_id, actions in accepted.handoffs.items():
        maybe = accepted.handoff_unanswered.get(handoff_id, [])
        for action in actions:
            if audit[(handoff_id, action)] == 0:
                result.audit_lost += 1
                result.notes.append(f"audit lost: {handoff_id} {action}")
        result.audit_dup += sum(max(n - 1, 0) for (h, _), n in audit.items() if h == handoff_id)
        result.audit_dup += sum(1 for (h, a), n in audit.items()
                                if h == handoff_id and a in ("created", "submitted", "accepted") and a not in actions + maybe)
        try:
            state = await stack.client.get_workflow_handle(f"handoff-{handoff_id}").query("state", result_type=Handoff)
        except RPCError:
            continue
        if read.get(handoff_id) != state.status.value:
            result.read_model_lost += 1
            result.notes.append(f"handoff row {handoff_id}: {read.get(handoff_id)} while the workflow says {state.status.value}")


def count_read_models(stack: FaultStack, result: Tally, signals: dict[str, SignalDetail], accepted: Accepted) -> None:
    """Signals: the row holds the workflow's status and escalation level; one signal per dedup key. Play runs: the
    row exists and shows an answered step as done. Events: one row per external id."""
    with stack.engine.connect() as db:
        signal_rows = dict(db.execute(text("SELECT id, state FROM signals WHERE id IN :ids").bindparams(
            _expanding("ids")), {"ids": list(signals) or [""]}).all())
        play_rows = dict(db.execute(text("SELECT id, state FROM play_runs WHERE id IN :ids").bindparams(
            _expanding("ids")), {"ids": list(accepted.plays) or [""]}).all())
    for signal_id, state in signals.items():
        row = signal_rows.get(signal_id)
        row = json.loads(row) if isinstance(row, str) else row
        if row is None or (row["status"], row["escalation_level"]) != (state.status.value, state.escalation_level):
            result.read_model_lost += 1
            result.notes.append(f"signal row {signal_id}: {row and (row['status'], row['escalation_level'])}")
    result.read_model_dup += sum(len(ids) - 1 for ids in accepted.signal_ids_by_key.values())
    for run_id, step_done in accepted.plays.items():
        row = play_rows.get(run_id)
        row = json.loads(row) if isinstance(row, str) else row
        diagnose = next((s for s in (row or {}).get("steps", []) if s["key"] == "diagnose"), None)
        if row is None or (step_done and (diagnose or {}).get("status") != "done"):
            result.read_model_lost += 1
            result.notes.append(f"play row {run_id}: {diagnose and diagnose.get('status')}")
    stored = events_stored(stack, accepted.events)
    result.read_model_lost += sum(1 for e in accepted.events if stored[e] == 0)
    result.read_model_dup += sum(n - 1 for n in stored.values())


async def settled_tally(stack: FaultStack, scenario: str, accepted: Accepted, recoveries: list[datetime],
                        late_bound: float, timeout: float = 60.0) -> Tally:
    """Count until nothing is missing (deliveries and read models catch up after a fault), for at most `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        counted = await tally(stack, scenario, accepted, recoveries, late_bound)
        if not counted.unsettled() or time.monotonic() > deadline:
            return counted
        await asyncio.sleep(1.0)


TARGET_LATE = 2.0  # issue 14's number: at most 2 s late after recovery


def table(rows: list[dict]) -> list[str]:
    """The closing note's table: one line per scenario."""
    def cells(row: dict) -> list[str]:
        pair = lambda a, b: f"{row[a]}/{row[b]}"  # noqa: E731
        return [row["scenario"], str(row["accepted"]), str(row["workflows_found"]),
                f"{row['escalations_fired']}/{row['escalations_expected']} ({row['escalations_twice']} twice)",
                f"{row['max_late_s']:.1f} (≤ {row['late_bound_s']:.1f}; {'meets' if row['max_late_s'] <= TARGET_LATE else 'misses'} 2 s)", pair("notifications_lost", "notifications_dup"),
                pair("webhooks_lost", "webhooks_redelivered"), pair("audit_lost", "audit_dup"),
                pair("read_model_lost", "read_model_dup"), str(row["failing_workflow_tasks"]),
                f"{row['timed_out_workflow_tasks']} / {row['moved_off_sticky_queues']}", str(row["unanswered"]),
                row["slowest_steps"]]

    header = ["scenario", "accepted", "workflows found", "escalations fired/expected", "max late after recovery (s)",
              "notifications lost/dup", "webhooks lost/redelivered", "audit lost/dup", "read model lost/dup",
              "failing workflow tasks", "workflow tasks timed out / moved off a sticky queue", "unanswered requests",
              "the latest escalation's slowest steps"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cells(row)) + " |" for row in rows]

"""Load benchmark: Pillar's HTTP API side by side with raw Temporal `start_workflow`, on one machine (issue 12).

Starts its own stack in a temporary folder, on free loopback ports, like `make run`: Temporal's dev server (SQLite file),
N worker processes (`python -m worker`) and the API (`uvicorn api.main:app --workers N`), on a fresh SQLite database
(or a throwaway PostgreSQL database with --database-url), migrated once and seeded with the default config and the demo
directory. Then, in one run, it drives:

  raw start_workflow    SignalWorkflow on a task queue no worker polls (the baseline), c = 1, 8, 32, 64
  POST /api/v1/signals  c = 1, 8, 32, 64 (unique dedup keys, spread over the accounts); each run right after raw at c
  signal -> paged       202 to the owner's notification row (polled in the database), at c = 32 and at a steady rate
  POST /api/v1/events, POST /api/v1/events/batch (100 events a batch)   c = 1, 8, 32, 64
  reads                 GET /inbox (lee, cookie session), GET /board (maya), GET /api/v1/play-runs?status=running&stuck=true
                        at 1k running plays (started through the API) and at 10k (only when scripts/book.py has seed_book)
  GET /healthz          every 100 ms for the whole run, on its own connection
and then checks that every signal that got a 202 exists (read model, else GET /api/v1/signals/{id}).

It prints one table (and writes JSON with --json PATH) with requests/s, latency percentiles, answers by status and the
ratio to raw start_workflow at the same concurrency, then PASS/FAIL per target of the issue. The load generator runs
on the same cores as the stack, so the figures are a ratio on one machine, not a capacity.

    .venv/bin/python scripts/bench_load.py                 # about 5-10 minutes on 2 cores
    .venv/bin/python scripts/bench_load.py --quick         # a smoke run, about 2 minutes
    .venv/bin/python scripts/bench_load.py --scale         # the whole run with 1, then 2 API and worker processes
    .venv/bin/python scripts/bench_load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

import argparse
import asyncio
import inspect
import json
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import devstack  # noqa: E402  (after the path: the script runs from anywhere)

LEVELS = (1, 8, 32, 64)
CLIENT_TIMEOUT = 10.0  # a request that has not answered in 10 s counts as a hang
BATCH_SIZE = 100
BENCH_ACCOUNTS = 20
HEALTH_INTERVAL = 0.1
PAGE_POLL_INTERVAL = 0.025
SHED = (429, 503)
API_DOWN_AFTER = 30.0  # seconds without a 200 from /healthz: the API has stopped answering; later phases are skipped
CPU_COLUMNS = "api/worker/temporal/bench"
SEED_CONCURRENCY = 8  # seeding is not measured: kept below the pool size that wedged the blocking API (issue 12)


# --- measuring --------------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass
class Phase:
    """One measured load: every answer by status, and the latency of each (seconds)."""

    name: str
    concurrency: int
    planned: int
    latencies: list[float] = field(default_factory=list)
    answers: Counter = field(default_factory=Counter)  # "202", "503+RA", "503" (no Retry-After), "hang", "ReadError"...
    elapsed: float = 0.0
    cut: bool = False  # stopped by its time limit before `planned`
    items_per_request: int = 1
    note: str = ""
    cpu_s: dict[str, float] = field(default_factory=dict)  # CPU seconds each process spent during the phase

    def record(self, answer: str, latency: float) -> None:
        self.answers[answer] += 1
        self.latencies.append(latency)

    @property
    def ok(self) -> int:
        return sum(n for a, n in self.answers.items() if a.isdigit() and 200 <= int(a) < 300)

    @property
    def done(self) -> int:
        """What the CPU figures are per: 2xx answers, or signals paged."""
        return self.ok + self.answers.get("paged", 0)

    @property
    def shed(self) -> int:
        return sum(n for a, n in self.answers.items() if a.endswith("+RA"))

    @property
    def errors(self) -> int:
        return sum(self.answers.values()) - self.ok - self.shed

    @property
    def hangs(self) -> int:
        return self.answers.get("hang", 0)

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def summary(self) -> dict:
        ms = lambda v: None if v is None else round(v * 1000, 1)  # noqa: E731
        return {
            "name": self.name, "concurrency": self.concurrency, "planned": self.planned, "answered": len(self.latencies),
            "ok": self.ok, "shed": self.shed, "errors": self.errors, "hangs": self.hangs,
            "elapsed_s": round(self.elapsed, 2), "ok_per_s": round(self.rate, 1),
            "items_per_s": round(self.rate * self.items_per_request, 1),
            "p50_ms": ms(percentile(self.latencies, 0.50)), "p95_ms": ms(percentile(self.latencies, 0.95)),
            "p99_ms": ms(percentile(self.latencies, 0.99)), "max_ms": ms(max(self.latencies, default=None)),
            "answers": dict(sorted(self.answers.items())), "cut_by_time_limit": self.cut, "note": self.note,
            "cpu_ms_per_ok": {name: round(seconds * 1000 / self.done, 1) for name, seconds in self.cpu_s.items()} if self.done else {},
        }


def answer_of(response: "httpx.Response | LeanResponse") -> str:
    """The status as the table shows it: a 503/429 with Retry-After is shedding ("503+RA"); without, an error."""
    if response.status_code in SHED:
        return f"{response.status_code}+RA" if response.headers.get("retry-after") else str(response.status_code)
    return str(response.status_code)


async def run_phase(name: str, concurrency: int, count: int, time_limit: float, attempt, **extra) -> Phase:
    """`count` calls of `attempt(i)` (an awaitable answer string) on `concurrency` lanes, stopping at `time_limit`."""
    phase = Phase(name, concurrency, count, **extra)
    indexes = iter(range(count))
    deadline = time.perf_counter() + time_limit

    async def lane() -> None:
        for i in indexes:  # one iterator shared by the lanes: each index is taken once
            if time.perf_counter() > deadline:
                phase.cut = True
                return
            began = time.perf_counter()
            try:
                answer = await attempt(i)
            except httpx.TimeoutException:
                answer = "hang"
            except httpx.HTTPError as error:
                answer = type(error).__name__
            except Exception as error:  # noqa: BLE001  (raw start_workflow: any failure is an error of that phase)
                answer = type(error).__name__
            phase.record(answer, time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    phase.elapsed = time.perf_counter() - began
    return phase


def http_client(base_url: str, concurrency: int, **options) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=CLIENT_TIMEOUT, **options)


class LeanResponse:
    def __init__(self, status_code: int, headers: dict[str, str], body: bytes) -> None:
        self.status_code, self.headers, self.content = status_code, headers, body

    def json(self):
        return json.loads(self.content)


class LeanHTTP:
    """A minimal HTTP/1.1 keep-alive client for the load phases (JSON POSTs): the generator shares the stack's two
    cores, and httpx spends about 20 ms of CPU a request there, more than the API it measures. Same interface as the
    httpx calls it stands for; the same httpx exceptions (a timeout is a hang)."""

    dumps = staticmethod(json.dumps)

    def __init__(self, base_url: str) -> None:
        url = httpx.URL(base_url)
        self.host, self.port = url.host, url.port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def __aenter__(self) -> "LeanHTTP":
        return self

    async def __aexit__(self, *exc) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle = []

    async def post(self, path: str, json: dict, headers: dict[str, str]) -> LeanResponse:
        body = self.dumps(json).encode()
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n{head}\r\n").encode() + body
        try:
            return await asyncio.wait_for(self._exchange(request), CLIENT_TIMEOUT)
        except TimeoutError:
            raise httpx.ReadTimeout(f"no answer in {CLIENT_TIMEOUT}s") from None
        except (OSError, asyncio.IncompleteReadError, ValueError) as error:
            raise httpx.RemoteProtocolError(str(error)) from error

    async def _exchange(self, request: bytes) -> LeanResponse:
        reader, writer = self.idle.pop() if self.idle else await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(request)
            status_line, *lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
            body = await reader.readexactly(int(headers.get("content-length", 0)))
        except BaseException:
            writer.close()
            raise
        if headers.get("connection", "").lower() == "close":
            writer.close()
        else:
            self.idle.append((reader, writer))
        return LeanResponse(int(status_line.split()[1]), headers, body)


class CpuMeter:
    """CPU seconds used by each of the stack's processes (with their children: uvicorn --workers) and by this load
    generator, read from /proc: where a request's cost goes on the shared cores. Empty where /proc is not there."""

    TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(self, children: list[tuple[str, subprocess.Popen]]) -> None:
        self.pids = {name.split("-")[0]: [] for name, _ in children}
        for name, process in children:
            self.pids[name.split("-")[0]].append(process.pid)

    @classmethod
    def seconds(cls, pid: int, children: bool = True) -> float:
        """User + system time of `pid` and, recursively, of its live children."""
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            below = Path(f"/proc/{pid}/task/{pid}/children").read_text().split() if children else []
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / cls.TICK + sum(cls.seconds(int(c)) for c in below)

    def sample(self) -> dict[str, float]:
        # the stack's processes are this one's children: the generator counts only itself
        return {**{name: sum(self.seconds(pid) for pid in pids) for name, pids in self.pids.items()},
                "bench": self.seconds(os.getpid(), children=False)}

    @staticmethod
    def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {name: max(0.0, after[name] - before[name]) for name in before}


class HealthProbe:
    """GET /healthz every HEALTH_INTERVAL on its own connection for the whole run; each sample is labelled with the
    load phase running at the time (None between phases)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.current: str | None = None
        self.samples: list[tuple[str | None, float, str]] = []
        self.last_ok = time.monotonic()
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async with http_client(self.base_url, 1) as http:
            while not self._stop.is_set():
                phase, began = self.current, time.perf_counter()
                try:
                    answer = answer_of(await http.get("/healthz"))
                except httpx.TimeoutException:
                    answer = "hang"
                except httpx.HTTPError as error:
                    answer = type(error).__name__
                self.samples.append((phase, time.perf_counter() - began, answer))
                if answer == "200":
                    self.last_ok = time.monotonic()
                try:
                    await asyncio.wait_for(self._stop.wait(), HEALTH_INTERVAL)
                except TimeoutError:
                    pass

    async def stop(self) -> None:
        self._stop.set()
        if self._task:
            await self._task

    def down_for(self) -> float:
        """Seconds since /healthz last answered 200."""
        return time.monotonic() - self.last_ok

    def under_load(self) -> Phase:
        phase = Phase("GET /healthz (during load)", 1, 0)
        for label, latency, answer in self.samples:
            if label is not None:
                phase.record(answer, latency)
        return phase


class PagedTracker:
    """Signal -> owner paged: from the 202 to the signal's first notification row, polled in the database (the
    precision is the poll interval, 25 ms)."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.accepted: dict[str, float] = {}  # signal id -> perf_counter at the 202
        self.paged: dict[str, float] = {}
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def accept(self, signal_id: str) -> None:
        self.accepted.setdefault(signal_id, time.perf_counter())

    def _seen(self, ids: list[str]) -> set[str]:
        from sqlalchemy import bindparam, text

        query = text("SELECT DISTINCT subject_id FROM notifications WHERE subject_type = 'signal' "
                     "AND subject_id IN :ids").bindparams(bindparam("ids", expanding=True))
        found = set()
        with self.engine.connect() as connection:
            for i in range(0, len(ids), 500):
                found |= {row[0] for row in connection.execute(query, {"ids": ids[i:i + 500]})}
        return found

    async def _run(self) -> None:
        while not self._stop.is_set():
            pending = [s for s in self.accepted if s not in self.paged]
            if pending:
                found = await asyncio.to_thread(self._seen, pending)
                now = time.perf_counter()
                for signal_id in found:
                    self.paged[signal_id] = now
            try:
                await asyncio.wait_for(self._stop.wait(), PAGE_POLL_INTERVAL)
            except TimeoutError:
                pass

    async def settle(self, ids: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while any(s not in self.paged for s in ids) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        self._stop.set()
        if self._task:
            await self._task

    def phase(self, name: str, concurrency: int, ids: list[str]) -> Phase:
        phase = Phase(name, concurrency, len(ids))
        for signal_id in ids:
            if signal_id in self.paged:
                phase.record("paged", max(0.0, self.paged[signal_id] - self.accepted[signal_id]))
            else:
                phase.answers["not paged"] += 1
        return phase


# --- the stack ------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    """Temporal's dev server, `workers` worker processes and the API with `api_workers` processes, in `folder`."""

    def __init__(self, folder: Path, api_workers: int, workers: int, database_url: str | None) -> None:
        self.folder, self.api_workers, self.workers = folder, api_workers, workers
        self.server_database_url = database_url
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.admin_token = "bench-" + uuid.uuid4().hex
        self.task_queue = "pillar"
        self.pg_database: str | None = None
        self.database_url = ""
        self.temporal_address = ""
        self.api_url = ""
        self.client = None

    def log(self, name: str):
        return open(self.folder / f"{name}.log", "ab")

    def create_database(self) -> None:
        if not self.server_database_url:
            self.database_url = f"sqlite:///{self.folder}/pillar.db"
            return
        from sqlalchemy import create_engine, text

        self.pg_database = f"pillar_bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(self.server_database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.pg_database}"'))
        admin.dispose()
        self.database_url = self.server_database_url.rsplit("/", 1)[0] + f"/{self.pg_database}"

    def drop_database(self) -> None:
        if not self.pg_database:
            return
        from sqlalchemy import create_engine, text

        admin = create_engine(self.server_database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.pg_database}" WITH (FORCE)'))
        admin.dispose()

    async def start(self) -> None:
        from temporalio.contrib.pydantic import pydantic_data_converter

        port = free_port()
        self.temporal_address = f"127.0.0.1:{port}"
        temporal = devstack.start_temporal(self.folder / "temporal.db", port, free_port(), log_file=self.folder / "temporal.log")
        self.children.append(("temporal", temporal))
        client = await devstack.wait_for_temporal(self.temporal_address, temporal)
        await devstack.ensure_search_attributes(client)
        from temporalio.client import Client

        self.client = await Client.connect(self.temporal_address, data_converter=pydantic_data_converter)

        # One migration and seeding step before any process starts (as `make run` and compose's pillar-init do).
        self.create_database()
        os.environ.update(DATABASE_URL=self.database_url, PILLAR_ADMIN_TOKEN=self.admin_token,
                          TEMPORAL_ADDRESS=self.temporal_address)
        from sqlmodel import Session

        from core.db import get_engine, migrate, reset_engine
        from core.seed import load_default_config, load_demo_directory

        reset_engine()
        migrate()
        with Session(get_engine()) as session:
            load_default_config(session)
            session.commit()
            self.tokens = load_demo_directory(session, self.admin_token)

        http_port = free_port()
        self.api_url = f"http://127.0.0.1:{http_port}"
        env = {**os.environ, "DATABASE_URL": self.database_url, "PILLAR_ADMIN_TOKEN": self.admin_token,
               "PILLAR_SIGNING_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
               "TEMPORAL_ADDRESS": self.temporal_address, "TEMPORAL_TASK_QUEUE": self.task_queue,
               "PUBLIC_URL": self.api_url, "PYTHONUNBUFFERED": "1"}
        for n in range(self.workers):
            self.children.append((f"worker-{n}", devstack.spawn(devstack.worker_command(), env=env, cwd=ROOT,
                                                                 stdout=self.log(f"worker-{n}"), stderr=subprocess.STDOUT)))
        self.children.append(("api", devstack.spawn(
            devstack.api_command("127.0.0.1", http_port, self.api_workers) + ["--log-level", "warning", "--no-access-log"],
            env=env, cwd=ROOT, stdout=self.log("api"), stderr=subprocess.STDOUT)))
        await asyncio.to_thread(devstack.wait_for_health, f"{self.api_url}/healthz", self.children, 90.0)
        await self.wait_for_pollers()

    async def wait_for_pollers(self, timeout: float = 60.0) -> None:
        """Until `workers` distinct workers poll the task queue (so the first signals measure paging, not start-up)."""
        from temporalio.api.enums.v1 import TaskQueueType
        from temporalio.api.taskqueue.v1 import TaskQueue
        from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

        deadline = time.monotonic() + timeout
        while True:
            devstack.check_children(self.children)
            described = await self.client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
                namespace=self.client.namespace, task_queue=TaskQueue(name=self.task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW))
            if len({p.identity for p in described.pollers}) >= self.workers:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(described.pollers)} of {self.workers} workers poll {self.task_queue!r}")
            await asyncio.sleep(0.25)

    def stop(self) -> None:
        devstack.stop(self.children)
        self.children = []
        try:
            from core.db import reset_engine

            reset_engine()
            self.drop_database()
        except Exception as error:  # noqa: BLE001  (teardown: say it, carry on)
            print(f"bench: could not drop {self.pg_database}: {error}", file=sys.stderr)


# --- the load -------------------------------------------------------------------------------------------------


@dataclass
class Sizes:
    raw: dict[int, int]
    signals: dict[int, int]
    events: dict[int, int]
    batches: dict[int, int]
    phase_seconds: float
    steady_rate: float
    steady_seconds: float
    runs_small: int
    runs_large: int
    reads: int

    @staticmethod
    def at(counts: dict[int, int], concurrency: int) -> int:
        """The request count for a concurrency level (a level not in the table takes the largest count)."""
        return counts.get(concurrency, max(counts.values()))

    @classmethod
    def for_mode(cls, quick: bool, phase_seconds: float | None) -> "Sizes":
        if quick:
            return cls(raw={1: 20, 8: 64, 32: 128, 64: 128}, signals={1: 10, 8: 40, 32: 96, 64: 128},
                       events={1: 10, 8: 32, 32: 64, 64: 128}, batches={1: 2, 8: 8, 32: 32, 64: 64},
                       phase_seconds=phase_seconds or 10, steady_rate=5, steady_seconds=5,
                       runs_small=100, runs_large=1000, reads=20)
        return cls(raw={1: 100, 8: 400, 32: 800, 64: 800}, signals={1: 40, 8: 200, 32: 400, 64: 400},
                   events={1: 40, 8: 160, 32: 320, 64: 320}, batches={1: 5, 8: 16, 32: 32, 64: 64},
                   phase_seconds=phase_seconds or 20, steady_rate=10, steady_seconds=20,
                   runs_small=1000, runs_large=10000, reads=100)


class Bench:
    def __init__(self, stack: Stack, sizes: Sizes, levels: tuple[int, ...] = LEVELS) -> None:
        self.stack, self.sizes, self.levels = stack, sizes, levels
        self.phases: list[Phase] = []
        self.notes: list[str] = []
        self.accepted_signals: list[str] = []
        self.tag = uuid.uuid4().hex[:8]
        self.accounts = ["acme", "globex", "initech"] + [f"bench-{n:02d}" for n in range(BENCH_ACCOUNTS)]
        self.admin = {"Authorization": f"Bearer {stack.admin_token}"}
        self.health = HealthProbe(stack.api_url)
        from core.db import get_engine

        self.paged = PagedTracker(get_engine())

    def keep(self, phase: Phase) -> Phase:
        self.phases.append(phase)
        s = phase.summary()
        cpu = " ".join(f"{name} {ms}" for name, ms in s["cpu_ms_per_ok"].items())
        print(f"bench: {phase.name:<34} c={phase.concurrency:<3} {s['ok_per_s']:>7}/s  p50 {s['p50_ms']} ms  "
              f"p99 {s['p99_ms']} ms  {s['answers']}{'  (cut by time limit)' if phase.cut else ''}"
              f"{f'  CPU ms per ok: {cpu}' if cpu else ''}", flush=True)
        return phase

    async def measure(self, name: str, concurrency: int, count: int, attempt, needs_api: bool = True, **extra) -> Phase:
        if needs_api and self.health.down_for() > API_DOWN_AFTER:
            # an API that stopped answering (the blocked event loop of issue 12) would make every phase a 10 s hang
            phase = Phase(name, concurrency, count, note=f"skipped: /healthz unanswered for {self.health.down_for():.0f}s")
            phase.answers["skipped"] = count
            self.notes.append(f"{name} c={concurrency} {phase.note}")
            return self.keep(phase)
        self.health.current = f"{name} c={concurrency}"
        cpu = CpuMeter(self.stack.children)
        before = cpu.sample()
        try:
            phase = await run_phase(name, concurrency, count, self.sizes.phase_seconds, attempt, **extra)
            phase.cpu_s = cpu.spent(before, cpu.sample())
            return self.keep(phase)
        finally:
            self.health.current = None

    async def run(self) -> None:
        self.health.start()
        self.paged.start()
        try:
            await self.setup_accounts()
            # Low concurrency first, every path, then the reads, then the bursts: an API that a burst stops (the
            # blocked event loop of issue 12) still gets its low-concurrency and read figures measured.
            low, high = [c for c in self.levels if c < 32], [c for c in self.levels if c >= 32]
            await self.load(low)
            await self.steady_signals()
            if await self.fill_book(self.sizes.runs_small):
                await self.reads(self.sizes.runs_small)
            await self.load(high)
            if await self.fill_book(self.sizes.runs_large, api_fallback=False):
                await self.reads(self.sizes.runs_large)
            await self.none_lost()
        finally:
            await self.paged.stop()
            await self.health.stop()
        self.keep(self.health.under_load())

    async def load(self, levels: list[int]) -> None:
        for c in levels:
            await self.raw_start_workflow(c)
            await self.post_signals(c)
            await self.post_events(c)
            await self.post_event_batches(c)

    async def fill_book(self, target: int, api_fallback: bool = True) -> bool:
        """`target` running plays in the read model: with scripts/book.py's seed_book (rows only, no workflows), else
        (1,000 runs) through the API, which leaves the worker a backlog that is drained before the next phase."""
        if await self.seed_book(target):
            return True
        return api_fallback and await self.seed_runs(target)

    async def setup_accounts(self) -> None:
        team = {"ae": "alex", "csm": "casey", "csm_lead": "lee", "sdr": "sam", "support": "sky"}
        async with http_client(self.stack.api_url, 4) as http:
            for account_id in self.accounts[3:]:
                body = {"name": f"Bench {account_id}", "arr": 50_000, "segment": "smb", "motion": "academic", "team": team}
                response = await http.put(f"/api/v1/accounts/{account_id}", json=body, headers=self.admin)
                response.raise_for_status()

    # raw Temporal ------------------------------------------------------------------------------------------

    async def raw_start_workflow(self, c: int) -> None:
        from sqlmodel import Session
        from temporalio.common import SearchAttributePair, TypedSearchAttributes

        from core.db import get_engine
        from models.signals import SignalIn
        from services.signals import build_start
        from workflows import search_attributes as sa
        from workflows.signal import SignalWorkflow

        with Session(get_engine()) as session:
            start = build_start(session, SignalIn(family="renewal_risk", severity="critical", account_id="acme"), "bench")
        attributes = TypedSearchAttributes([
            SearchAttributePair(sa.ACCOUNT_ID, start.account.id), SearchAttributePair(sa.FAMILY, start.family),
            SearchAttributePair(sa.SEVERITY, start.severity.value), SearchAttributePair(sa.STATUS, "open"),
            SearchAttributePair(sa.OWNER_IDS, start.owners), SearchAttributePair(sa.ESCALATION_LEVEL, 0),
        ])
        queue = f"bench-raw-{self.tag}"  # no worker polls it: the start alone is measured

        async def attempt(i: int) -> str:
            signal_id = f"raw-{self.tag}-{c}-{i}"
            await self.stack.client.start_workflow(
                SignalWorkflow.run, start.model_copy(update={"id": signal_id}), id=f"signal-{signal_id}",
                task_queue=queue, search_attributes=attributes, rpc_timeout=timedelta(seconds=CLIENT_TIMEOUT))
            return "200"  # started: counted like a 2xx answer

        await self.measure("raw start_workflow", c, self.sizes.at(self.sizes.raw, c), attempt, needs_api=False)

    # signals -----------------------------------------------------------------------------------------------

    def signal_body(self, label: str, i: int) -> dict:
        return {"family": "renewal_risk", "severity": "critical", "account_id": self.accounts[i % len(self.accounts)],
                "dedup_key": f"bench-{self.tag}-{label}-{i}", "evidence": {"bench": label}}

    async def post_signals(self, c: int) -> None:
        ids: list[str] = []
        async with LeanHTTP(self.stack.api_url) as http:
            async def attempt(i: int) -> str:
                response = await http.post("/api/v1/signals", json=self.signal_body(f"c{c}", i), headers=self.admin)
                if response.status_code == 202:
                    signal_id = response.json()["id"]
                    self.paged.accept(signal_id)
                    ids.append(signal_id)
                return answer_of(response)

            cpu = CpuMeter(self.stack.children)
            before = cpu.sample()
            await self.measure("POST /api/v1/signals", c, self.sizes.at(self.sizes.signals, c), attempt)
        self.accepted_signals += ids
        await self.paged.settle(ids, 15)
        if c == 32:
            paged = self.paged.phase("signal -> paged (during c=32)", c, ids)
            paged.cpu_s = cpu.spent(before, cpu.sample())  # the whole cost of a signal: accepted, started, paged
            self.keep(paged)

    async def steady_signals(self) -> None:
        """Signals at a steady rate (not a burst): the paging latency a user sees on a busy but not saturated day."""
        rate, seconds = self.sizes.steady_rate, self.sizes.steady_seconds
        ids: list[str] = []
        label = f"POST /api/v1/signals at {rate:g}/s"
        if self.health.down_for() > API_DOWN_AFTER:
            self.notes.append(f"{label} skipped: /healthz unanswered for {self.health.down_for():.0f}s")
            return
        # the bursts before leave the worker a backlog: drain it, so this measures paging at `rate`, not the backlog
        backlog = [s for s in self.paged.accepted if s not in self.paged.paged]
        await self.paged.settle(backlog, 90)
        if any(s not in self.paged.paged for s in backlog):
            self.notes.append(f"{label}: the worker had not paged every earlier signal after 90 s; measured beside its backlog")
        self.health.current = label
        phase = Phase(label, 0, int(rate * seconds))
        async with LeanHTTP(self.stack.api_url) as http:
            async def one(i: int) -> None:
                began = time.perf_counter()
                try:
                    response = await http.post("/api/v1/signals", json=self.signal_body("steady", i), headers=self.admin)
                    if response.status_code == 202:
                        self.paged.accept(response.json()["id"])
                        ids.append(response.json()["id"])
                    answer = answer_of(response)
                except httpx.TimeoutException:
                    answer = "hang"
                except httpx.HTTPError as error:
                    answer = type(error).__name__
                phase.record(answer, time.perf_counter() - began)

            began = time.perf_counter()
            tasks = []
            for i in range(phase.planned):
                await asyncio.sleep(max(0.0, began + i / rate - time.perf_counter()))
                tasks.append(asyncio.create_task(one(i)))
            await asyncio.gather(*tasks)
            phase.elapsed = time.perf_counter() - began
        self.health.current = None
        self.keep(phase)
        self.accepted_signals += ids
        await self.paged.settle(ids, 15)
        self.keep(self.paged.phase(f"signal -> paged (at {rate:g}/s)", 0, ids))

    # events ------------------------------------------------------------------------------------------------

    def usage_event(self, label: str, i: int) -> dict:
        return {"kind": "product_usage", "account_id": self.accounts[i % len(self.accounts)],
                "occurred_at": datetime.now(UTC).isoformat(), "active_users": random.randint(40, 100), "seats": 100,
                "external_id": f"bench-{self.tag}-{label}-{i}"}

    async def post_events(self, c: int) -> None:
        async with LeanHTTP(self.stack.api_url) as http:
            async def attempt(i: int) -> str:
                return answer_of(await http.post("/api/v1/events", json=self.usage_event(f"e{c}", i), headers=self.admin))

            await self.measure("POST /api/v1/events", c, self.sizes.at(self.sizes.events, c), attempt)

    async def post_event_batches(self, c: int) -> None:
        async with LeanHTTP(self.stack.api_url) as http:
            async def attempt(i: int) -> str:
                events = [self.usage_event(f"b{c}-{i}", j) for j in range(BATCH_SIZE)]
                return answer_of(await http.post("/api/v1/events/batch", json={"events": events}, headers=self.admin))

            await self.measure(f"POST /api/v1/events/batch ({BATCH_SIZE})", c, self.sizes.at(self.sizes.batches, c), attempt,
                               items_per_request=BATCH_SIZE)

    # reads -------------------------------------------------------------------------------------------------

    def book_size(self) -> tuple[int, int]:
        from sqlalchemy import text

        from core.db import get_engine

        with get_engine().connect() as connection:
            runs = connection.execute(text("SELECT count(*) FROM play_runs WHERE status = 'running'")).scalar_one()
            signals = connection.execute(text("SELECT count(*) FROM signals WHERE status IN ('open', 'escalated')")).scalar_one()
        return runs, signals

    async def seed_runs(self, target: int) -> bool:
        """Running plays through the API (POST /api/v1/play-runs), until the read model holds `target`."""
        have, _ = self.book_size()
        missing = max(0, target - have)
        self.health.current = "seeding play runs"
        began = time.perf_counter()
        seeded = Phase("seed play runs", SEED_CONCURRENCY, missing)
        async with http_client(self.stack.api_url, SEED_CONCURRENCY) as http:
            async def attempt(i: int) -> str:
                body = {"play_key": "renewal_save", "account_id": self.accounts[i % len(self.accounts)]}
                return answer_of(await http.post("/api/v1/play-runs", json=body, headers=self.admin))

            # in chunks, so an API that has stopped answering costs one chunk, not the whole time limit
            for first in range(0, missing, 200):
                if self.health.down_for() > API_DOWN_AFTER:
                    self.notes.append("seeding play runs skipped: /healthz unanswered")
                    break
                chunk = await run_phase("seed play runs", SEED_CONCURRENCY, min(200, missing - first), 60, attempt)
                seeded.answers.update(chunk.answers)
                if chunk.ok == 0:
                    self.notes.append(f"seeding play runs stopped after {first + 200}: {dict(chunk.answers)}")
                    break
        deadline = time.monotonic() + 240
        while self.book_size()[0] < have + seeded.ok and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        self.health.current = None
        runs, signals = self.book_size()
        print(f"bench: seeded {seeded.ok} play runs through the API in {time.perf_counter() - began:.0f}s "
              f"({dict(seeded.answers)}); the read model holds {runs} running plays, {signals} open signals", flush=True)
        if runs < have + seeded.ok:
            self.notes.append(f"the worker had not saved every seeded play run when the reads began ({runs} of "
                              f"{have + seeded.ok}): later phases ran beside its backlog")
        return runs > 0

    async def seed_book(self, target: int) -> bool:
        """Fill the read models to `target` running plays with scripts/book.py's seed_book, where that exists."""
        try:
            from scripts.book import seed_book
        except ImportError as error:
            if target > self.sizes.runs_small:
                self.notes.append(f"reads at {target:,} runs skipped: scripts/book.py seed_book is not on this branch "
                                  f"({error})")
            return False
        from sqlmodel import Session

        from core.db import get_engine

        runs, signals = self.book_size()
        known = {"runs": target - runs, "play_runs": target - runs, "n": target - runs, "count": target - runs,
                 "size": target - runs, "signals": target - signals, "open_signals": target - signals,
                 "engine": get_engine(), "database_url": self.stack.database_url, "url": self.stack.database_url,
                 "accounts": self.accounts, "account_ids": self.accounts, "client": self.stack.client}
        parameters = inspect.signature(seed_book).parameters
        kwargs, unfilled = {}, []
        for name, parameter in parameters.items():
            if name == "session":
                continue
            if name in known:
                kwargs[name] = known[name]
            elif parameter.default is inspect.Parameter.empty and parameter.kind not in (
                    parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                unfilled.append(name)
        if unfilled:
            self.notes.append(f"reads at {target:,} runs skipped: seed_book{inspect.signature(seed_book)} needs {unfilled}")
            return False
        self.health.current = "seed_book"
        began = time.perf_counter()
        session = Session(get_engine()) if "session" in parameters else None
        args = (session,) if session is not None else ()
        try:
            if inspect.iscoroutinefunction(seed_book):
                await seed_book(*args, **kwargs)
            else:
                await asyncio.to_thread(seed_book, *args, **kwargs)
            if session is not None:
                session.commit()
        except Exception as error:  # noqa: BLE001  (a seeder that fails leaves the 10k rows out, said in the notes)
            self.notes.append(f"reads at {target:,} runs skipped: seed_book failed: {type(error).__name__}: {error}")
            return False
        finally:
            self.health.current = None
            if session is not None:
                session.close()
        runs, signals = self.book_size()
        print(f"bench: seed_book in {time.perf_counter() - began:.0f}s: {runs} running plays, {signals} open signals", flush=True)
        return True

    async def reads(self, target: int) -> None:
        runs, signals = self.book_size()
        label = f"{runs:,} runs/{signals:,} signals"
        count = self.sizes.reads
        before = len(self.phases)
        for user_id, path in (("lee", "/inbox"), ("maya", "/board")):
            async with http_client(self.stack.api_url, 1) as http:
                try:
                    signed_in = await http.post("/sign-in", data={"token": self.stack.tokens[user_id], "next": path})
                except httpx.HTTPError as error:
                    self.notes.append(f"sign-in as {user_id} failed ({type(error).__name__}): {path} not measured")
                    continue
                if not signed_in.is_redirect:
                    self.notes.append(f"sign-in as {user_id} answered {signed_in.status_code}: {path} not measured")
                    continue

                async def attempt(i: int, path=path) -> str:
                    response = await http.get(path)
                    return answer_of(response) if response.url.path == path else f"{response.status_code}->{response.url.path}"

                await self.measure(f"GET {path} ({user_id}) @ {label}", 1, count, attempt)
        async with http_client(self.stack.api_url, 1) as http:
            maya = {"Authorization": f"Bearer {self.stack.tokens['maya']}"}

            async def stuck(i: int) -> str:
                return answer_of(await http.get("/api/v1/play-runs", params={"status": "running", "stuck": "true"},
                                                headers=maya))

            await self.measure(f"GET /play-runs?stuck=true @ {label}", 1, count, stuck)
        for phase in self.phases[before:]:
            phase.note = f"book={target}"

    # none lost ---------------------------------------------------------------------------------------------

    async def none_lost(self) -> None:
        """Every 202 signal exists: in the read model, else through GET /api/v1/signals/{id} (which asks its workflow)."""
        from sqlalchemy import bindparam, text

        from core.db import get_engine

        ids = list(dict.fromkeys(self.accepted_signals))
        query = text("SELECT id FROM signals WHERE id IN :ids").bindparams(bindparam("ids", expanding=True))
        stored: set[str] = set()
        with get_engine().connect() as connection:
            for i in range(0, len(ids), 500):
                stored |= {row[0] for row in connection.execute(query, {"ids": ids[i:i + 500]})}
        missing = [s for s in ids if s not in stored]
        found_late: set[str] = set()
        async with http_client(self.stack.api_url, 8) as http:
            async def attempt(i: int) -> str:
                response = await http.get(f"/api/v1/signals/{missing[i]}", headers=self.admin)
                if response.status_code == 200:
                    found_late.add(missing[i])
                return answer_of(response)

            fetched = await run_phase("GET /api/v1/signals/{id}", 8, len(missing), 60, attempt)
        self.lost = {"accepted": len(ids), "in_read_model": len(stored), "fetched": dict(fetched.answers),
                     "lost": len(missing) - len(found_late)}
        print(f"bench: none lost? {self.lost}", flush=True)

    # report ------------------------------------------------------------------------------------------------

    def find(self, name: str, concurrency: int | None = None) -> Phase | None:
        for phase in self.phases:
            if phase.name.startswith(name) and (concurrency is None or phase.concurrency == concurrency):
                return phase
        return None

    def report(self) -> dict:
        raw = {p.concurrency: p for p in self.phases if p.name == "raw start_workflow"}
        rows = []
        for phase in self.phases:
            row = phase.summary()
            base = raw.get(phase.concurrency)
            if phase.name.startswith("POST") and base and base.rate and phase.concurrency and phase.elapsed:
                row["x_raw"] = round(phase.rate / base.rate, 2)
            rows.append(row)
        return {"rows": rows, "targets": self.targets(), "lost": getattr(self, "lost", None), "notes": self.notes}

    def targets(self) -> list[dict]:
        results = []

        def check(name: str, passed: bool | None, measured: str) -> None:
            results.append({"target": name, "result": "SKIP" if passed is None else ("PASS" if passed else "FAIL"),
                            "measured": measured})

        paced, back_to_back, raw_1 = (self.find(n, c) for n, c in (("POST /api/v1/signals at", None),
                                                                    ("POST /api/v1/signals", 1), ("raw start_workflow", 1)))
        p50s = [percentile(p.latencies, 0.5) if p and p.latencies else None for p in (paced, back_to_back, raw_1)]
        check("POST /signals p50 within 2x raw start_workflow p50 at c=1 (one at a time, paced)",
              None if None in (p50s[0], p50s[2]) else p50s[0] <= 2 * p50s[2],
              "not measured" if None in (p50s[0], p50s[2]) else
              f"p50 {p50s[0] * 1000:.1f} ms paced ({paced.name.split(' at ')[-1]}) vs raw {p50s[2] * 1000:.1f} ms = "
              f"{p50s[0] / p50s[2]:.2f}x; back to back {(p50s[1] or 0) * 1000:.1f} ms, while the worker pages each one "
              "on the same cores")
        batch = self.find("POST /api/v1/events/batch (100)", 1)
        check("a batch of 100 events stores and rescores at >= 1,000 events/s",
              None if not batch or not batch.ok else batch.rate * 100 >= 1000,
              "not measured" if not batch else f"{batch.rate * 100:.0f} events/s at c=1")
        signals, raw = self.find("POST /api/v1/signals", 32), self.find("raw start_workflow", 32)
        ratio = signals.rate / raw.rate if signals and raw and raw.rate else None
        check("POST /signals >= 0.8x raw start_workflow at c=32", None if ratio is None else ratio >= 0.8,
              "not measured" if ratio is None else f"{signals.rate:.1f}/s vs {raw.rate:.1f}/s = {ratio:.2f}x")
        at_64 = [p for p in self.phases if p.concurrency == 64 and p.name.startswith("POST")]
        bad = {p.name: {a: n for a, n in p.answers.items() if not (a.endswith("+RA") or (a.isdigit() and 200 <= int(a) < 300))}
               for p in at_64}
        bad = {name: answers for name, answers in bad.items() if answers}
        slowest = max((max(p.latencies, default=0) for p in at_64), default=0)
        lost = getattr(self, "lost", {}).get("lost")
        skipped = sum(p.answers.get("skipped", 0) for p in at_64)
        check("c=64: every request answers in 10 s with 2xx or 503/429+Retry-After, none lost",
              None if not at_64 else (not bad and slowest <= CLIENT_TIMEOUT and lost == 0),
              (f"{skipped} requests not sent: the API had stopped answering; " if skipped else "")
              + f"slowest answer {slowest:.2f}s; other answers {bad or 'none'}; lost {lost}")
        health = self.find("GET /healthz (during load)")
        p99 = percentile(health.latencies, 0.99) if health else None
        check("/healthz p99 < 250 ms during load", None if p99 is None else p99 < 0.25 and health.errors == 0,
              "no samples" if p99 is None else f"p99 {p99 * 1000:.0f} ms over {len(health.latencies)} probes, "
                                               f"answers {dict(health.answers)}")
        paged = self.find("signal -> paged (during c=32)")
        if paged is None or signals is None:
            check("signal -> paged p99 < 1 s at c=32", None, "not measured")
        else:
            # over every signal accepted at c=32 (one never paged counts as never); a request the API shed with
            # 503 + Retry-After (the worker was behind) is no signal: it is counted beside, and an error is a failure
            never = paged.answers.get("not paged", 0)
            failed = sum(signals.answers.values()) - signals.ok - signals.shed
            p99 = percentile(paged.latencies + [math.inf] * never, 0.99)
            check("signal -> paged p99 < 1 s at c=32", p99 < 1.0 and not failed,
                  f"p99 {p99 * 1000:.0f} ms over {len(paged.latencies) + never} accepted signals ({never} never paged; "
                  f"{signals.shed} shed with Retry-After, {failed} errors)")
        large = f"book={self.sizes.runs_large}"
        for name, limit in (("GET /inbox", 0.150), ("GET /board", 0.100), ("GET /play-runs?stuck=true", 0.100)):
            phase = next((p for p in self.phases if p.name.startswith(name) and p.note == large), None)
            small = next((p for p in self.phases if p.name.startswith(name) and p.note != large), None)
            p95 = percentile(phase.latencies, 0.95) if phase else None
            hint = f" (at {small.name.split('@ ')[-1]}: p95 {percentile(small.latencies, 0.95) * 1000:.0f} ms)" if small and small.latencies else ""
            check(f"{name} p95 < {limit * 1000:.0f} ms at {self.sizes.runs_large:,} runs",
                  None if p95 is None else p95 < limit and phase.errors == 0,
                  (f"p95 {p95 * 1000:.0f} ms" if p95 is not None else "not measured") + hint)
        return results


# --- printing -------------------------------------------------------------------------------------------------


def table(report: dict) -> str:
    header = ["phase", "c", "n", "ok/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "answers", "x raw", "CPU ms/ok " + CPU_COLUMNS]
    lines = [header]
    for row in report["rows"]:
        rate = ("-" if not row["elapsed_s"] else f"{row['ok_per_s']}") + (f" ({row['items_per_s']:.0f} ev/s)" if row["items_per_s"] != row["ok_per_s"] else "")
        answers = " ".join(f"{a}:{n}" for a, n in row["answers"].items()) + (" CUT" if row["cut_by_time_limit"] else "")
        lines.append([row["name"], str(row["concurrency"] or "-"), str(row["answered"]), rate,
                      *(str(row[k]) if row[k] is not None else "-" for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")),
                      answers, f"{row['x_raw']:.2f}" if "x_raw" in row else "",
                      "/".join(str(row["cpu_ms_per_ok"].get(p, "-")) for p in CPU_COLUMNS.split("/")) if row["cpu_ms_per_ok"] else ""])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    out.append("")
    out += [f"{t['result']:<4}  {t['target']}: {t['measured']}" for t in report["targets"]]
    out += [f"note  {n}" for n in report["notes"]]
    return "\n".join(out)


def scale_table(one: dict, two: dict) -> str:
    """ok/s with 2 API and 2 worker processes over 1 and 1, per phase; and each run's ratio to its own raw
    start_workflow, which factors out how busy the machine was during each run."""
    by_key = {(r["name"], r["concurrency"]): r for r in one["rows"]}
    header = ["phase", "c", "1x1 ok/s", "2x2 ok/s", "2x2/1x1", "1x1 x raw", "2x2 x raw", "1x1 p99 ms", "2x2 p99 ms"]
    lines = [header]
    for row in two["rows"]:
        first = by_key.get((row["name"], row["concurrency"]))
        if not first or not row["name"].startswith(("raw", "POST")) or not first["elapsed_s"] or not row["elapsed_s"]:
            continue
        ratio = f"{row['ok_per_s'] / first['ok_per_s']:.2f}" if first["ok_per_s"] else "-"
        lines.append([row["name"], str(row["concurrency"] or "-"), str(first["ok_per_s"]), str(row["ok_per_s"]), ratio,
                      f"{first['x_raw']:.2f}" if "x_raw" in first else "", f"{row['x_raw']:.2f}" if "x_raw" in row else "",
                      str(first["p99_ms"]), str(row["p99_ms"])])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


# --- running --------------------------------------------------------------------------------------------------


async def bench_once(args, api_workers: int, workers: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="pillar-bench-"))
    stack = Stack(folder, api_workers, workers, args.database_url)
    began = time.perf_counter()
    print(f"bench: {api_workers} API process(es), {workers} worker process(es), "
          f"{'PostgreSQL' if args.database_url else 'SQLite'}; logs in {folder}", flush=True)
    try:
        await stack.start()
        print(f"bench: stack ready in {time.perf_counter() - began:.1f}s (API {stack.api_url}, Temporal {stack.temporal_address})",
              flush=True)
        bench = Bench(stack, Sizes.for_mode(args.quick, args.phase_seconds), args.levels)
        await bench.run()
        report = bench.report()
        report["config"] = {"api_workers": api_workers, "workers": workers, "quick": args.quick,
                            "database": "postgresql" if args.database_url else "sqlite", "cpus": os.cpu_count(),
                            "seconds": round(time.perf_counter() - began, 1)}
        print()
        print(f"== {api_workers} API process(es) x {workers} worker process(es), "
              f"{report['config']['database']}, {report['config']['seconds']}s ==")
        print(table(report), flush=True)
        return report
    finally:
        await asyncio.to_thread(stack.stop)
        if args.keep:
            print(f"bench: kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


async def main(args) -> dict:
    if args.scale:
        one = await bench_once(args, 1, 1)
        two = await bench_once(args, 2, 2)
        print()
        print("== scale-out: 2 API x 2 worker processes against 1 x 1 (ok/s ratio) ==")
        print(scale_table(one, two))
        return {"runs": [one, two], "scale": scale_table(one, two).splitlines()}
    return await bench_once(args, args.api_workers, args.workers)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n", 2)[2])
    parser.add_argument("--api-workers", type=int, default=1, help="uvicorn --workers for the API (default 1)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes on the one task queue (default 1)")
    parser.add_argument("--scale", action="store_true", help="run everything with 1, then 2 of each, and print the ratio")
    parser.add_argument("--quick", action="store_true", help="a short smoke run (fewer requests, 100/1,000 runs)")
    parser.add_argument("--database-url", help="a PostgreSQL server URL (trust auth) to create a throwaway database on, "
                                                "e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--phase-seconds", type=float, help="time limit of each load phase (default 20, quick 10)")
    parser.add_argument("--levels", type=lambda v: tuple(int(c) for c in v.split(",")), default=LEVELS,
                        help="the concurrency levels, comma-separated (default 1,8,32,64; any of them)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, databases)")
    args = parser.parse_args(argv)
    if args.database_url and not args.database_url.startswith("postgresql"):
        parser.error("--database-url takes a PostgreSQL URL (SQLite is the default)")
    if args.database_url and not any(h in args.database_url for h in ("@127.0.0.1", "@localhost", "//127.0.0.1", "//localhost")):
        parser.error("--database-url must be on a loopback address")
    return args


async def guarded(args) -> dict:
    """main(), cancelled by Ctrl-C or SIGTERM, so every stack's teardown (its `finally`) runs before we exit."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    return await main(args)


if __name__ == "__main__":
    arguments = parse()
    try:
        result = asyncio.run(guarded(arguments))
    except asyncio.CancelledError:
        print("bench: interrupted; the stack was stopped", file=sys.stderr)
        sys.exit(130)
    if arguments.json:
        arguments.json.write_text(json.dumps(result, indent=2))
        print(f"bench: wrote {arguments.json}")

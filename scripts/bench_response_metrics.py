"""Benchmark the response analytics: latency of services.response_metrics (the statement behind
GET /api/v1/metrics/response) over N signals spread across 12 weeks, for a few groupings, as the book-wide CRO and as
a manager (the visibility filter), on SQLite or PostgreSQL.

Usage: .venv/bin/python scripts/bench_response_metrics.py [--signals 10000] [--repeat 20] [--database-url URL]
(default: a SQLite file in a temporary folder)."""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FAMILIES = ["renewal_risk", "champion_departed", "adoption_decay", "expansion_trigger", "nps_decline"]
OWNERS = ["casey", "lee", "alex", "dana"]


def signal_rows(count: int, now: datetime) -> list[dict]:
    rng = random.Random(7)
    rows = []
    for n in range(count):
        created = now - timedelta(seconds=rng.randrange(12 * 7 * 86400))
        acked = created + timedelta(minutes=rng.randrange(5, 600)) if rng.random() < 0.85 else None
        task = acked + timedelta(minutes=rng.randrange(1, 120)) if acked and rng.random() < 0.8 else None
        resolved = task + timedelta(hours=rng.randrange(1, 200)) if task and rng.random() < 0.6 else None
        owner = OWNERS[n % len(OWNERS)]
        rows.append(dict(id=f"bench-{n}", workflow_id=f"signal-bench-{n}", family=FAMILIES[n % len(FAMILIES)],
                         severity="critical", account_id="acme" if n % 3 else "globex", status="acknowledged" if acked else "open",
                         owner_ids=[owner], escalated_to=[], acknowledged_by=owner if acked else None,
                         escalation_level=int(rng.random() < 0.2), task_count=int(bool(task)),
                         sla_due_at=created + timedelta(hours=4), routing_version=1, created_at=created, updated_at=now,
                         state={}, owner_id=owner, acknowledged_at=acked, first_task_at=task, resolved_at=resolved))
    return rows


def main(count: int, repeat: int, url: str | None) -> None:
    from sqlalchemy import insert
    from sqlmodel import Session

    from core.db import get_engine, migrate, reset_engine
    from core.seed import load_demo_directory
    from models.response import Dimension
    from models.tables import SignalRow
    from services.response_metrics import response_metrics
    from services.visibility import resolved

    os.environ["DATABASE_URL"] = url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    reset_engine()
    migrate()
    now = datetime.now(UTC)
    with Session(get_engine()) as session:
        load_demo_directory(session, "bench-admin-token-0123456789")
        session.execute(insert(SignalRow), signal_rows(count, now))
        session.commit()
    print(f"{count} signals over 12 weeks on {get_engine().dialect.name}")
    from api.deps import Principal
    from models.common import Role

    viewers = {"cro (book-wide)": Principal("kim", Role.cro, "Kim"), "manager (maya's team)": Principal("maya", Role.manager, "Maya")}
    for who, principal in viewers.items():
        for by in ([], [Dimension.family], [Dimension.family, Dimension.week], [Dimension.team], [Dimension.owner, Dimension.week]):
            with Session(get_engine()) as session:
                viewer = resolved(session, principal)
                times = []
                for _ in range(repeat):
                    began = time.perf_counter()
                    found = response_metrics(session, by, viewer=viewer, now=now)
                    times.append(1000 * (time.perf_counter() - began))
            label = ",".join(d.value for d in by) or "(all)"
            print(f"{who:24} by={label:14} groups={len(found.groups):3}  median {statistics.median(times):6.1f} ms  "
                  f"max {max(times):6.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    main(args.signals, args.repeat, args.database_url)

"""Benchmark Layer IV's reads: building each ritual's agenda for one motion, the completion metrics and the
self-assessment, over a book of N accounts with their signals, tasks, running plays and action items.

The rows are written straight into the read models (what the workflows would have written), in a SQLite database
in a temporary folder. Usage: .venv/bin/python scripts/bench_agendas.py [--accounts 2000] [--repeat 5]
"""

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def seed_book(session, accounts: int, now: datetime) -> dict[str, int]:
    from models.common import TimelineEntry
    from models.plays import PlayRun, RunStatus, RunStep, StepStatus
    from models.rituals import ActionItem
    from models.signals import SignalDetail
    from models.tables import Account, AccountScoreRow, ActionItemRow, EventRow, PlayRunRow, SignalRow, TaskRow
    from models.tasks import Task
    from services.scoring import compute_scores
    from services.layer_config import current_weights
    from tests.support.events import BASELINE_END, as_stored, bad_week, baseline

    weights = current_weights(session)
    score, _ = compute_scores("x", None, as_stored(baseline("x") + bad_week("x")), BASELINE_END + timedelta(days=7), weights, weights.version)
    detail = score.model_dump(mode="json")
    counts = {"signals": 0, "tasks": 0, "plays": 0, "action_items": 0, "commits": 0}
    team = {"ae": "alex", "csm": "casey", "csm_lead": "lee"}
    for n in range(accounts):
        account_id, motion = f"b-{n}", ("academic", "credentialed")[n % 2]
        session.add(Account(id=account_id, name=f"Bench {n}", arr=20_000 + 1_000 * (n % 200), motion=motion, team=team,
                            renewal_date=(now + timedelta(days=n % 365)).date()))  # a quarter inside the renewal window
        if n % 8 < 2:  # a quarter of the book, in both motions, has a deal in commit (the forecast's and the 1:1s' commits)
            deal = {"kind": "crm_stage_change", "account_id": account_id, "occurred_at": (BASELINE_END + timedelta(days=2)).isoformat(),
                    "opportunity_id": f"opp-{n}", "stage": "commit", "amount": 30_000, "external_id": f"crm-{n}"}
            for event in as_stored([deal]):
                session.add(EventRow(**event.model_dump()))
            counts["commits"] += 1
        session.add(AccountScoreRow(account_id=account_id, as_of=now - timedelta(days=1), weights_version=1, health=score.health.value,
                                    renewal_risk=score.renewal_risk.value, risk_tier=score.renewal_risk.tier.value,
                                    forecast_confidence=score.forecast_confidence.value, pipeline_quality=score.pipeline_quality.value,
                                    detail=detail))
        for k in range(4):  # four signals per account, half of them still open
            sid = f"sig-b-{n}-{k}"
            created = now - timedelta(days=k * 3)
            tasks = [Task(id=f"{sid}-t1", signal_id=sid, template_key="t", title="Follow up", owner_id="casey",
                          due_at=created + timedelta(days=3))] if k % 2 else []
            signal = SignalDetail(id=sid, family=("renewal_risk", "adoption_decay")[k % 2], severity=("critical", "warning")[k % 2],
                                  account_id=account_id, status=("open", "acknowledged", "escalated", "resolved")[k], owners=["lee"],
                                  sla_due_at=created + timedelta(hours=4), routing_version=1, created_at=created, tasks=tasks,
                                  timeline=[TimelineEntry(at=created, type="created")])
            session.add(SignalRow(id=sid, workflow_id=f"signal-{sid}", family=signal.family, severity=signal.severity, account_id=account_id,
                                  status=signal.status, owner_ids=["lee"], sla_due_at=signal.sla_due_at, routing_version=1,
                                  created_at=created, updated_at=now, state=signal.model_dump(mode="json")))
            counts["signals"] += 1
            for task in tasks:
                session.add(TaskRow(id=task.id, signal_id=sid, account_id=account_id, owner_id="casey", due_at=task.due_at,
                                    updated_at=now, state=task.model_dump(mode="json")))
                counts["tasks"] += 1
        if n % 5 == 0:
            run = PlayRun(id=f"run-b-{n}", workflow_id=f"play-run-b-{n}", play_key="renewal_save", play_version=1, account_id=account_id,
                          status=RunStatus.running, started_at=now - timedelta(days=3),
                          steps=[RunStep(key="diagnose", title="Diagnose", owner_id="casey", status=StepStatus.ready,
                                         ready_at=now - timedelta(days=3), due_at=now - timedelta(days=1))])
            session.add(PlayRunRow(id=run.id, workflow_id=run.workflow_id, play_key="renewal_save", play_version=1, account_id=account_id,
                                   status="running", current_steps=["diagnose"], stuck_step_key="diagnose", stuck_owner_id="casey",
                                   stuck_since=now - timedelta(days=3), stuck_due_at=now - timedelta(days=1), next_due_at=now - timedelta(days=1),
                                   started_at=run.started_at, updated_at=now, state=run.model_dump(mode="json")))
            counts["plays"] += 1
        meeting = now - timedelta(days=n % 49)
        item = ActionItem(id=f"agd-b-{n}-a1", agenda_id=f"agd-b-{n}", ritual_key="signal_triage", motion=motion, title="Call",
                          owner_id="casey", due_at=meeting + timedelta(days=2), created_at=meeting)
        session.add(ActionItemRow(id=item.id, agenda_id=item.agenda_id, ritual_key=item.ritual_key, motion=motion, meeting_at=meeting,
                                  owner_id="casey", due_at=item.due_at, state=item.model_dump(mode="json")))
        counts["action_items"] += 1
    session.commit()
    return counts


TARGET_MS = 300  # issue 12: an agenda builds in under 300 ms at 2,000 accounts


def timed(fn, repeat: int) -> tuple[float, float, float]:
    """Median and max wall time, and median CPU time of this process (ms): on a shared machine the CPU time is the
    steadier figure, the wall time the one a user waits."""
    times, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return statistics.median(times), max(times), statistics.median(cpu)


def switch_every_ritual_on(session) -> None:
    """The shipped rollout runs Monday triage only: the benchmark builds every ritual's agenda."""
    from core import config_store
    from models.rituals import RitualsConfigIn
    from services.rituals import RITUALS, current_rituals

    config = current_rituals(session)
    rituals = [r.model_copy(update={"enabled": True}) for r in config.rituals]
    body = RitualsConfigIn.model_validate({**config.model_dump(), "rituals": rituals})
    config_store.append(session, RITUALS, body.model_dump(mode="json"), created_by="bench")


def main(accounts: int, repeat: int) -> None:
    folder = Path(tempfile.mkdtemp())
    os.environ.update(DATABASE_URL=f"sqlite:///{folder}/bench.db", PILLAR_ADMIN_TOKEN="bench-admin-token-0123456789")
    from sqlmodel import Session

    from core.db import get_engine, migrate
    from core.seed import load_default_config, load_demo_directory
    from services import agendas
    from services.action_items import completion_metrics
    from services.assessment import assess
    from services.rituals import current_rituals, start_for

    migrate()
    now = datetime.now(UTC)
    with Session(get_engine()) as session:
        load_default_config(session)
        load_demo_directory(session, "bench-admin-token-0123456789")
        counts = seed_book(session, accounts, now)
        switch_every_ritual_on(session)
        config = current_rituals(session)
    print(f"book: {accounts} accounts (half academic), {counts['signals']} signals, {counts['tasks']} tasks, "
          f"{counts['plays']} running plays, {counts['commits']} commits, {counts['action_items'] + 100} action items; SQLite; "
          f"median / max of {repeat}")
    gc.freeze()  # as the worker does once started (worker.py): the builds run beside what startup built
    with Session(get_engine()) as session:
        for ritual in config.rituals:
            motion = "academic" if "academic" in ritual.motions else ritual.motions[0]  # board prep and QBR: the whole book
            start = start_for(session, ritual.key, motion, now - ritual.lead, by_hand=True)
            if start is None:
                print(f"  build {ritual.key:<22} not built: it has no {motion} meeting")
                continue
            agenda = agendas.build(session, start, now, "bench")
            median, worst, cpu = timed(lambda: agendas.build(session, start, now, "bench"), repeat)
            items = sum(len(s.items) for s in agenda.sections)
            verdict = "ok" if median < TARGET_MS else f"over the {TARGET_MS} ms target"
            print(f"  build {ritual.key:<22} ({motion:<8}, {items:>5} items): {median:8.1f} ms  (max {worst:.1f}, cpu {cpu:.1f})  {verdict}")
        median, worst, cpu = timed(lambda: completion_metrics(session, now, weeks=8), repeat)
        print(f"  GET /cadences/metrics (8 weeks)               : {median:8.1f} ms  (max {worst:.1f}, cpu {cpu:.1f})")
        median, worst, cpu = timed(lambda: assess(session, now), repeat)
        print(f"  GET /assessment                               : {median:8.1f} ms  (max {worst:.1f}, cpu {cpu:.1f})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()
    main(arguments.accounts, arguments.repeat)

"""The flywheel: its rules on their own, a month of it on the time-skipping server (a proposal approved, applied and
reverted, scoring using each version), and its decisions' refusals on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from core import config_store
from core.db import get_engine
from core.errors import PillarError
from core.seed import load_default_config, load_demo_directory
from core.settings import get_settings
from models.flywheel import FlywheelRun, ProposalStatus, ProposeRequest
from models.rituals import FlywheelSettings
from models.scoring import RiskTier, ScoreWeightsIn
from models.tables import Account, AccountScoreRow, NotificationRow, PlayRunRow, SignalRow, TaskRow
from services import flywheel
from services.events import rescore, store_events
from services.layer_config import SCORE_WEIGHTS, current_weights
from services.rituals import flywheel_times
from services.scoring import compute_scores
from tests.support.events import BASELINE_END, as_stored, baseline
from tests.support.histories import record_history
from workflows.flywheel import FlywheelWorkflow

CHAMPION_LEFT = {"kind": "contact_change", "account_id": "x", "occurred_at": (BASELINE_END + timedelta(days=1)).isoformat(),
                 "contact_id": "champ-1", "role": "champion", "change": "role_changed", "external_id": "champ-left"}


def events(account_id: str, champion_left: bool) -> list[dict]:
    return baseline(account_id) + ([{**CHAMPION_LEFT, "account_id": account_id}] if champion_left else [])


def score_detail(account_id: str, champion_left: bool) -> dict:
    score, _ = compute_scores(account_id, None, as_stored(events(account_id, champion_left)), BASELINE_END + timedelta(days=2),
                              ScoreWeightsIn(), 1)
    return score.model_dump(mode="json")


# Per tier: (saved without the champion leaving, lost with the champion gone, lost with the champion in place).
# High-tier accounts lose as often as critical ones; the champion leaving is in 7 of 8 losses and 0 of 9 saves.
OUTCOMES = {"medium": (5, 0, 0), "high": (2, 3, 1), "critical": (2, 4, 0)}


def seed_outcomes(session: Session, ended: datetime) -> None:
    """Finished plays (and two tasks) with the score each account had when its work started."""
    n = 0
    for tier, (saved, lost_champion, lost_other) in OUTCOMES.items():
        for outcome, champion_left, count in (("renewed", False, saved), ("churned", True, lost_champion), ("churned", False, lost_other)):
            for _ in range(count):
                n += 1
                account_id = f"fw-{n}"
                session.add(Account(id=account_id, name=f"Flywheel {n}", arr=50_000, motion="academic", team={}))
                started = ended - timedelta(days=20)
                session.add(AccountScoreRow(account_id=account_id, as_of=started - timedelta(days=1), weights_version=1, health=50,
                                            renewal_risk=60, risk_tier=tier, forecast_confidence=50, pipeline_quality=100,
                                            detail=score_detail(account_id, champion_left)))
                if tier == "medium" and n <= 2:  # two of medium's saves are tasks, not plays
                    session.add(SignalRow(id=f"sig-fw-{n}", workflow_id=f"signal-sig-fw-{n}", family="adoption_decay", severity="warning",
                                          account_id=account_id, status="resolved", sla_due_at=started, routing_version=1,
                                          created_at=started, updated_at=ended, state={}))
                    session.add(TaskRow(id=f"sig-fw-{n}-t1", signal_id=f"sig-fw-{n}", account_id=account_id, owner_id="casey",
                                        outcome=outcome, is_open=False, due_at=ended, updated_at=ended,
                                        state={"outcome_at": ended.isoformat(), "created_at": started.isoformat()}))
                    continue
                session.add(PlayRunRow(id=f"run-fw-{n}", workflow_id=f"play-run-fw-{n}", play_key="renewal_save", play_version=1,
                                       account_id=account_id, status="completed", outcome=outcome, started_at=started, updated_at=ended,
                                       state={"ended_at": ended.isoformat()}))
    session.commit()


def test_the_rules_lower_a_threshold_reached_too_late_and_weigh_a_predictive_component_more(sqlite_db):
    with Session(sqlite_db) as session:
        load_default_config(session)
        load_demo_directory(session, "flywheel-admin-token-0123")
        now = datetime.now(UTC)
        seed_outcomes(session, now - timedelta(days=10))
        samples = flywheel.collect_samples(session, now - timedelta(days=90), now)
    evidence = flywheel.evidence_of(samples)
    assert (evidence.plays, evidence.tasks) == (15, 2)
    bands = {b.tier: (b.saved, b.lost, b.loss_rate_pct) for b in evidence.bands}
    assert bands == {"low": (0, 0, None), "medium": (5, 0, 0.0), "high": (2, 4, 66.7), "critical": (2, 4, 66.7), "unscored": (0, 0, None)}
    champion = next(c for c in evidence.components if c.component == "champion")
    assert (champion.present_in_lost, champion.lost, champion.present_in_saved, champion.saved) == (7, 8, 0, 9)
    changes = flywheel.propose_changes(evidence, ScoreWeightsIn(), FlywheelSettings())
    assert [(c.path, c.current, c.proposed) for c in changes] == [
        ("renewal_risk.tiers.critical", 75, 70), ("health.champion_departed", -12, -15)]
    assert "high-tier accounts lost 4 of 6 (66.7%)" in changes[0].reason and "7 of 8 lost" in changes[1].reason
    assert flywheel.propose_changes(evidence, ScoreWeightsIn(), FlywheelSettings(min_sample=17)) == []  # too little evidence for either rule


async def test_a_month_of_flywheel_proposes_revops_approves_and_scoring_uses_the_new_version(ts_env, ts_worker):
    start = await ts_env.get_current_time()
    with Session(get_engine()) as session:
        seed_outcomes(session, start - timedelta(days=5))
        assert current_weights(session).version == 1
        settings = flywheel.flywheel_settings(session)
    month = flywheel_times(settings, start, start + timedelta(days=32))[0]  # when the monthly schedule fires next
    await ts_env.sleep(month - start)
    handle = await ts_env.client.start_workflow(FlywheelWorkflow.run, FlywheelRun(scheduled_at=month), id=f"flywheel-monthly-{month:%Y%m}",
                                                task_queue=get_settings().temporal_task_queue)
    created = await handle.result()
    assert created.status == ProposalStatus.proposed and created.notify == ["rory"]
    with Session(get_engine()) as session:
        page = session.exec(select(NotificationRow).where(NotificationRow.user_id == "rory", NotificationRow.subject_id == created.id)).one()
        assert page.kind == "proposal" and "renewal_risk.tiers.critical 75 → 70" in page.text
        proposal = flywheel.get_proposal(session, created.id)
        assert proposal.period_end == month and proposal.period_start == month - settings.lookback and proposal.weights_version == 1

        # scoring before: an account whose champion just left, on version 1
        account = Account(id="fw-scored", name="Scored", arr=100_000, motion="academic", team={})
        session.add(account)
        store_events(session, [ev for ev in _events("fw-scored")])
        session.commit()
        before, _, point = rescore(session, account, BASELINE_END + timedelta(days=2), current_weights(session))
        assert point.weights_version == 1 and current_weights(session).renewal_risk.tier(72) == RiskTier.high

        approved = flywheel.approve(session, created.id, "rory", note="matches what the CSMs saw")
        assert approved.status == ProposalStatus.approved and approved.applied_version == 2 and approved.decided_by == "rory"
        assert [(e.action, e.actor_id, e.config_version) for e in approved.history] == [("proposed", None, None), ("approved", "rory", 2)]
        row = config_store.latest(session, SCORE_WEIGHTS)
        assert (row.version, row.created_by) == (2, "rory")
        with pytest.raises(PillarError) as refused:
            flywheel.approve(session, created.id, "rory")
        assert refused.value.code == "conflict"

        # scoring after: the same events score on version 2 — the champion weighs 3 points more, 72 is now critical
        weights = current_weights(session)
        after, _, point = rescore(session, account, BASELINE_END + timedelta(days=2), weights)
        assert point.weights_version == 2 and weights.renewal_risk.tier(72) == RiskTier.critical
        assert after.health.value == before.health.value - 3
        session.commit()

        # reversible: a newer version puts the values back; version 2 stays readable
        reverted = flywheel.revert(session, created.id, "rory", reason="too many false alarms")
        assert reverted.status == ProposalStatus.reverted and reverted.reverted_version == 3
        assert current_weights(session).renewal_risk.tiers[RiskTier.critical] == 75 and current_weights(session).health.champion_departed == -12
        assert config_store.get(session, SCORE_WEIGHTS, 2).body["renewal_risk"]["tiers"]["critical"] == 70
        assert [p.id for p in flywheel.list_proposals(session, config_version=3).items] == [created.id]
    await record_history(handle, "flywheel_monthly_proposal")


def _events(account_id: str):
    from pydantic import TypeAdapter

    from models.events import AccountEvent

    return [TypeAdapter(AccountEvent).validate_python(e) for e in events(account_id, champion_left=True)]


def test_decisions_are_refused_when_stale_or_already_taken(any_db):
    with Session(any_db) as session:
        load_default_config(session)
        load_demo_directory(session, "flywheel-admin-token-0123")
        now = datetime.now(UTC)
        seed_outcomes(session, now - timedelta(days=3))
        first = flywheel.store_proposal(session, ProposeRequest(as_of=now - timedelta(days=2), workflow_id="wf-1"))
        assert flywheel.store_proposal(session, ProposeRequest(as_of=now - timedelta(days=2), workflow_id="wf-1")).id == first.id  # a retry
        second = flywheel.store_proposal(session, ProposeRequest(as_of=now, workflow_id="wf-2"))
        assert flywheel.get_proposal(session, first.id).status == ProposalStatus.superseded
        for decide in (lambda: flywheel.approve(session, first.id, "rory"), lambda: flywheel.reject(session, first.id, "rory", "old")):
            with pytest.raises(PillarError) as refused:
                decide()
            assert refused.value.code == "conflict" and "superseded" in refused.value.message
        with pytest.raises(PillarError) as refused:
            flywheel.revert(session, second.id, "rory", "not applied")
        assert refused.value.code == "conflict"

        # someone edits the weights by hand after the proposal: approving it now would overwrite them
        edited = ScoreWeightsIn.model_validate(config_store.latest(session, SCORE_WEIGHTS).body)
        edited.renewal_risk.tiers[RiskTier.critical] = 80
        config_store.append(session, SCORE_WEIGHTS, edited.model_dump(mode="json"), created_by="rory")
        with pytest.raises(PillarError) as refused:
            flywheel.approve(session, second.id, "rory")
        assert refused.value.code == "conflict" and "v1 → v2" in refused.value.message and "renewal_risk.tiers.critical is now 80" in refused.value.message
        assert config_store.latest(session, SCORE_WEIGHTS).version == 2  # nothing written
        rejected = flywheel.reject(session, second.id, "rory", "weights were re-tuned by hand")
        assert rejected.status == ProposalStatus.rejected and rejected.history[-1].note == "weights were re-tuned by hand"
        assert flywheel.get_proposal(session, second.id).decided_by == "rory"
        with pytest.raises(PillarError) as refused:
            flywheel.get_proposal(session, "fly-nope")
        assert refused.value.code == "not_found"
        # no decided outcome in the window: a run records that it had nothing to propose
        quiet = flywheel.store_proposal(session, ProposeRequest(as_of=now - timedelta(days=200), workflow_id="wf-0"))
        assert quiet.status == ProposalStatus.no_change and quiet.notify == [] and "no change from 0 outcome(s)" in quiet.summary

"""The flywheel: read play and task outcomes by the renewal-risk tier the account was in when the work started,
propose threshold and weight changes with the evidence, and let revops approve (a new score-weights version,
audited on the proposal), reject, or revert them.

The rules (documented on every proposal, tuned by the rituals config's `flywheel` settings):
- A tier threshold comes down `tier_step` points when the band below it loses about as often as the band itself
  (within `loss_rate_tolerance`), both bands having `min_sample` decided outcomes: the tier is reached too late.
- The health component most over-represented in losses against saves (lift ≥ `min_lift`, both groups at least
  half of `min_sample`) weighs `weight_step` more: it predicts losses better than its weight says.
"""

import math
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from temporalio.client import Client

from core import config_store
from core.errors import PillarError
from core.paging import Page, PageRequest, SortKey, page_of
from core.settings import get_settings
from models.flywheel import (
    BandEvidence,
    ComponentEvidence,
    FlywheelEvidence,
    FlywheelProposal,
    FlywheelRun,
    FlywheelRunStarted,
    ObservationRequest,
    ProposalCreated,
    ProposalKind,
    ProposalEvent,
    ProposalStatus,
    ProposedChange,
    ProposeRequest,
)
from models.plays import PlayDef
from models.rituals import FlywheelSettings
from models.scoring import ScoreWeightsIn
from models.tables import AccountScoreRow, AgendaRow, ConfigVersion, FlywheelProposalRow, PlayRunRow, SignalRow, TaskRow, User
from models.tasks import FINAL_OUTCOMES, Outcome
from plays import load_library
from services.layer_config import SCORE_WEIGHTS, current_weights
from services.rituals import RITUALS, config_out
from workflows.flywheel import FlywheelWorkflow

SAVED = frozenset({Outcome.renewed, Outcome.expanded})
LOST = frozenset({Outcome.churned, Outcome.lost})
TIERS = ["low", "medium", "high", "critical"]
COMPONENT_WEIGHTS = {
    "champion": "health.champion_departed",
    "nps": "health.nps_points_per_step",
    "support_tickets": "health.tickets_points_per_multiple",
    "usage_trend": "health.usage_points_per_pct",
    "inactivity": "health.inactivity_points_per_day",
}


class Sample(BaseModel):
    kind: str
    id: str
    account_id: str
    started_at: datetime
    outcome: Outcome
    tier: str
    present: list[str] = []


# --- evidence ----------------------------------------------------------------------------------------------


def score_at(session: Session, account_id: str, at: datetime) -> AccountScoreRow | None:
    """The account's score as it stood at `at`: the latest one describing a moment up to it."""
    return session.exec(
        select(AccountScoreRow).where(AccountScoreRow.account_id == account_id, AccountScoreRow.as_of <= at)
        .order_by(AccountScoreRow.as_of.desc(), AccountScoreRow.id.desc()).limit(1)
    ).first()


def _sample(session: Session, kind: str, sample_id: str, account_id: str, started_at: datetime, outcome: Outcome) -> Sample:
    score = score_at(session, account_id, started_at)
    present = []
    if score is not None:
        components = score.detail.get("health", {}).get("components", [])
        present = sorted(c["key"] for c in components if c.get("key") in COMPONENT_WEIGHTS and c.get("contribution", 0) < 0)
    return Sample(kind=kind, id=sample_id, account_id=account_id, started_at=started_at, outcome=outcome,
                  tier=score.risk_tier if score else "unscored", present=present)


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def collect_samples(session: Session, since: datetime, until: datetime, library: dict[str, PlayDef] | None = None) -> list[Sample]:
    """Every play run that ended, and every task (not run by a play: its play counts) that got a final outcome,
    in [since, until], with the account's tier and health components when the play or the signal started."""
    library = load_library() if library is None else library
    samples = []
    for row in session.exec(select(PlayRunRow).where(PlayRunRow.status == "completed", PlayRunRow.outcome.is_not(None))):
        ended = _when(row.state.get("ended_at")) or row.updated_at
        play = library.get(row.play_key)
        if not since <= ended <= until or play is None or row.outcome not in play.exit_outcomes:
            continue
        samples.append(_sample(session, "play", row.id, row.account_id, row.started_at, play.task_outcome_for(row.outcome)))
    final = [o.value for o in FINAL_OUTCOMES]
    rows = session.exec(select(TaskRow).where(TaskRow.outcome.in_(final))).all()
    ids = sorted({r.signal_id for r in rows})
    started = dict(session.exec(select(SignalRow.id, SignalRow.created_at).where(SignalRow.id.in_(ids))).all()) if rows else {}
    for row in rows:
        outcome_at = _when(row.state.get("outcome_at"))
        if row.state.get("play_run_id") or outcome_at is None or not since <= outcome_at <= until:
            continue
        at = started.get(row.signal_id) or _when(row.state.get("created_at")) or outcome_at
        samples.append(_sample(session, "task", row.id, row.account_id, _when(at), Outcome(row.outcome)))
    return samples


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def evidence_of(samples: list[Sample]) -> FlywheelEvidence:
    bands = []
    for tier in TIERS + ["unscored"]:
        band = [s for s in samples if s.tier == tier]
        saved, lost = sum(s.outcome in SAVED for s in band), sum(s.outcome in LOST for s in band)
        bands.append(BandEvidence(tier=tier, outcomes=len(band), saved=saved, lost=lost, other=len(band) - saved - lost,
                                  save_rate_pct=_pct(saved, saved + lost), loss_rate_pct=_pct(lost, saved + lost)))
    lost_ones = [s for s in samples if s.outcome in LOST and s.tier != "unscored"]
    saved_ones = [s for s in samples if s.outcome in SAVED and s.tier != "unscored"]
    components = []
    for key, path in COMPONENT_WEIGHTS.items():
        in_lost, in_saved = sum(key in s.present for s in lost_ones), sum(key in s.present for s in saved_ones)
        lift = (in_lost / len(lost_ones) if lost_ones else 0) - (in_saved / len(saved_ones) if saved_ones else 0)
        components.append(ComponentEvidence(component=key, weight_path=path, present_in_lost=in_lost, lost=len(lost_ones),
                                            present_in_saved=in_saved, saved=len(saved_ones), lift_pct=round(100 * lift, 1)))
    return FlywheelEvidence(plays=sum(s.kind == "play" for s in samples), tasks=sum(s.kind == "task" for s in samples),
                            bands=bands, components=components)


def get_path(body: dict, path: str) -> Any:
    node = body
    for part in path.split("."):
        node = node[part]
    return node


def set_path(body: dict, path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = body
    for part in parents:
        node = node[part]
    node[leaf] = value


def propose_changes(evidence: FlywheelEvidence, weights: ScoreWeightsIn, settings: FlywheelSettings) -> list[ProposedChange]:
    """The rules of the module docstring, applied to the evidence. Pure."""
    body = weights.model_dump(mode="json")
    bands = {b.tier: b for b in evidence.bands}
    changes = []
    for lower, upper in zip(TIERS, TIERS[1:]):
        low, up = bands[lower], bands[upper]
        if min(low.saved + low.lost, up.saved + up.lost) < settings.min_sample:
            continue
        if low.loss_rate_pct >= up.loss_rate_pct - 100 * settings.loss_rate_tolerance:
            path = f"renewal_risk.tiers.{upper}"
            current = float(get_path(body, path))
            floor = float(body["renewal_risk"]["tiers"][lower]) + 1 if lower != "low" else 1.0
            proposed = max(floor, current - settings.tier_step)
            if proposed < current:
                changes.append(ProposedChange(
                    path=path, current=current, proposed=proposed,
                    reason=f"{lower}-tier accounts lost {low.lost} of {low.saved + low.lost} ({low.loss_rate_pct:g}%), about as often "
                           f"as {upper}-tier ones ({up.lost} of {up.saved + up.lost}, {up.loss_rate_pct:g}%): the {upper} tier is "
                           f"reached too late; lower its threshold from {current:g} to {proposed:g}."))
    half = math.ceil(settings.min_sample / 2)
    eligible = [c for c in evidence.components if c.lost >= half and c.saved >= half and c.lift_pct >= 100 * settings.min_lift]
    if eligible:
        top = sorted(eligible, key=lambda c: (-c.lift_pct, c.component))[0]
        current = float(get_path(body, top.weight_path))
        proposed = round(current * (1 + settings.weight_step), 2)
        changes.append(ProposedChange(
            path=top.weight_path, current=current, proposed=proposed,
            reason=f"{top.component} took points off health in {top.present_in_lost} of {top.lost} lost accounts but "
                   f"{top.present_in_saved} of {top.saved} saved ones (lift {top.lift_pct:g} points): weigh it "
                   f"{settings.weight_step:.0%} more, {current:g} → {proposed:g}."))
    return changes


def _summary(changes: list[ProposedChange], evidence: FlywheelEvidence, settings: FlywheelSettings) -> str:
    read = f"{evidence.plays + evidence.tasks} outcome(s) ({evidence.plays} play(s), {evidence.tasks} task(s))"
    if changes:
        return f"{len(changes)} change(s) from {read}: " + "; ".join(f"{c.path} {c.current:g} → {c.proposed:g}" for c in changes)
    return (f"no change from {read}: no band pair with {settings.min_sample}+ decided outcomes each behaves like the band "
            f"above it, and no health component separates losses from saves by {settings.min_lift:.0%}+")


# --- the monthly run ----------------------------------------------------------------------------------------


def flywheel_settings(session: Session) -> FlywheelSettings:
    row = config_store.latest(session, RITUALS)
    return config_out(row).flywheel if row else FlywheelSettings()


def proposal_out(row: FlywheelProposalRow) -> FlywheelProposal:
    return FlywheelProposal.model_validate({**row.body, "id": row.id, "status": row.status, "created_at": row.created_at,
                                            "period_start": row.period_start, "period_end": row.period_end,
                                            "weights_version": row.weights_version, "applied_version": row.applied_version,
                                            "reverted_version": row.reverted_version, "decided_by": row.decided_by,
                                            "decided_at": row.decided_at})


def proposal_id_for(as_of: datetime) -> str:
    return f"fly-{as_of.astimezone(UTC):%Y%m%dT%H%MZ}"


def store_proposal(session: Session, request: ProposeRequest) -> ProposalCreated:
    """Compute and store this run's proposal once (a retry finds it); proposals still waiting are superseded."""
    proposal_id = proposal_id_for(request.as_of)
    row = session.get(FlywheelProposalRow, proposal_id)
    if row is None:
        settings, weights = flywheel_settings(session), current_weights(session)
        since = request.as_of - settings.lookback
        evidence = evidence_of(collect_samples(session, since, request.as_of))
        changes = propose_changes(evidence, weights, settings)
        status = ProposalStatus.proposed if changes else ProposalStatus.no_change
        for waiting in session.exec(select(FlywheelProposalRow).where(FlywheelProposalRow.status == ProposalStatus.proposed.value)):
            if waiting.body.get("kind", ProposalKind.weights) != ProposalKind.weights:
                continue  # an observation is no earlier version of this run's changes
            waiting.status = ProposalStatus.superseded.value
            waiting.body = {**waiting.body, "history": waiting.body.get("history", []) + [
                ProposalEvent(at=request.as_of, actor_id=None, action="superseded", note=f"by {proposal_id}").model_dump(mode="json")]}
            session.add(waiting)
        row = FlywheelProposalRow(
            id=proposal_id, status=status.value, created_at=request.as_of, period_start=since, period_end=request.as_of,
            weights_version=weights.version,
            body={"summary": _summary(changes, evidence, settings), "changes": [c.model_dump(mode="json") for c in changes],
                  "evidence": evidence.model_dump(mode="json"), "workflow_id": request.workflow_id,
                  "history": [ProposalEvent(at=request.as_of, actor_id=None, action=status.value).model_dump(mode="json")]},
        )
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            row = session.get(FlywheelProposalRow, proposal_id)
    deciders = session.exec(select(User.id).where(User.role == "revops").order_by(User.id)).all()
    notify = list(deciders) if row.status == ProposalStatus.proposed.value else []
    return ProposalCreated(id=row.id, status=ProposalStatus(row.status), notify=notify, summary=row.body["summary"])


def store_observation(session: Session, request: ObservationRequest) -> str:
    """A retro's pattern as an observation proposal, once per agenda (a retry finds it), for revops to decide."""
    proposal_id = f"obs-{request.agenda_id}"
    if session.get(FlywheelProposalRow, proposal_id) is None:
        agenda = session.get(AgendaRow, request.agenda_id)
        pattern, meeting_at = agenda.body.get("proposed_pattern") or agenda.body["summary"], agenda.meeting_at
        since = datetime.fromisoformat(agenda.body["window_start"]) if agenda.body.get("window_start") else meeting_at
        event = ProposalEvent(at=request.at, actor_id=request.actor_id, action="proposed", note=request.note)
        session.add(FlywheelProposalRow(
            id=proposal_id, status=ProposalStatus.proposed.value, created_at=request.at, period_start=since or meeting_at,
            period_end=meeting_at, weights_version=current_weights(session).version,
            body={"kind": ProposalKind.observation.value, "summary": pattern, "changes": [], "source": request.agenda_id,
                  "evidence": FlywheelEvidence(plays=0, tasks=0, bands=[], components=[]).model_dump(mode="json"),
                  "history": [event.model_dump(mode="json")]}))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
    return proposal_id


# --- decisions -----------------------------------------------------------------------------------------------


def get_proposal(session: Session, proposal_id: str) -> FlywheelProposal:
    row = session.get(FlywheelProposalRow, proposal_id)
    if row is None:
        raise PillarError("not_found", f"no flywheel proposal {proposal_id!r}")
    return proposal_out(row)


def list_proposals(session: Session, status: ProposalStatus | None = None, config_version: int | None = None,
                   page: PageRequest = PageRequest()) -> Page[FlywheelProposal]:
    """Newest first."""
    query = select(FlywheelProposalRow)
    if status is not None:
        query = query.where(FlywheelProposalRow.status == status.value)
    if config_version is not None:
        query = query.where((FlywheelProposalRow.applied_version == config_version) | (FlywheelProposalRow.reverted_version == config_version))
    order = (SortKey(FlywheelProposalRow.created_at, descending=True), SortKey(FlywheelProposalRow.id, descending=True))
    return page_of(session, query, page, "flywheel_proposals", order, proposal_out)


def _locked(session: Session, proposal_id: str, expected: ProposalStatus, action: str) -> FlywheelProposalRow:
    row = session.get(FlywheelProposalRow, proposal_id, with_for_update=True)
    if row is None:
        raise PillarError("not_found", f"no flywheel proposal {proposal_id!r}")
    if row.status != expected.value:
        raise PillarError("conflict", f"proposal {proposal_id} is {row.status}: only a {expected.value} proposal can be {action}",
                          {"status": row.status})
    return row


def _weights_now(session: Session) -> tuple[int, dict]:
    latest = config_store.latest(session, SCORE_WEIGHTS)
    if latest is None:
        return 0, ScoreWeightsIn().model_dump(mode="json")
    return latest.version, latest.body


def _rewrite(body: dict, changes: list[ProposedChange], expect: str, set_to: str, version: int, since: int) -> dict:
    """The body with each change's path moved from `expect` to `set_to`; 409 when someone has moved it since."""
    new = ScoreWeightsIn.model_validate(body).model_dump(mode="json")
    for change in changes:
        value = float(get_path(new, change.path))
        if not math.isclose(value, getattr(change, expect)):
            raise PillarError(
                "conflict",
                f"the score weights changed since (v{since} → v{version}): {change.path} is now {value:g}, not "
                f"{getattr(change, expect):g}; edit them with PUT /api/v1/config/score-weights instead",
                {"path": change.path, "now": value, "expected": getattr(change, expect), "weights_version": version},
            )
        set_path(new, change.path, getattr(change, set_to))
    try:
        return ScoreWeightsIn.model_validate(new).model_dump(mode="json")
    except ValidationError as error:
        raise PillarError("conflict", f"the change no longer fits the score weights: {error.errors()[0]['msg']}") from error


def _append_event(row: FlywheelProposalRow, event: ProposalEvent) -> None:
    row.body = {**row.body, "history": row.body.get("history", []) + [event.model_dump(mode="json")]}


def _write_weights(session: Session, proposal_id: str, expected: ProposalStatus, action: str, actor_id: str, note: str | None,
                   apply) -> FlywheelProposal:
    """Lock the proposal, write the next score-weights version and record it on the proposal, in one commit.
    Another writer taking the version number first makes this try again from the start."""
    for _ in range(5):
        row = _locked(session, proposal_id, expected, action)
        proposal = proposal_out(row)
        version, body = _weights_now(session)
        new_body = apply(proposal, body, version)
        number = config_store.next_version(session, SCORE_WEIGHTS)
        session.add(ConfigVersion(kind=SCORE_WEIGHTS, version=number, body=new_body, created_by=actor_id))
        now = datetime.now(UTC)
        if action == "approved":
            row.status, row.applied_version, row.decided_by, row.decided_at = ProposalStatus.approved.value, number, actor_id, now
        else:
            row.status, row.reverted_version = ProposalStatus.reverted.value, number
        _append_event(row, ProposalEvent(at=now, actor_id=actor_id, action=action, config_version=number, note=note))
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            continue
        return get_proposal(session, proposal_id)
    raise PillarError("conflict", "the score weights kept changing under this request: try again")


def approve(session: Session, proposal_id: str, actor_id: str, note: str | None = None) -> FlywheelProposal:
    """Write the proposal's changes as the next score-weights version (rescoring uses it from then on); an
    observation changes no weights: its approval is the standing decision, recorded."""
    row = _locked(session, proposal_id, ProposalStatus.proposed, "approved")
    if row.body.get("kind") == ProposalKind.observation:
        return _decide(session, row, ProposalStatus.approved, actor_id, note)

    def apply(proposal, body, version):
        return _rewrite(body, proposal.changes, "current", "proposed", version, proposal.weights_version)

    return _write_weights(session, proposal_id, ProposalStatus.proposed, "approved", actor_id, note, apply)


def revert(session: Session, proposal_id: str, actor_id: str, reason: str) -> FlywheelProposal:
    """Undo an approved proposal with a newer version that puts its paths back (older versions never change)."""
    def apply(proposal, body, version):
        return _rewrite(body, proposal.changes, "proposed", "current", version, proposal.applied_version)

    return _write_weights(session, proposal_id, ProposalStatus.approved, "reverted", actor_id, reason, apply)


def reject(session: Session, proposal_id: str, actor_id: str, reason: str) -> FlywheelProposal:
    row = _locked(session, proposal_id, ProposalStatus.proposed, "rejected")
    return _decide(session, row, ProposalStatus.rejected, actor_id, reason)


def _decide(session: Session, row: FlywheelProposalRow, status: ProposalStatus, actor_id: str, note: str | None) -> FlywheelProposal:
    now = datetime.now(UTC)
    row.status, row.decided_by, row.decided_at = status.value, actor_id, now
    _append_event(row, ProposalEvent(at=now, actor_id=actor_id, action=status.value, note=note))
    session.add(row)
    session.commit()
    return get_proposal(session, row.id)


async def run_now(client: Client) -> FlywheelRunStarted:
    """Run the flywheel outside its monthly schedule; its proposal appears under /api/v1/flywheel/proposals."""
    workflow_id = f"flywheel-manual-{uuid.uuid4().hex[:10]}"
    await client.start_workflow(FlywheelWorkflow.run, FlywheelRun(), id=workflow_id, task_queue=get_settings().temporal_task_queue)
    return FlywheelRunStarted(workflow_id=workflow_id)

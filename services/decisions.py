"""Each weekly ritual ends with its decision recorded (Layer IV): one per decidable agenda item (models/rituals.py
decidable_refs), recorded through the ritual's run (RitualWorkflow.record_decision, its validator has the last
word), kept in the agenda's read model, and shown beside the agenda as "decisions recorded N of M"; the forecast
call compares its revised commit with the previous meeting's."""

from sqlmodel import Session, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from core.db import in_session
from core.errors import PillarError
from core.temporal import run_update
from models.common import Actor
from models.plays import RunStatus
from models.rituals import (
    MEETING_REF, PATTERN_REF, Agenda, Decision, DecisionIn, ItemDecision, RecordDecisionInput, RitualKind, decidable_refs,
)
from models.tables import AgendaRow, PlayRunRow
from workflows.ritual import RitualWorkflow


def with_decisions(session: Session, row: AgendaRow, agenda: Agenda) -> Agenda:
    """The agenda with its decisions as they stand, how many it decides on, and (forecast) last week's commit."""
    agenda.decisions = [ItemDecision.model_validate(d) for d in row.decisions or []]
    agenda.decisions_expected = len(decidable_refs(agenda)) if row.workflow_id else 0
    if agenda.kind == RitualKind.forecast_call:
        agenda.revised_commit_last_week = revised_commit_before(session, row)
    return agenda


def decision_rows(agenda: Agenda) -> list[tuple[str, str, ItemDecision | None]]:
    """Each ref the meeting decides on, what it is, and the decision recorded on it (None: undecided)."""
    titles = {i.ref_id: i.title for s in agenda.sections for i in s.items}
    titles |= {MEETING_REF: "The revised committed number", PATTERN_REF: agenda.proposed_pattern or ""}
    decided = {d.ref_id: d for d in agenda.decisions}
    return [(ref, titles.get(ref, ref), decided.get(ref)) for ref in decidable_refs(agenda)]


def revised_commit(decisions: list[dict] | None) -> float | None:
    return next((d["amount"] for d in decisions or [] if d["decision"] == Decision.revised_commit), None)


def revised_commit_before(session: Session, row: AgendaRow) -> float | None:
    """The revised commit of the ritual's latest earlier meeting (same motion) that recorded one."""
    earlier = session.exec(select(AgendaRow.decisions).where(
        AgendaRow.ritual_key == row.ritual_key, AgendaRow.motion == row.motion, AgendaRow.meeting_at < row.meeting_at,
        AgendaRow.decisions.is_not(None)).order_by(AgendaRow.meeting_at.desc()).limit(4)).all()
    return next((amount for decisions in earlier if (amount := revised_commit(decisions)) is not None), None)


def _decision_run(session: Session, agenda_id: str, body: DecisionIn) -> str:
    row = session.get(AgendaRow, agenda_id)
    if row is None:
        raise PillarError("not_found", f"no agenda {agenda_id!r}")
    if row.workflow_id is None:
        raise PillarError("conflict", f"agenda {agenda_id} is imported history: no ritual run records its decisions")
    if body.decision == Decision.save_play_started and body.play_run_id:
        run = session.get(PlayRunRow, body.play_run_id)
        if run is None or run.account_id != body.ref_id or run.status != RunStatus.running.value:
            raise PillarError("invalid", f"{body.play_run_id!r} is no running play on account {body.ref_id!r}: start the save "
                                         "play first (POST /api/v1/play-runs), then record it", {"field": "play_run_id"})
    return row.workflow_id


async def record_decision(session: Session | AsyncSession, client: Client, agenda_id: str, body: DecisionIn,
                          actor: Actor) -> ItemDecision:
    workflow_id = await in_session(session, _decision_run, agenda_id, body)
    request = RecordDecisionInput(actor=actor, **body.model_dump())
    try:
        return await run_update(client.get_workflow_handle_for(RitualWorkflow.run, workflow_id),
                                RitualWorkflow.record_decision, request)
    except PillarError as error:
        if error.code == "not_found":  # the run has finished: the agenda closed and every item reached an outcome
            raise PillarError("conflict", f"agenda {agenda_id} is closed: its decisions stand") from error
        raise

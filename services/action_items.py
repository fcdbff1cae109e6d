"""Action items (Layer IV): what a ritual decides, each with an owner, a due date and a structured outcome (the
task outcome rule: "done" is not an outcome), tracked by the ritual's workflow; and the completion rate by week."""

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowHandle

from core.db import in_session
from core.errors import PillarError
from core.paging import MAX_LIMIT, Page, PageRequest, SortKey, page_of
from core.temporal import run_update
from models.common import Actor
from models.rituals import (
    ActionItem,
    ActionItemIn,
    ActionItemOutcomeInput,
    AddActionItemInput,
    AgendaStatus,
    CadenceMetrics,
    RitualCompletion,
    WeekCompletion,
)
from models.tables import ActionItemRow, AgendaRow, ConfigVersion, User
from models.tasks import FINAL_OUTCOMES, OutcomeIn
from services.agendas import agenda_row
from services.rituals import RITUALS, config_out, iso_week, week_start
from workflows.ritual import RitualWorkflow

COMPLETION_DEFINITION = (
    "Per ritual and ISO week of the meeting (UTC): completed_on_time ÷ (created − pending) × 100, where an item is "
    "completed on time when it got a final outcome (renewed, churned, expanded, lost, reassigned) by its due date, and "
    "pending when it is open and not yet due. blocked_waiting_on is not final."
)


def ritual_handle(client: Client, workflow_id: str) -> WorkflowHandle:
    return client.get_workflow_handle_for(RitualWorkflow.run, workflow_id)


def _tracked(row: AgendaRow) -> str:
    if row.workflow_id is None:
        raise PillarError("conflict", f"agenda {row.id} is imported history: its action items are not tracked by a ritual run")
    return row.workflow_id


def _item_request(session: Session, agenda_id: str, body: ActionItemIn, actor: Actor) -> tuple[str, AddActionItemInput]:
    row = agenda_row(session, agenda_id)
    workflow_id = _tracked(row)
    if row.status == AgendaStatus.closed:
        raise PillarError("conflict", f"agenda {agenda_id} closed when the next {row.ritual_key} meeting came: add it there")
    if session.get(User, body.owner_id) is None:
        raise PillarError("invalid", f"unknown user {body.owner_id!r}", {"field": "owner_id"})
    return workflow_id, AddActionItemInput(actor=actor, title=body.title, owner_id=body.owner_id, due_at=body.due_at,
                                           ref_id=body.ref_id)


async def add_action_item(session: Session | AsyncSession, client: Client, agenda_id: str, body: ActionItemIn,
                          actor: Actor) -> ActionItem:
    """Record a decision of the meeting. The ritual's run refuses it once the agenda has closed (the next meeting)."""
    workflow_id, request = await in_session(session, _item_request, agenda_id, body, actor)
    try:
        return await run_update(ritual_handle(client, workflow_id), RitualWorkflow.add_action_item, request)
    except PillarError as error:
        if error.code == "not_found":  # the run has finished: the agenda closed and every item reached an outcome
            raise PillarError("conflict", f"agenda {agenda_id} is closed") from error
        raise


def action_item_row(session: Session, item_id: str) -> ActionItemRow:
    row = session.get(ActionItemRow, item_id)
    if row is None:
        raise PillarError("not_found", f"no action item {item_id!r}")
    return row


def get_action_item(session: Session, item_id: str) -> ActionItem:
    return ActionItem.model_validate(action_item_row(session, item_id).state)


def _tracking_run(session: Session, item_id: str) -> str:
    row = action_item_row(session, item_id)
    item = ActionItem.model_validate(row.state)
    if item.outcome in FINAL_OUTCOMES:
        raise PillarError("conflict", f"action item {item_id} already has the final outcome {item.outcome.value}")
    if item.holder is None:
        raise PillarError("conflict", f"action item {item_id} is being carried over to the next {row.ritual_key} meeting: "
                                      "try again in a moment")
    return _tracked(agenda_row(session, item.holder))


async def set_outcome(session: Session | AsyncSession, client: Client, item_id: str, body: OutcomeIn,
                      actor: Actor) -> ActionItem:
    workflow_id = await in_session(session, _tracking_run, item_id)
    request = ActionItemOutcomeInput(item_id=item_id, actor=actor, **body.model_dump())
    return await run_update(ritual_handle(client, workflow_id), RitualWorkflow.set_action_item_outcome, request)


def list_action_items(
    session: Session, owner_id: str | None = None, open_only: bool | None = None, ritual_key: str | None = None,
    agenda_id: str | None = None, motion: str | None = None, page: PageRequest = PageRequest(),
) -> Page[ActionItem]:
    """Soonest due first."""
    query = select(ActionItemRow)
    for column, value in ((ActionItemRow.owner_id, owner_id), (ActionItemRow.ritual_key, ritual_key),
                          (ActionItemRow.agenda_id, agenda_id), (ActionItemRow.motion, motion)):
        if value is not None:
            query = query.where(column == value)
    if open_only is not None:
        query = query.where(ActionItemRow.is_open == open_only)
    order = (SortKey(ActionItemRow.due_at), SortKey(ActionItemRow.id))
    return page_of(session, query, page, "action_items", order, lambda row: ActionItem.model_validate(row.state))


# --- the completion rate ------------------------------------------------------------------------------------


def _classify(item: ActionItem, as_of: datetime) -> str:
    if item.is_final:
        return "completed_on_time" if item.on_time else "completed_late"
    return "open_overdue" if item.due_at < as_of else "pending"


def _rate(on_time: int, created: int, pending: int) -> float | None:
    judged = created - pending
    return round(100 * on_time / judged, 1) if judged else None


def _completion(key: str, name: str | None, weeks: list[str], counts: dict[str, dict[str, int]]) -> RitualCompletion:
    out, totals = [], {"created": 0, "completed_on_time": 0, "pending": 0}
    for week in weeks:
        c = counts.get(week, {})
        row = {k: c.get(k, 0) for k in ("created", "completed_on_time", "completed_late", "open_overdue", "pending")}
        year, number = week.split("-W")
        out.append(WeekCompletion(week=week, week_start=datetime.fromisocalendar(int(year), int(number), 1).date(),
                                  completion_rate_pct=_rate(row["completed_on_time"], row["created"], row["pending"]), **row))
        for k in totals:
            totals[k] += row[k]
    return RitualCompletion(ritual_key=key, name=name, weeks=out,
                            completion_rate_pct=_rate(totals["completed_on_time"], totals["created"], totals["pending"]))


def completion_metrics(session: Session, as_of: datetime | None = None, weeks: int = 8) -> CadenceMetrics:
    """Each ritual's action-item completion rate for the last `weeks` ISO weeks (this one included), and overall."""
    as_of = as_of or datetime.now(UTC)
    first = datetime.combine(week_start(as_of) - timedelta(weeks=weeks - 1), datetime.min.time(), tzinfo=UTC)
    labels = [iso_week(first + timedelta(weeks=n)) for n in range(weeks)]
    rows = session.exec(select(ActionItemRow).where(ActionItemRow.meeting_at >= first,
                                                    ActionItemRow.meeting_at < first + timedelta(weeks=weeks))).all()
    by_ritual: dict[str, dict[str, dict[str, int]]] = {}
    overall: dict[str, dict[str, int]] = {}
    for row in rows:
        item, week = ActionItem.model_validate(row.state), iso_week(row.meeting_at)
        for bucket in (by_ritual.setdefault(row.ritual_key, {}).setdefault(week, {}), overall.setdefault(week, {})):
            bucket["created"] = bucket.get("created", 0) + 1
            kind = _classify(item, as_of)
            bucket[kind] = bucket.get(kind, 0) + 1
    names = _ritual_names(session)
    keys = list(dict.fromkeys([*names, *sorted(by_ritual)]))
    return CadenceMetrics(
        as_of=as_of, definition=COMPLETION_DEFINITION,
        rituals=[_completion(k, names.get(k), labels, by_ritual.get(k, {})) for k in keys],
        overall=_completion("all", "every ritual", labels, overall),
    )


def _ritual_names(session: Session) -> dict[str, str]:
    """Ritual names from every config version (a ritual removed since still has its history), latest name wins."""
    names: dict[str, str] = {}
    for row in session.exec(select(ConfigVersion).where(ConfigVersion.kind == RITUALS).order_by(ConfigVersion.version)):
        names.update({r.key: r.name for r in config_out(row).rituals})
    return names


def action_items_for(session: Session, user_id: str) -> list:
    """The open action items `user_id` owns, soonest due first (the inbox page lists them)."""
    return list_action_items(session, owner_id=user_id, open_only=True, page=PageRequest(limit=MAX_LIMIT)).items

"""Layer IV over HTTP: the rituals and their config, agendas (JSON and printable HTML), action items and the
completion rate."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import HTMLResponse

from api.agenda_html import agenda_html
from api.deps import AsyncSessionDep, ConfigEditor, ConfigVersion, CurrentUser, PathId, Principal, QueryText, SessionDep, TemporalDep, require_roles
from api.errors import ERROR_RESPONSES
from api.paging import PAGED, PAGING_NOTE, PagingDep
from models.common import Role
from models.rituals import (
    ActionItem,
    ActionItemIn,
    Agenda,
    AgendaSummary,
    CadenceMetrics,
    DecisionIn,
    ItemDecision,
    RitualsConfig,
    RitualsConfigIn,
    RitualsConfigWritten,
    RitualsView,
    TriggeredRun,
    TriggerIn,
)
from models.ritual_rollout import RolloutView
from models.tasks import OutcomeIn
from services import action_items, agendas, decisions, ritual_rollout, rituals

router = APIRouter(tags=["cadences"], responses=ERROR_RESPONSES)


def _editor(user: Principal) -> bool:
    return user.role in (Role.admin, Role.revops)


RitualRunner = Annotated[Principal, Depends(require_roles(Role.manager, Role.vp, Role.csm_lead, Role.revops))]


# --- rituals and their config ---------------------------------------------------------------------------------


@router.get("/api/v1/rituals", response_model=RitualsView)
def list_rituals(session: SessionDep, user: CurrentUser) -> RitualsView:
    """The rituals in force, each with its motion segments: schedule id, when the next agenda is built, the next
    meeting, and the latest agenda. Webhook URLs are shown in full to admin and revops only."""
    return rituals.rituals_view(session, redact=not _editor(user))


@router.post("/api/v1/rituals/{ritual_key}/trigger", status_code=status.HTTP_202_ACCEPTED, response_model=list[TriggeredRun])
async def trigger_ritual(ritual_key: PathId, session: AsyncSessionDep, client: TemporalDep, _: RitualRunner,
                         body: TriggerIn | None = None) -> list[TriggeredRun]:
    """Build the ritual's agenda now, for a meeting `lead` from now (every motion, or the one given), outside its
    schedule (manager, vp, csm_lead, revops, admin)."""
    return await rituals.trigger(session, client, ritual_key, body.motion if body else None)


@router.get("/api/v1/config/rituals", response_model=RitualsConfig, tags=["config"])
def get_rituals_config(session: SessionDep, user: CurrentUser) -> RitualsConfig:
    """The rituals config in force: each ritual's day, time, time zone, lead, webhook and motions; the triage
    score's weights; the flywheel's schedule and evidence thresholds. Webhook URLs in full to admin and revops only."""
    config = rituals.current_rituals(session)
    return config if _editor(user) else rituals.redact_webhooks(config)


@router.put("/api/v1/config/rituals", response_model=RitualsConfigWritten, tags=["config"])
async def put_rituals_config(body: RitualsConfigIn, session: AsyncSessionDep, client: TemporalDep, editor: ConfigEditor) -> RitualsConfigWritten:
    """Write a new version and bring the Temporal Schedules in line with it (created, updated, deleted). Runs already
    started keep the version they resolved. When Temporal cannot be reached the version is still written, the answer
    says so in `schedules_error`, and the worker re-syncs when it next starts."""
    return await rituals.write_rituals_config(session, client, body, editor.id)


@router.get("/api/v1/config/rituals/{version}", response_model=RitualsConfig, tags=["config"])
def get_rituals_config_version(version: ConfigVersion, session: SessionDep, user: CurrentUser) -> RitualsConfig:
    config = rituals.rituals_version(session, version)
    return config if _editor(user) else rituals.redact_webhooks(config)


# --- agendas ---------------------------------------------------------------------------------------------------


@router.get("/api/v1/rituals/{ritual_key}/agendas", response_model=list[AgendaSummary], responses=PAGED,
            description="The ritual's agendas, newest meeting first." + PAGING_NOTE)
def list_ritual_agendas(ritual_key: PathId, session: SessionDep, _: CurrentUser, paging: PagingDep,
                        motion: QueryText = None) -> list[AgendaSummary]:
    return paging.send(agendas.list_agendas(session, ritual_key, motion, paging.page))


@router.get("/api/v1/rituals/{ritual_key}/agendas/latest", response_model=Agenda)
def latest_agenda(ritual_key: PathId, session: SessionDep, _: CurrentUser, motion: QueryText = None) -> Agenda:
    """The agenda of the ritual's latest meeting (for `motion`, or whichever motion's meeting is latest)."""
    return agendas.latest_agenda(session, ritual_key, motion)


@router.get("/api/v1/agendas", response_model=list[AgendaSummary], responses=PAGED,
            description="Every ritual's agendas, newest meeting first." + PAGING_NOTE)
def list_all_agendas(session: SessionDep, _: CurrentUser, paging: PagingDep, ritual_key: QueryText = None,
                     motion: QueryText = None) -> list[AgendaSummary]:
    return paging.send(agendas.list_agendas(session, ritual_key, motion, paging.page))


@router.get("/api/v1/agendas/{agenda_id}.html", response_class=HTMLResponse,
            responses={200: {"content": {"text/html": {}}, "description": "The printable agenda"}})
def get_agenda_html(agenda_id: PathId, session: SessionDep, _: CurrentUser) -> HTMLResponse:
    """The agenda as a printable HTML page (self-contained, print CSS), times in the ritual's time zone."""
    return HTMLResponse(agenda_html(session, agenda_id))


@router.get("/api/v1/agendas/{agenda_id}", response_model=Agenda)
def get_agenda(agenda_id: PathId, session: SessionDep, _: CurrentUser) -> Agenda:
    """The agenda as built — sections of ranked items, each with its score in words — its status, and its action items."""
    return agendas.get_agenda(session, agenda_id)


@router.post("/api/v1/agendas/{agenda_id}/decisions", status_code=status.HTTP_201_CREATED, response_model=ItemDecision)
async def record_decision(agenda_id: PathId, body: DecisionIn, session: AsyncSessionDep, client: TemporalDep, user: RitualRunner) -> ItemDecision:
    """Record the meeting's decision on one agenda item (deciding it again replaces it), until the next meeting:
    1:1s on_track / blocked / help_needed on each item, each rep's commits and at-risk renewals among them; forecast
    evidenced / vibes / slipping per commit and revised_commit (an `amount`) on `meeting`; at-risk review
    save_play_started (the running `play_run_id`) / deprioritized, not the cross-sell slot; retro proposed (the
    pattern becomes a flywheel observation proposal) / dismissed on `pattern`. blocked, help_needed, deprioritized
    and dismissed need a `reason`. The agenda (GET) and its printable page show them and "decisions recorded N of M"."""
    return await decisions.record_decision(session, client, agenda_id, body, await user.actor(session))


# --- action items ----------------------------------------------------------------------------------------------


@router.post("/api/v1/agendas/{agenda_id}/action-items", status_code=status.HTTP_201_CREATED, response_model=ActionItem)
async def add_action_item(agenda_id: PathId, body: ActionItemIn, session: AsyncSessionDep, client: TemporalDep, user: CurrentUser) -> ActionItem:
    """Record a decision of the meeting as an action item with an owner and a due date (default: the meeting plus
    the ritual's `action_item_due`); the owner is paged, and paged again when it goes overdue, then their manager.
    Whoever runs rituals (manager, vp, csm_lead, revops, admin) assigns; anyone may take an item themselves."""
    return await action_items.add_action_item(session, client, agenda_id, body, await user.actor(session))


@router.get("/api/v1/action-items", response_model=list[ActionItem], responses=PAGED, description=(
    "Action items from the read model the ritual runs keep, soonest due first. `open=true`: no final outcome yet."
    + PAGING_NOTE))
def list_action_items(
    session: SessionDep, _: CurrentUser, paging: PagingDep, owner_id: QueryText = None,
    open_: bool | None = Query(default=None, alias="open"), ritual_key: QueryText = None, agenda_id: QueryText = None,
    motion: QueryText = None,
) -> list[ActionItem]:
    return paging.send(action_items.list_action_items(session, owner_id, open_, ritual_key, agenda_id, motion, paging.page))


@router.get("/api/v1/action-items/{item_id}", response_model=ActionItem)
def get_action_item(item_id: PathId, session: SessionDep, _: CurrentUser) -> ActionItem:
    return action_items.get_action_item(session, item_id)


@router.post("/api/v1/action-items/{item_id}/outcome", response_model=ActionItem)
async def post_action_item_outcome(item_id: PathId, body: OutcomeIn, session: AsyncSessionDep, client: TemporalDep, user: CurrentUser) -> ActionItem:
    """The same outcome rule as tasks: renewed, churned, expanded, lost, reassigned, or blocked_waiting_on (with
    blocked_on). "done" and "follow up next week" are not outcomes. The owner, their manager or whoever assigned it."""
    return await action_items.set_outcome(session, client, item_id, body, await user.actor(session))


@router.get("/api/v1/cadences/metrics", response_model=CadenceMetrics)
def cadence_metrics(session: SessionDep, _: CurrentUser, weeks: int = Query(default=8, ge=1, le=104)) -> CadenceMetrics:
    """Each ritual's action-item completion rate by ISO week of the meeting (and overall), with the counts behind it."""
    return action_items.completion_metrics(session, weeks=weeks)


@router.get("/api/v1/cadences/rollout", response_model=RolloutView)
def cadence_rollout(session: SessionDep, _: CurrentUser) -> RolloutView:
    """The rituals' rollout: since when each is enabled, its weekly completion rate since then against the 75% target,
    whether it sticks (75% for 3 judged weeks running), and which ritual to switch on next."""
    return ritual_rollout.rollout_view(session)

"""Rituals: the week's cadence with each motion's next meeting and its latest printable agenda, recent agendas,
and the Phase-2 assessment. The agenda page is the rituals' own printable template, behind the page sign-in; the
meeting page beside it captures the meeting's action items (owner, due date) and records their outcomes."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, select

from api.agenda_html import agenda_html
from api.deps import AsyncSessionDep, SessionDep, TemporalDep
from api.pages.web import PageUser, SECURITY_HEADERS, done, invalid, names, posted_form, refused, render, render_page
from core.db import in_session
from core.errors import PillarError
from core.paging import PageRequest
from models.common import Actor, Role
from models.rituals import (
    MEETING_REF, VOCABULARY, ActionItem, ActionItemIn, Agenda, AgendaStatus, Decision, DecisionIn,
)
from models.tables import User
from models.tasks import Outcome
from services import action_items, decisions
from services.agendas import get_agenda, list_agendas
from services.directory import actor_for
from services.assessment import assess
from services.ritual_rollout import rollout_view
from services.rituals import rituals_view
from workflows.ritual import RUNNERS

router = APIRouter(include_in_schema=False)
PRINTABLE_HEADERS = {k: v for k, v in SECURITY_HEADERS.items() if k != "Content-Security-Policy"}


@router.get("/rituals")
def rituals_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    return render(request, session, user, "rituals.html",
                  {"view": rituals_view(session), "rollout": rollout_view(session),
                   "agendas": list_agendas(session, page=PageRequest(limit=15)).items})


@router.get("/agendas/{agenda_id}")
def agenda_page(agenda_id: str, session: SessionDep, user: PageUser) -> Response:
    """The printable agenda (self-contained: its own print stylesheet, no site header)."""
    return HTMLResponse(agenda_html(session, agenda_id), headers=PRINTABLE_HEADERS)


@router.get("/assessment")
def assessment_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    return render(request, session, user, "assessment.html", {"assessment": assess(session)})


# --- the meeting: capture action items, record outcomes ------------------------------------------------------


def may_set_outcome(item: ActionItem, agenda: Agenda, actor: Actor) -> bool:
    """The ritual run's own rule (its validator has the last word): an open item held by this meeting, and the
    owner, whoever assigned it, the owner's manager or admin."""
    if item.is_final or item.holder != agenda.id:
        return False
    return actor.id in (item.owner_id, item.created_by) or actor.manages(item.owner_id) or actor.role == Role.admin


def meeting_context(session: Session, user, agenda_id: str) -> dict:
    agenda = get_agenda(session, agenda_id)
    actor = actor_for(session, user.id, user.role.value)
    capturing = agenda.workflow_id is not None and agenda.status != AgendaStatus.closed
    owners = []
    if capturing:
        active = select(User).where(User.disabled_at.is_(None), User.role != Role.integration.value).order_by(User.name)
        owners = [u for u in session.exec(active) if actor.role in RUNNERS or u.id == actor.id]
    return {"agenda": agenda, "capturing": capturing, "owners": owners, "names": names(session),
            "settable": {i.id for i in agenda.action_items if may_set_outcome(i, agenda, actor)},
            "outcomes": [o.value for o in Outcome], **decision_context(agenda, capturing and actor.role in RUNNERS)}


def decision_context(agenda: Agenda, deciding: bool) -> dict:
    """Each decidable ref with what it is and the meeting's decision on it, and the choices the ritual's kind has."""
    choices = [d.value for d in Decision if d in VOCABULARY.get(agenda.kind, set()) and d != Decision.revised_commit]
    return {"decidable": decisions.decision_rows(agenda),
            "deciding": deciding, "choices": choices, "meeting_ref": MEETING_REF}


@router.get("/agendas/{agenda_id}/meeting")
async def meeting_page(agenda_id: str, request: Request, session: AsyncSessionDep, user: PageUser) -> Response:
    context = await in_session(session, meeting_context, user, agenda_id)
    return await render_page(request, session, user, "meeting.html", context)


@router.post("/agendas/{agenda_id}/decisions")
async def decide(agenda_id: str, request: Request, session: AsyncSessionDep, user: PageUser, client: TemporalDep) -> Response:
    form = await posted_form(request, user)
    back = f"/agendas/{agenda_id}/meeting"
    ref_id = form.get("ref_id", "")
    try:
        body = DecisionIn(ref_id=ref_id, decision=Decision.revised_commit if ref_id == MEETING_REF else form.get("decision", ""),
                          reason=form.get("reason", "").strip() or None, amount=form.get("amount") or None,
                          play_run_id=form.get("play_run_id", "").strip() or None)
        decided = await decisions.record_decision(session, client, agenda_id, body, await user.principal.actor(session))
    except ValidationError as error:
        return await refused(session, user, invalid(error), back, f"decide-{ref_id}", form)
    except PillarError as error:
        return await refused(session, user, error, back, f"decide-{ref_id}", form)
    return await done(session, user, f"Decision recorded: {decided.ref_id} {decided.decision.value.replace('_', ' ')}.", back)


def due_at(form: dict[str, str], timezone: str) -> datetime | None:
    """A due date typed as a day: the end of that day where the ritual meets (none: the ritual's default)."""
    day = form.get("due_date", "").strip()
    if not day:
        return None
    try:
        return datetime.combine(date.fromisoformat(day), time(23, 59), tzinfo=ZoneInfo(timezone))
    except ValueError as error:
        raise PillarError("invalid", f"{day!r} is not a date: pick one from the calendar") from error


@router.post("/agendas/{agenda_id}/action-items")
async def capture(agenda_id: str, request: Request, session: AsyncSessionDep, user: PageUser, client: TemporalDep) -> Response:
    form = await posted_form(request, user)
    back = f"/agendas/{agenda_id}/meeting"
    try:
        agenda = await in_session(session, get_agenda, agenda_id)
        body = ActionItemIn(title=form.get("title", ""), owner_id=form.get("owner_id", ""),
                            due_at=due_at(form, agenda.timezone))
        item = await action_items.add_action_item(session, client, agenda_id, body, await user.principal.actor(session))
    except ValidationError as error:
        return await refused(session, user, invalid(error), back, "capture", form)
    except PillarError as error:
        return await refused(session, user, error, back, "capture", form)
    return await done(session, user, f"Action item recorded: {item.title}, for {item.owner_id}.", back)

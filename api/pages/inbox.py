"""My inbox: signals to acknowledge, signals waiting for a task, play steps ready, tasks waiting for an outcome;
and a signal's own page. Every action calls the service the API calls and shows its refusal in words."""

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import select

from api.deps import AsyncSessionDep, SessionDep, TemporalDep
from api.pages.web import PageUser, account_names, done, names, posted_form, refused, render, render_page, safe_next, web_user
from api.visibility import sees
from core.db import in_session
from core.errors import PillarError
from core.paging import PageRequest
from models.common import Actor, Role
from models.signals import ReassignRequest, SignalStatus
from models.tables import User
from models.tasks import OutcomeIn, Outcome, TaskIn
from plays import load_library
from services import action_items
from services import signals as signal_service
from services.channels import deliveries_for_signal
from services.directory import actor_for
from services.inbox import inbox_for, notifications_for
from services.task_templates import candidates_for
from services.tasks import add_task, set_outcome

router = APIRouter(include_in_schema=False)
MACHINE_ROLES = (Role.admin.value, Role.integration.value)  # nobody's work to own


def inbox_context(session, user) -> dict:
    inbox = inbox_for(session, user.id)  # the most urgent of each section, and how many there are
    shown = [w.signal.account_id for w in inbox.to_acknowledge + inbox.needs_task] + [w.run.account_id for w in inbox.steps]
    return {
        "inbox": inbox,
        "counts": inbox.counts,
        "notifications": notifications_for(session, user.id, PageRequest(limit=8)).items,
        "action_items": action_items.action_items_for(session, user.id),
        "names": names(session),
        "accounts": account_names(session, shown),  # the names of the accounts shown, not of the whole book
        "plays": {p.key: p for p in load_library().values()},
        "outcomes": [o.value for o in Outcome],
    }


@router.get("/inbox")
def inbox_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    return render(request, session, user, "inbox.html", inbox_context(session, user))


@router.get("/inbox/live")
def inbox_live(request: Request, session: SessionDep, user: PageUser) -> Response:
    return render(request, session, user, "_inbox.html", inbox_context(session, user), take=False)


@router.get("/signals/{signal_id}", dependencies=[sees("signal", "signal_id", web_user)])
async def signal_page(signal_id: str, request: Request, session: AsyncSessionDep, user: PageUser, client: TemporalDep) -> Response:
    signal = await signal_service.get_signal(session, client, signal_id)
    return await render_page(request, session, user, "signal.html", await in_session(session, signal_context, signal, user))


def signal_context(session, signal, user) -> dict:
    candidates = candidates_for(session, signal) if signal.status == "acknowledged" and not signal.tasks else []
    return {"signal": signal, "candidates": candidates, "names": names(session),
            "deliveries": deliveries_for_signal(session, signal.id),
            "accounts": account_names(session, [signal.account_id]), "outcomes": [o.value for o in Outcome],
            "reassign_to": reassign_choices(session, signal, actor_for(session, user.id, user.role.value))}


def reassign_choices(session, signal, actor: Actor) -> list[User]:
    """Whom the page offers to hand the signal to: nobody unless the workflow's validator would let this actor
    reassign it (an owner, whom it escalated to, their manager, admin); then every active person but its one owner."""
    may = (actor.id in signal.owners or actor.id in signal.escalated_to or actor.role == Role.admin
           or any(actor.manages(owner) for owner in signal.owners))
    if signal.status not in (SignalStatus.open, SignalStatus.escalated) or not may:
        return []
    sole = signal.owners if len(signal.owners) == 1 else []
    people = select(User).where(User.disabled_at.is_(None), User.role.not_in(MACHINE_ROLES), User.id.not_in(sole))
    return list(session.exec(people.order_by(User.name)))


@router.post("/signals/{signal_id}/reassign", dependencies=[sees("signal", "signal_id", web_user)])
async def reassign(signal_id: str, request: Request, session: AsyncSessionDep, user: PageUser, client: TemporalDep) -> Response:
    form = await posted_form(request, user)
    back = safe_next(form.get("next"), f"/signals/{signal_id}")
    try:
        body = ReassignRequest(to_user_id=form.get("to_user_id", ""), reason=form.get("reason", "").strip())
        signal = await signal_service.reassign(session, client, signal_id, body, await user.principal.actor(session))
    except ValidationError:
        error = PillarError("invalid", "choose whom to hand it to, and say why (the new owner reads it)")
        return await refused(session, user, error, back, "reassign", form)
    except PillarError as error:
        return await refused(session, user, error, back, "reassign", form)
    return await done(session, user, f"Reassigned to {', '.join(signal.owners)}: they are paged and the SLA restarts.", back)


@router.post("/signals/{signal_id}/acknowledge", dependencies=[sees("signal", "signal_id", web_user)])
async def acknowledge(signal_id: str, request: Request, session: AsyncSessionDep, user: PageUser, client: TemporalDep) -> Response:
    form = await posted_form(request, user)
    back = safe_next(form.get("next"))
    try:
        result = await signal_service.acknowledge(session, client, signal_id, await user.principal.actor(session))
    except PillarError as error:
        return await refused(session, user, error, back, f"signal-{signal_id}")
    choices = len(result.task_candidates)
    return await done(session, user, f"Signal acknowledged: now choose its task ({choices} suggested).", back)


@router.post("/signals/{signal_id}/tasks", dependencies=[sees("signal", "signal_id", web_user)])
async def choose_task(signal_id: str, request: Request, session: AsyncSessionDep, user: PageUser, client: TemporalDep) -> Response:
    form = await posted_form(request, user)
    back = safe_next(form.get("next"))
    try:
        body = TaskIn(template_key=form.get("template_key", ""))
        task = await add_task(session, client, signal_id, body, await user.principal.actor(session))
    except ValidationError:
        return await refused(session, user, PillarError("invalid", "choose one of the suggested tasks"), back, f"signal-{signal_id}")
    except PillarError as error:
        return await refused(session, user, error, back, f"signal-{signal_id}")
    started = " and its play has started" if task.play_run_id else ""
    return await done(session, user, f"Task created: {task.title}{started}.", back)


@router.post("/tasks/{task_id}/outcome", dependencies=[sees("task", "task_id", web_user)])
async def task_outcome(task_id: str, request: Request, session: AsyncSessionDep, user: PageUser, client: TemporalDep) -> Response:
    actor = await user.principal.actor(session)
    return await _outcome(request, session, user, f"task-{task_id}",
                          lambda body: set_outcome(session, client, task_id, body, actor))


@router.post("/action-items/{item_id}/outcome")
async def action_item_outcome(item_id: str, request: Request, session: AsyncSessionDep, user: PageUser,
                              client: TemporalDep) -> Response:
    actor = await user.principal.actor(session)
    return await _outcome(request, session, user, f"action-{item_id}",
                          lambda body: action_items.set_outcome(session, client, item_id, body, actor))


async def _outcome(request: Request, session, user, form_id: str, record) -> Response:
    """A task's or an action item's outcome: the same rule (OutcomeIn) and the same refusals as the API."""
    form = await posted_form(request, user)
    back = safe_next(form.get("next"))
    try:
        body = OutcomeIn(outcome=form.get("outcome", ""), note=form.get("note") or None,
                         blocked_on=form.get("blocked_on") or None)
        done_item = await record(body)
    except ValidationError as error:
        message = "; ".join(e["msg"].removeprefix("Value error, ") for e in error.errors())
        return await refused(session, user, PillarError("invalid", message), back, form_id, form)
    except PillarError as error:
        return await refused(session, user, error, back, form_id, form)
    return await done(session, user, f"Outcome recorded: {done_item.title} — {done_item.outcome.value.replace('_', ' ')}.", back)

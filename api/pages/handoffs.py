"""Handoffs (seam 04) in the pages: the ones sent and received by status, a new one (the kind's required fields as
inputs), and one handoff with its fields (the missing ones marked), the actions open to the signed-in person, and its
audit trail. Every action runs the same workflow update as the API, whose validator has the last word."""

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session, select

from api.deps import AsyncSessionDep, SessionDep, TemporalDep
from api.pages.web import (
    PageUser, account_names, done, form_fields, invalid, names, posted_form, refused, render, render_page, safe_next,
    web_user,
)
from api.visibility import sees
from core.db import in_session
from core.errors import PillarError
from core.paging import PageRequest
from models.common import Actor, Role
from models.handoffs import (
    FINAL_STATUSES, OVERRIDE_ROLES, FieldsPatch, Handoff, HandoffAction, HandoffIn, HandoffSpec, HandoffStatus, ReasonBody,
)
from models.tables import User
from services.directory import actor_for, list_accounts
from services.handoffs import act_on, audit_trail, current_specs, get_handoff, list_handoffs, start_handoff
from services.visibility import check_account_in_body
from workflows.handoff import HandoffWorkflow

router = APIRouter(include_in_schema=False)
SHOWN = 100  # the newest handoffs listed; the sections above the list are the signed-in person's own
ACCOUNTS_SHOWN = 500


def handoffs_context(session: Session, user, status: HandoffStatus | None) -> dict:
    shown = list_handoffs(session, status, None, None, PageRequest(limit=SHOWN), viewer=user).items
    return {
        "handoffs": shown,
        "received": [h for h in shown if h.to_user_id == user.id and h.status == HandoffStatus.submitted],
        "to_finish": [h for h in shown if h.from_user_id == user.id and h.status == HandoffStatus.draft],
        "status": status.value if status else "",
        "statuses": [s.value for s in HandoffStatus],
        "names": names(session),
        "accounts": account_names(session, {h.account_id for h in shown}),
    }


@router.get("/handoffs")
def handoffs_page(request: Request, session: SessionDep, user: PageUser, status: str = "") -> Response:
    chosen = HandoffStatus(status) if status in HandoffStatus.__members__ else None
    return render(request, session, user, "handoffs.html", handoffs_context(session, user, chosen))


# --- a new handoff -------------------------------------------------------------------------------------------


def may_send(spec: HandoffSpec, actor: Actor) -> bool:
    """Whether to offer the kind: the actor holds a sender role, or manages people who may (the service decides
    per account when the form is sent)."""
    return actor.role == Role.admin or actor.role in spec.sender_roles or bool(actor.reports)


def new_context(session: Session, user, kind: str) -> dict:
    actor = actor_for(session, user.id, user.role.value)
    kinds = [s for s in current_specs(session).specs if may_send(s, actor)]
    spec = next((s for s in kinds if s.kind == kind), kinds[0] if kinds else None)
    receivers = []
    if spec is not None:
        roles = [r.value for r in spec.receiver_roles]
        receivers = session.exec(select(User).where(User.role.in_(roles), User.disabled_at.is_(None), User.id != user.id)
                                 .order_by(User.name)).all()
    return {"kinds": kinds, "spec": spec, "receivers": receivers,
            "accounts": list_accounts(session, PageRequest(limit=ACCOUNTS_SHOWN), viewer=user).items}


@router.get("/handoffs/new")
def new_handoff_page(request: Request, session: SessionDep, user: PageUser, kind: str = "", account_id: str = "") -> Response:
    return render(request, session, user, "handoff_new.html", {**new_context(session, user, kind), "account_id": account_id})


@router.post("/handoffs")
async def create_handoff(request: Request, session: AsyncSessionDep, user: PageUser, client: TemporalDep) -> Response:
    form = await posted_form(request, user)
    back = "/handoffs/new?" + urlencode({"kind": form.get("kind", "")})
    try:
        body = HandoffIn(kind=form.get("kind", ""), account_id=form.get("account_id", ""),
                         to_user_id=form.get("to_user_id", ""), fields=filled(form_fields(form)))
        await in_session(session, check_account_in_body, user, body.account_id)
        handoff = await start_handoff(session, client, body, user.id, user.role)
    except ValidationError:
        error = PillarError("invalid", "choose the kind, the account and the receiver")
        return await refused(session, user, error, back, "new-handoff", form)
    except PillarError as error:
        return await refused(session, user, error, back, "new-handoff", form)
    missing = f" {len(handoff.missing_fields)} required field(s) still to fill." if handoff.missing_fields else ""
    return await done(session, user, f"Draft handoff created.{missing}", f"/handoffs/{handoff.id}")


def filled(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v not in ("", None)}


# --- one handoff ---------------------------------------------------------------------------------------------


def as_text(value: Any) -> str:
    """A field's value as its input shows it: text as typed, anything else (a list, a map from the API) as JSON."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def allowed_actions(handoff: Handoff, actor: Actor) -> set[str]:
    """What the page offers the actor: the validators' own rules, so no button shown would be refused for who
    pressed it."""
    allowed = set()
    if actor.id == handoff.from_user_id and handoff.status == HandoffStatus.draft:
        allowed |= {"save", "submit"}
    if actor.id == handoff.to_user_id and handoff.status == HandoffStatus.submitted:
        allowed |= {"accept", "reject"}
    manages = actor.manages(handoff.from_user_id) or actor.manages(handoff.to_user_id)
    if actor.role in OVERRIDE_ROLES and (actor.role == Role.admin or manages) and handoff.status not in FINAL_STATUSES:
        allowed.add("override")
    return allowed


def handoff_context(session: Session, user, handoff: Handoff, audit: list) -> dict:
    actor = actor_for(session, user.id, user.role.value)
    extra = [k for k in handoff.fields if k not in handoff.required_fields]
    return {"handoff": handoff, "audit": audit, "allowed": allowed_actions(handoff, actor), "as_text": as_text,
            "field_names": [*handoff.required_fields, *extra], "names": names(session),
            "accounts": account_names(session, [handoff.account_id])}


@router.get("/handoffs/{handoff_id}", dependencies=[sees("handoff", "handoff_id", web_user)])
async def handoff_page(handoff_id: str, request: Request, session: AsyncSessionDep, user: PageUser,
                       client: TemporalDep) -> Response:
    handoff = await get_handoff(session, client, handoff_id)
    audit = await audit_trail(session, client, handoff_id)
    return await render_page(request, session, user, "handoff.html",
                             await in_session(session, handoff_context, user, handoff, audit))


async def _act(request: Request, session, user: PageUser, client, handoff_id: str, update, build, said: str) -> Response:
    """One action on the handoff: the form's CSRF token, its input (`build` may refuse it), the update, the page."""
    form = await posted_form(request, user)
    back = safe_next(form.get("next"), f"/handoffs/{handoff_id}")
    form_id = f"handoff-{update.__name__}"
    try:
        action = await build(form)
        if action is None:
            return await done(session, user, "Nothing changed: no field was edited.", back)
        handoff = await act_on(session, client, handoff_id, update, action)
    except ValidationError as error:
        return await refused(session, user, invalid(error), back, form_id, form)
    except PillarError as error:
        return await refused(session, user, error, back, form_id, form)
    return await done(session, user, said.format(status=handoff.status.value, receiver=handoff.to_user_id), back)


def _actor_action(session, user, **values):
    async def build(form: dict[str, str]) -> HandoffAction:
        return HandoffAction(actor=await user.principal.actor(session), **values)
    return build


def _reason_action(session, user, missing: str):
    async def build(form: dict[str, str]) -> HandoffAction:
        reason = form.get("reason", "").strip()
        if not reason:
            raise PillarError("invalid", missing)
        return HandoffAction(actor=await user.principal.actor(session), reason=ReasonBody(reason=reason).reason)
    return build


def _fields_action(session, client, user, handoff_id: str):
    """The fields edited on the page (only those whose text changed), as a patch; None when nothing changed."""
    async def build(form: dict[str, str]) -> HandoffAction | None:
        before = (await get_handoff(session, client, handoff_id)).fields
        changed = {k: v for k, v in form_fields(form).items() if as_text(v) != as_text(before.get(k))}
        if not changed:
            return None
        return HandoffAction(actor=await user.principal.actor(session), fields=FieldsPatch(fields=changed).fields)
    return build


@router.post("/handoffs/{handoff_id}/save", dependencies=[sees("handoff", "handoff_id", web_user)])
async def save(handoff_id: str, request: Request, session: AsyncSessionDep, user: PageUser, client: TemporalDep) -> Response:
    return await _act(request, session, user, client, handoff_id, HandoffWorkflow.patch,
                      _fields_action(session, client, user, handoff_id), "Fields saved.")


@router.post("/handoffs/{handoff_id}/submit", dependencies=[sees("handoff", "handoff_id", web_user)])
async def submit(handoff_id: str, request: Request, session: AsyncSessionDep, user: PageUser, client: TemporalDep) -> Response:
    """Saves what was edited in the same form first (a draft keeps it even when the gate then refuses)."""
    edits = _fields_action(session, client, user, handoff_id)

    async def build(form: dict[str, str]) -> HandoffAction:
        patch = await edits(form)
        if patch is not None:
            await act_on(session, client, handoff_id, HandoffWorkflow.patch, patch)
        return HandoffAction(actor=await user.principal.actor(session))
    return await _act(request, session, user, client, handoff_id, HandoffWorkflow.submit, build,
                      "Submitted: {receiver} is asked to accept it.")


@router.post("/handoffs/{handoff_id}/accept", dependencies=[sees("handoff", "handoff_id", web_user)])
async def accept(handoff_id: str, request: Request, session: AsyncSessionDep, user: PageUser, client: TemporalDep) -> Response:
    return await _act(request, session, user, client, handoff_id, HandoffWorkflow.accept, _actor_action(session, user),
                      "Handoff accepted: the work is yours now.")


@router.post("/handoffs/{handoff_id}/reject", dependencies=[sees("handoff", "handoff_id", web_user)])
async def reject(handoff_id: str, request: Request, session: AsyncSessionDep, user: PageUser, client: TemporalDep) -> Response:
    return await _act(request, session, user, client, handoff_id, HandoffWorkflow.reject,
                      _reason_action(session, user, "say why you send it back: the sender reads it"),
                      "Sent back to the sender as a draft, with your reason.")


@router.post("/handoffs/{handoff_id}/override", dependencies=[sees("handoff", "handoff_id", web_user)])
async def override(handoff_id: str, request: Request, session: AsyncSessionDep, user: PageUser,
                   client: TemporalDep) -> Response:
    return await _act(request, session, user, client, handoff_id, HandoffWorkflow.override,
                      _reason_action(session, user, "say why you override the gate: it goes on the record"),
                      "Overridden: the handoff is complete, and a governance-violation signal has fired for the account.")


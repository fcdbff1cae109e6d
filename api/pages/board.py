"""The play board (every running play by where it is stuck, overdue first) and a play run's page: its steps as a
dependency graph, who owns what since when, and its timeline."""

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import select

from api.deps import AsyncSessionDep, SessionDep, TemporalDep
from api.pages.svg import dependency_graph
from api.pages.web import (
    OpsPageUser, PageUser, account_names, done, form_fields, invalid, names, posted_form, refused, render,
    render_page, safe_next, web_user,
)
from api.visibility import sees
from core.db import in_session
from core.errors import PillarError
from models.plays import ExitInput, PlayRun, StepCompleteInput, StepRetryRequest
from models.tables import Account
from plays import load_library
from services.plays import board, get_play_run, retry_step, update_run
from workflows.play import PlayWorkflow

router = APIRouter(include_in_schema=False)
SHOWN = 100  # rows drawn (the most urgent); the counts above the table cover every run


def board_context(session, user, play: str | None, owner: str | None, motion: str | None) -> dict:
    found = board(session, play_key=play or None, owner_id=owner or None, motion=motion or None, shown=SHOWN, viewer=user)
    shown = {r.account_id for r in found.runs}  # the accounts of the runs shown, not the whole book
    accounts = {a.id: a for a in session.exec(select(Account).where(Account.id.in_(shown)))} if shown else {}
    motions = session.exec(select(Account.motion).where(Account.motion.is_not(None)).distinct()).all()
    return {
        "runs": found.runs,
        "total": found.total,
        "at_step": found.at_step,
        "overdue": found.overdue,
        "failed": found.failed,
        "library": load_library(),
        "accounts": accounts,
        "names": names(session),
        "motions": sorted(m for m in motions if m),
        "filters": {"play": play or "", "owner": owner or "", "motion": motion or ""},
    }


@router.get("/board")
def board_page(request: Request, session: SessionDep, user: PageUser, play: str | None = None, owner: str | None = None,
               motion: str | None = None) -> Response:
    return render(request, session, user, "board.html", board_context(session, user, play, owner, motion))


@router.get("/board/live")
def board_live(request: Request, session: SessionDep, user: PageUser, play: str | None = None, owner: str | None = None,
               motion: str | None = None) -> Response:
    return render(request, session, user, "_board.html", board_context(session, user, play, owner, motion), take=False)


def run_context(session, run: PlayRun) -> dict:
    people = names(session)
    library = load_library()
    play = library.get(run.play_key)
    return {
        "run": run,
        "play": play if play and play.version == run.play_version else None,
        "play_name": play.name if play else run.play_key,
        "graph": dependency_graph(run.steps, people, datetime.now(UTC)),
        "names": people,
        "accounts": account_names(session, [run.account_id]),
    }


@router.get("/runs/{run_id}", dependencies=[sees("play_run", "run_id", web_user)])
async def run_page(run_id: str, request: Request, session: AsyncSessionDep, user: PageUser, client: TemporalDep) -> Response:
    run = await get_play_run(session, client, run_id)
    context = await in_session(session, run_context, run)
    reports = (await user.principal.actor(session)).reports  # whose steps the viewer may nudge
    return await render_page(request, session, user, "run.html", {**context, "reports": reports})


@router.post("/runs/{run_id}/steps/{step_key}/complete", dependencies=[sees("play_run", "run_id", web_user)])
async def complete_step(run_id: str, step_key: str, request: Request, session: AsyncSessionDep, user: PageUser,
                        client: TemporalDep) -> Response:
    form = await posted_form(request, user)
    back = safe_next(form.get("next"), f"/runs/{run_id}")
    form_id = f"step-{run_id}-{step_key}"
    request_ = StepCompleteInput(step_key=step_key, actor=await user.principal.actor(session), fields=form_fields(form))
    try:
        run = await update_run(session, client, run_id, PlayWorkflow.complete_step, request_)
    except PillarError as error:
        return await refused(session, user, error, back, form_id, form)
    step = next((s for s in run.steps if s.key == step_key), None)
    opened = [s.title for s in run.steps if s.status == "ready" and s.ready_at and step and s.ready_at >= step.completed_at]
    more = f" Now ready: {'; '.join(opened)}." if opened else ""
    return await done(session, user, f"Step done: {step.title if step else step_key}.{more}", back)


@router.post("/runs/{run_id}/exit", dependencies=[sees("play_run", "run_id", web_user)])
async def exit_run(run_id: str, request: Request, session: AsyncSessionDep, user: PageUser, client: TemporalDep) -> Response:
    form = await posted_form(request, user)
    back = safe_next(form.get("next"), f"/runs/{run_id}")
    outcome = form.get("outcome", "").strip()
    if not outcome:
        return await refused(session, user, PillarError("invalid", "choose the outcome the play ended with"), back, "exit", form)
    try:
        request_ = ExitInput(outcome=outcome, note=form.get("note") or None, actor=await user.principal.actor(session))
        await update_run(session, client, run_id, PlayWorkflow.exit, request_)
    except ValidationError as error:
        return await refused(session, user, invalid(error), back, "exit", form)
    except PillarError as error:
        return await refused(session, user, error, back, "exit", form)
    return await done(session, user, f"Play ended: {outcome.replace('_', ' ')}.", back)


@router.post("/runs/{run_id}/steps/{step_key}/retry", dependencies=[sees("play_run", "run_id", web_user)])
async def retry(run_id: str, step_key: str, request: Request, session: AsyncSessionDep, user: OpsPageUser,
                client: TemporalDep) -> Response:
    """Ops runs a failed step's action again (the service audits it); the page says whether it went through."""
    form = await posted_form(request, user)
    back = safe_next(form.get("next"), f"/runs/{run_id}")
    form_id = f"retry-{run_id}-{step_key}"
    try:
        body = StepRetryRequest(reason=form.get("reason", "").strip() or None)
        run = await retry_step(session, client, run_id, step_key, await user.principal.actor(session), body)
    except ValidationError:
        return await refused(session, user, PillarError("invalid", "keep the reason under 2000 characters"), back, form_id, form)
    except PillarError as error:
        return await refused(session, user, error, back, form_id, form)
    step = next(s for s in run.steps if s.key == step_key)
    if step.status == "failed":
        why = step.failure.message if step.failure else "no reason recorded"
        return await refused(session, user, PillarError("conflict", f"Retried {step.title}: it failed again ({why})."),
                       back, form_id)
    return await done(session, user, f"Retried {step.title}: it went through and the play goes on.", back)

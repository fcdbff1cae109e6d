"""A leader's dashboard: the book at a glance as server-drawn charts, each with its figures in a table and as CSV;
and the nudge a manager sends from a stuck play's page to the step's owner."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.deps import AsyncSessionDep, PathId, SessionDep, TemporalDep
from api.pages.svg import bar_chart, percent_lines
from api.pages.web import (
    SECURITY_HEADERS, PageUser, WebUser, done, names, page_roles, posted_form, refused, render, safe_next, web_user,
)
from api.visibility import sees
from core.db import in_session
from core.errors import PillarError
from models.common import Role
from models.plays import StepNudgeInput
from services.dashboard import CHARTS, COMPLETION_TARGET, SLA_STATES, Table, dashboard, table
from services.plays import update_run
from workflows.play import PlayWorkflow

router = APIRouter(include_in_schema=False)
LEADERS = (Role.manager, Role.vp, Role.cro, Role.revops)
LeaderPageUser = Annotated[WebUser, Depends(page_roles(*LEADERS))]
TIERS = ("critical", "high", "medium", "low")


def _money(value: float) -> str:
    return f"${value / 1000:,.0f}K" if value >= 1000 else f"${value:,.0f}"


def _hours(value: float) -> str:
    if value < 1:
        return f"{value * 60:.0f} min" if value >= 1 / 60 else f"{value * 3600:.2g} s"
    return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} d"


def _arr(t: Table):
    motions = list(dict.fromkeys(r[0] for r in t.rows))
    tiers = [tier for tier in TIERS if any(r[1] == tier for r in t.rows)]
    values = [[sum(r[2] for r in t.rows if r[0] == m and r[1] == tier) for tier in tiers] for m in motions]
    return bar_chart(motions, values, tiers, "ARR at risk (US$)", _money, stacked=True)


def _sla(t: Table):
    return bar_chart([r[0] for r in t.rows], [[r[1]] for r in t.rows], ["signals"], "signals waiting on an acknowledgement",
                     whole=True)


def _response(t: Table):
    notes = [f"{r[4]:g}% in SLA" if r[4] is not None else "none judged" for r in t.rows]
    return bar_chart([str(r[0]).replace("_", " ") for r in t.rows], [[r[2], r[3]] for r in t.rows], ["median", "p90"],
                     "time to acknowledge", _hours, notes=notes)


def _completion(t: Table):
    weeks = list(dict.fromkeys(r[1] for r in t.rows))
    series: dict[str, list] = {}
    for ritual, week, rate in t.rows:
        series.setdefault(ritual, [None] * len(weeks))[weeks.index(week)] = rate
    labels = [date.fromisoformat(w).strftime("%b %d") for w in weeks]
    return percent_lines(labels, series, COMPLETION_TARGET, "action items done on time, by week of the meeting")


def _stuck(t: Table):
    labels = [f"{r[1].replace('_', ' ')} · {r[3]}" for r in t.rows]
    return bar_chart(labels, [[r[4]] for r in t.rows], ["runs"], "running plays stuck at the step", whole=True)


def _assessment(t: Table):
    return bar_chart([r[0] for r in t.rows], [[r[1]] for r in t.rows], ["no"], "questions answered no", whole=True,
                     notes=[f"{r[1]} of {r[2]} no" for r in t.rows])


DRAW = {"arr_at_risk": _arr, "sla_states": _sla, "response_by_family": _response, "response_by_team": _response,
        "completion": _completion, "stuck_plays": _stuck, "assessment": _assessment}


@router.get("/dashboard")
def dashboard_page(request: Request, session: SessionDep, user: LeaderPageUser) -> Response:
    people = names(session)
    tables = dashboard(session, user, people)
    charts = {key: (t, DRAW[key](t) if t.rows else None) for key, t in tables.items()}
    return render(request, session, user, "dashboard.html",
                  {"charts": charts, "target": COMPLETION_TARGET, "sla_states": SLA_STATES})


@router.get("/dashboard/{chart}.csv")
def dashboard_csv(chart: PathId, session: SessionDep, user: LeaderPageUser) -> Response:
    if chart not in CHARTS:
        raise PillarError("not_found", f"no chart {chart!r}; the charts are: {', '.join(CHARTS)}")
    found = table(session, chart, user, names(session))
    return Response(found.csv(), media_type="text/csv", headers={
        **SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{chart}.csv"'})


@router.post("/runs/{run_id}/steps/{step_key}/nudge", dependencies=[sees("play_run", "run_id", web_user)])
async def nudge(run_id: str, step_key: str, request: Request, session: AsyncSessionDep, user: PageUser,
                client: TemporalDep) -> Response:
    form = await posted_form(request, user)
    back = safe_next(form.get("next"), f"/runs/{run_id}")
    form_id = f"nudge-{run_id}-{step_key}"
    try:
        request_ = StepNudgeInput(step_key=step_key, actor=await user.principal.actor(session),
                                  actor_name=user.principal.name, note=form.get("note", "").strip() or None)
        run = await update_run(session, client, run_id, PlayWorkflow.nudge_step, request_)
    except ValidationError:
        return await refused(session, user, PillarError("invalid", "keep the note under 500 characters"), back, form_id, form)
    except PillarError as error:
        return await refused(session, user, error, back, form_id, form)
    step = next(s for s in run.steps if s.key == step_key)
    owner = (await in_session(session, names)).get(step.owner_id, step.owner_id)
    return await done(session, user, f"Nudged {owner} about {step.title}: they have it in their inbox.", back)

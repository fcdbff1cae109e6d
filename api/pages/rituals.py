"""Rituals: the week's cadence with each motion's next meeting and its latest printable agenda, recent agendas,
and the Phase-2 assessment. The agenda page is the rituals' own printable template, behind the page sign-in."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.agenda_html import agenda_html
from api.deps import SessionDep
from api.pages.web import SECURITY_HEADERS, PageUser, render
from core.paging import PageRequest
from services.agendas import list_agendas
from services.assessment import assess
from services.rituals import rituals_view

router = APIRouter(include_in_schema=False)
PRINTABLE_HEADERS = {k: v for k, v in SECURITY_HEADERS.items() if k != "Content-Security-Policy"}


@router.get("/rituals")
def rituals_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    return render(request, session, user, "rituals.html",
                  {"view": rituals_view(session), "agendas": list_agendas(session, page=PageRequest(limit=15)).items})


@router.get("/agendas/{agenda_id}")
def agenda_page(agenda_id: str, session: SessionDep, user: PageUser) -> Response:
    """The printable agenda (self-contained: its own print stylesheet, no site header)."""
    return HTMLResponse(agenda_html(session, agenda_id), headers=PRINTABLE_HEADERS)


@router.get("/assessment")
def assessment_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    return render(request, session, user, "assessment.html", {"assessment": assess(session)})

"""The printable agenda: one self-contained HTML page (Jinja2, print CSS), times in the ritual's time zone."""

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import Session, select

from models.rituals import Agenda
from models.tables import Account, User
from services.agendas import get_agenda
from services.decisions import decision_rows
from services.financials import dollars

TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["dollars"] = dollars
    return env


def render_agenda(agenda: Agenda, names: dict[str, str], accounts: dict[str, str]) -> str:
    zone = ZoneInfo(agenda.timezone)

    def local(value: datetime | None, fmt: str = "%a %d %b %Y, %H:%M") -> str:
        return value.astimezone(zone).strftime(fmt) if value else "—"

    def who(user_ids) -> str:
        return ", ".join(names.get(u, u) for u in user_ids) or "—"

    return _environment().get_template("agenda.html").render(agenda=agenda, local=local, who=who, names=names,
                                                             accounts=accounts, decidable=decision_rows(agenda))


def agenda_html(session: Session, agenda_id: str) -> str:
    """The agenda's printable page, with the decisions recorded so far (404 as a PillarError when there is no such agenda)."""
    agenda = get_agenda(session, agenda_id)
    names = {u.id: u.name for u in session.exec(select(User))}
    accounts = {a.id: a.name for a in session.exec(select(Account))}
    return render_agenda(agenda, names, accounts)

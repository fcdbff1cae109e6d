"""What every page shares: the signed-in user from the session cookie, templates, CSRF-checked forms, and the
flash message an action leaves for the next page."""

import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import AsyncSessionDep, Principal, check_roles, cookie_principal
from api.pages import format as fmt
from core.db import get_async_engine, in_session
from core.errors import PillarError
from core.settings import get_settings
from models.common import Role
from models.tables import Account, User, WebSessionRow
from services.scoring import signed_points
from services.web_sessions import set_flash, take_flash

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
REFRESH_SECONDS = 5
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
OPS_ROLES = (Role.ops,)

env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True, trim_blocks=True,
                         lstrip_blocks=True)
env.filters.update(money=fmt.money, words=fmt.words, label=fmt.label, sentence=fmt.sentence, clock=fmt.clock,
                   span=fmt.span, whole=fmt.whole, plain=fmt.plain, evidence=fmt.evidence, humane=fmt.humane,
                   points=signed_points)
env.globals.update(field_input=fmt.field_input)


class SignInRequired(Exception):
    """No valid session: pages send the browser to the sign-in page, live fragments answer 401."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


@dataclass
class WebUser:
    principal: Principal
    web_session: WebSessionRow

    @property
    def id(self) -> str:
        return self.principal.id

    @property
    def role(self) -> Role:
        return self.principal.role

    @property
    def is_ops(self) -> bool:
        return self.principal.role in (Role.ops, Role.admin)


async def web_user(request: Request, session: AsyncSessionDep) -> WebUser:
    found = await in_session(session, lambda s: cookie_principal(request, s))
    if found is None:
        raise SignInRequired(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return WebUser(*found)


PageUser = Annotated[WebUser, Depends(web_user)]


def page_roles(*roles: Role):
    """Like the API's require_roles: a 403 page for anyone else (admin always passes)."""

    async def check(user: PageUser) -> WebUser:
        check_roles(user.principal, roles, "this page")
        return user

    return check


OpsPageUser = Annotated[WebUser, Depends(page_roles(*OPS_ROLES))]


def safe_next(url: str | None, default: str = "/inbox") -> str:
    """Only a path on this site (never `//elsewhere` or `https://…`): no open redirect."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return default


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else url.lower()


def from_this_site(request: Request) -> bool:
    """Whether a form post (the sign-in's, which has no session and so no CSRF token yet) comes from one of our own
    pages, by the headers browsers set on every form post and pages cannot forge: Sec-Fetch-Site, Origin ("null"
    from a sandboxed or privacy-stripped page), else Referer. A client that sends none of them is not a browser
    acting for someone else."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    source = request.headers.get("origin") or request.headers.get("referer")
    ours = {_origin(str(request.base_url)), _origin(get_settings().public_url)}
    return source is None or _origin(source) in ours


def sign_in_url(next_url: str) -> str:
    return "/sign-in?next=" + quote(next_url, safe="/")


def names(session: Session) -> dict[str, str]:
    """Everyone's display name by id, for owners, actors and receivers."""
    found = {u.id: u.name for u in session.exec(select(User))}
    found.setdefault("admin", "Administrator")
    return found


def account_names(session: Session, ids: Iterable[str]) -> dict[str, str]:
    """The names of the accounts a page shows, by id (never the whole book's)."""
    wanted = set(ids)
    return dict(session.exec(select(Account.id, Account.name).where(Account.id.in_(wanted))).all()) if wanted else {}


def _context(request: Request, user: WebUser | None, context: dict[str, Any]) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "request": request,
        "user": user,
        "now": now,
        "csrf": user.web_session.csrf_token if user else "",
        "countdown": lambda due: fmt.countdown(due, now),
        "ago": lambda at: fmt.ago(at, now),
        "overdue": lambda due: fmt.is_overdue(due, now),
        "refresh_seconds": REFRESH_SECONDS,
        "flash": None,
        **context,
    }


def render(request: Request, session: Session | None, user: WebUser | None, name: str, context: dict[str, Any],
           status: int = 200, take: bool = True) -> HTMLResponse:
    """A page (or, with `take=False`, a live fragment that leaves the flash message for the page)."""
    values = _context(request, user, context)
    if user is not None and session is not None and take and "flash" not in context:
        values["flash"] = take_flash(session, user.web_session)
    html = env.get_template(name).render(values)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


async def render_page(request: Request, session: AsyncSession, user: WebUser, name: str, context: dict[str, Any],
                      status: int = 200) -> HTMLResponse:
    """`render` for async pages: the flash message is taken through the async session."""
    flash = await in_session(session, take_flash, user.web_session)
    return render(request, None, user, name, {"flash": flash, **context}, status)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


async def posted_form(request: Request, user: WebUser) -> dict[str, str]:
    """The form's fields, once its CSRF token matches the session's (SameSite=Lax already stops cross-site
    posts in current browsers; the token also covers older ones)."""
    form = await request.form()
    token = str(form.get("csrf", ""))
    if not hmac.compare_digest(token.encode(), user.web_session.csrf_token.encode()):
        raise PillarError("forbidden", "this form has expired (or came from another site): reload the page and try again")
    return {key: str(value) for key, value in form.multi_items()}


async def done(session: AsyncSession, user: WebUser, message: str, to: str) -> RedirectResponse:
    await in_session(session, set_flash, user.web_session, {"kind": "ok", "message": message})
    return redirect(to)


async def refused(session: AsyncSession, user: WebUser, error: PillarError, to: str, form_id: str | None = None,
            values: dict[str, str] | None = None) -> RedirectResponse:
    """Back to the page with the refusal in words; the form that was refused keeps what was typed into it."""
    kept = {k: v for k, v in (values or {}).items() if k not in ("csrf", "next")}
    flash = {"kind": "error", "message": error.message, "code": error.code, "form": form_id, "values": kept}
    if isinstance(error.details, dict) and error.details.get("missing_fields"):
        flash["missing"] = error.details["missing_fields"]
    await in_session(session, set_flash, user.web_session, flash)
    return redirect(to)


def invalid(error: ValidationError) -> PillarError:
    """A form's input the models refused, in words: each field with what is wrong with it."""
    said = [f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}" if e["loc"] else
            e["msg"].removeprefix("Value error, ") for e in error.errors()]
    return PillarError("invalid", "; ".join(said))


async def error_page(request: Request, status: int, code: str, message: str, details: Any = None) -> Response:
    """The HTML answer to a page request that fails (404, 403, 409 …), in place of the API's JSON body; the
    header still shows who is signed in."""
    titles = {401: "Please sign in", 403: "Not allowed", 404: "Not found", 409: "Not possible now",
              422: "Not accepted", 503: "Unavailable"}
    found = None
    if status != 503:  # when the database is what failed, do not wait on it a second time
        try:
            async with AsyncSession(get_async_engine(), expire_on_commit=False) as session:
                found = await in_session(session, lambda s: cookie_principal(request, s))
        except Exception:  # noqa: BLE001  (the page still answers, without the signed-in header)
            found = None
    user = WebUser(*found) if found else None
    return render(request, None, user, "error.html",
                  {"status": status, "code": code, "title": titles.get(status, "Something went wrong"),
                   "message": message, "details": details}, status=status)


def form_fields(form: dict[str, str]) -> dict:
    """A step's output fields, or a handoff's context fields, from `field.<name>` inputs; numbers typed into number
    inputs stay numbers."""
    fields: dict = {}
    for key, value in form.items():
        if not key.startswith("field."):
            continue
        name, value = key.removeprefix("field."), value.strip()
        if value and fmt.field_input(name) == "number":
            try:
                number = float(value)
                value = int(number) if number.is_integer() else number
            except ValueError:
                pass
        fields[name] = value
    return fields

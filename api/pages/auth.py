"""Signing in with a token (a session cookie, HttpOnly and SameSite=Lax) and signing out. A sign-in posted from
another site is refused (login CSRF), by the browser's own Origin / Fetch-Metadata headers."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import AsyncSessionDep, SESSION_COOKIE, SessionDep, cookie_principal, principal_for_token
from api.pages.web import WebUser, from_this_site, posted_form, redirect, render, safe_next
from core.db import in_session
from core.security import hash_token
from core.settings import get_settings
from services.web_sessions import SESSION_LIFETIME, close_session, open_session

router = APIRouter(include_in_schema=False)


def secure_cookie(request: Request) -> bool:
    """Secure whenever people reach the pages over https (PUBLIC_URL), whatever the scheme of the hop from a proxy
    that ends TLS in front of the API."""
    return get_settings().public_url.lower().startswith("https://") or request.url.scheme == "https"


@router.get("/")
def home(request: Request, session: SessionDep) -> Response:
    return redirect("/inbox" if cookie_principal(request, session) else "/sign-in")


@router.get("/sign-in")
def sign_in_page(request: Request, session: SessionDep, next: str | None = None, signed_out: bool = False) -> Response:
    if cookie_principal(request, session):
        return redirect(safe_next(next))
    return render(request, session, None, "sign_in.html", {"next": safe_next(next), "signed_out": signed_out, "error": None})


@router.post("/sign-in")
async def sign_in(request: Request, session: AsyncSessionDep) -> Response:
    form = await request.form()
    token, next_url = str(form.get("token", "")).strip(), safe_next(str(form.get("next", "")))
    if not from_this_site(request):  # login CSRF: another site signing this browser in as someone else
        message = "This sign-in came from another site, so it was refused. Sign in here instead."
        return render(request, None, None, "sign_in.html",
                      {"next": next_url, "signed_out": False, "error": message}, status=403)
    principal = await in_session(session, principal_for_token, token)
    if principal is None:
        message = "That token is not known, or has been replaced. Paste the whole token, exactly as it was given."
        if not token:
            message = "Paste your token to sign in."
        return render(request, None, None, "sign_in.html",
                      {"next": next_url, "signed_out": False, "error": message}, status=401)
    cookie = await in_session(session, open_session, principal.id, hash_token(token))
    response = redirect(next_url)
    response.set_cookie(SESSION_COOKIE, cookie, max_age=int(SESSION_LIFETIME.total_seconds()), path="/",
                        httponly=True, samesite="lax", secure=secure_cookie(request))
    return response


@router.post("/sign-out")
async def sign_out(request: Request, session: AsyncSessionDep) -> Response:
    found = await in_session(session, lambda s: cookie_principal(request, s))
    if found is not None:
        await posted_form(request, WebUser(*found))
        await in_session(session, close_session, request.cookies.get(SESSION_COOKIE))
    response = redirect("/sign-in?signed_out=true")
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure_cookie(request))
    return response

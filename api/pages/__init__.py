"""The pages people work in, served by the same app as the API and calling the same services.

`install(app)` adds the pages, their static files, the sign-in redirect and the HTML error pages."""

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from api.pages import accounts, admin, auth, board, config, dashboard, handoffs, inbox, inventory, ops, proposals, rituals
from api.pages.web import SignInRequired, error_page, redirect, sign_in_url

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (auth, inbox, board, accounts, rituals, proposals, config, ops, inventory, handoffs, admin, dashboard):
        app.include_router(module.router)
    app.state.html_error = error_page

    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, error: SignInRequired) -> Response:
        if request.headers.get("X-Pillar-Live"):
            return JSONResponse({"error": {"code": "unauthorized", "message": "signed out"}}, status_code=401)
        return redirect(sign_in_url(error.next_url))

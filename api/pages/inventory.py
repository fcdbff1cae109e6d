"""The inventory page (revops): paste or upload what a team tracks today and read, before routing goes live, how much
of it has no defined owner and what routing would do with it."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from api.deps import AsyncSessionDep
from api.pages.web import WebUser, page_roles, posted_form, render_page
from core.db import in_session_threaded
from core.errors import PillarError
from models.common import Role
from models.inventory import COLUMNS, MAX_CSV_CHARS, InventoryIn
from services import inventory

router = APIRouter(include_in_schema=False)
RevopsPageUser = Annotated[WebUser, Depends(page_roles(Role.revops))]


@router.get("/inventory")
async def inventory_page(request: Request, session: AsyncSessionDep, user: RevopsPageUser) -> Response:
    return await render_page(request, session, user, "inventory.html", {"columns": COLUMNS, "report": None})


@router.post("/inventory")
async def read_inventory(request: Request, session: AsyncSessionDep, user: RevopsPageUser) -> Response:
    form = await posted_form(request, user)
    text, report, error = form.get("csv", ""), None, None
    upload = (await request.form()).get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        text = (await upload.read(MAX_CSV_CHARS + 1)).decode("utf-8-sig", errors="replace")
    try:
        report = await in_session_threaded(session, inventory.analyze, InventoryIn(csv=text).csv)
    except ValidationError:
        error = f"paste a CSV or choose a file (at most {MAX_CSV_CHARS:,} characters)"
    except PillarError as refusal:
        error = refusal.message
    return await render_page(request, session, user, "inventory.html", {
        "columns": COLUMNS, "report": report, "error": error, "typed": text if len(text) < 20_000 else ""},
        status=200 if report else 422)

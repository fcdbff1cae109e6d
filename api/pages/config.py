"""Versioned config in the pages: the list of configs, each one's version in force as a form (revops and admin
save, everyone else reads), its versions, and what each version changed from the one before it.

Saving goes through the same model validation and the same write as the API's PUT; a refusal comes back to the
form with each message next to its field and everything typed kept."""

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.deps import AsyncSessionDep, MAX_VERSION, TemporalDep, check_roles
from api.pages.config_forms import (FORMS, MAX_ROWS, MAX_SUBROWS, ConfigForm, FormRefused, body_in_force, describe, field_errors,
                                    form_values, leaves, parse_form, row_count)
from api.pages.web import PageUser, WebUser, done, names, posted_form, redirect, render_page
from core import config_store
from core.db import in_session
from core.errors import PillarError
from models.common import Role
from models.rituals import RitualsConfig
from services import config_views, rituals
from services.web_sessions import set_flash, take_flash

router = APIRouter(include_in_schema=False)
EDITORS = (Role.revops,)


def _form(slug: str) -> ConfigForm:
    form = FORMS.get(slug)
    if form is None:
        raise PillarError("not_found", f"no config called {slug!r}")
    return form


def _edits(user: WebUser) -> bool:
    return user.role in (Role.admin, *EDITORS)


def _shown(form: ConfigForm, body: dict, user: WebUser) -> dict:
    """A ritual's webhook URL often carries its secret: only revops and admin see it whole (as in the API)."""
    if form.store_key != rituals.RITUALS or _edits(user) or not body:
        return body
    redacted = rituals.redact_webhooks(RitualsConfig.model_validate({**body, "version": 0}))
    return redacted.model_dump(mode="json", exclude={"version", "created_at", "created_by"})


def _overview(session) -> list[dict]:
    rows = []
    for form in FORMS.values():
        row = config_store.latest(session, form.store_key)
        rows.append({"form": form, "version": row.version if row else None, "created_at": row.created_at if row else None,
                     "created_by": row.created_by if row else None})
    return rows


@router.get("/config")
async def config_list(request: Request, session: AsyncSessionDep, user: PageUser) -> Response:
    configs = await in_session(session, _overview)
    return await render_page(request, session, user, "config.html", {
        "configs": configs, "names": await in_session(session, names), "edits": _edits(user)})


@router.get("/config/{slug}")
async def config_form(slug: str, request: Request, session: AsyncSessionDep, user: PageUser) -> Response:
    form = _form(slug)
    version, body = await in_session(session, body_in_force, form)
    body = _shown(form, body, user)
    flash = await in_session(session, take_flash, user.web_session)
    kept = flash if flash and flash.get("form") == f"config-{slug}" and "values" in flash else None
    return await render_page(request, session, user, "config_form.html", {
        "form": form, "version": version, "leaves": leaves(form, body), "edits": _edits(user), "flash": flash,
        "values": kept["values"] if kept else form_values(form, body), "errors": kept["errors"] if kept else {},
        "max_rows": MAX_ROWS, "max_subrows": MAX_SUBROWS})


@router.post("/config/{slug}")
async def save_config(slug: str, request: Request, session: AsyncSessionDep, user: PageUser, client: TemporalDep) -> Response:
    form = _form(slug)
    values = await posted_form(request, user)
    check_roles(user.principal, EDITORS, "saving config")
    kept = {k: v for k, v in values.items() if k not in ("csrf", "add", "version")}
    back = f"/config/{slug}"
    if values.get("add"):  # another blank row in a table or a ladder, nothing saved
        kept[f"{values['add']}.count"] = str(row_count(kept, values["add"]) + 1)
        return await _keep(session, user, form, kept, {}, "A blank row was added: fill it in, then save.", "ok", back)
    version, body_now = await in_session(session, body_in_force, form)
    if values.get("version") != str(version):
        return await _keep(session, user, form, kept, {}, f"Not saved: version {version} was saved meanwhile. What you "
                           "typed is below; check it against the version in force, then save again.", "error", back)
    try:
        body, origins = parse_form(form, values, body_now)
        model = form.model_in.model_validate(body)
    except FormRefused as refusal:
        return await _keep(session, user, form, kept, refusal.errors, _summary(form, refusal.errors), "error", back)
    except ValidationError as error:
        errors = field_errors(form, error, origins)
        return await _keep(session, user, form, kept, errors, _summary(form, errors), "error", back)
    try:
        written, note = await _write(session, client, form, model, user.id)
    except PillarError as error:  # a ritual's webhook to an address Pillar does not post to
        return await _keep(session, user, form, kept, {}, f"Not saved: {error.message}", "error", back)
    return await done(session, user, f"{form.title} version {written} saved: the diff is below.{note}",
                      f"/config/{slug}/versions/{written}")


async def _write(session, client, form: ConfigForm, model, editor_id: str) -> tuple[int, str]:
    if form.kind is None:
        written = await rituals.write_rituals_config(session, client, model, editor_id)
        unsynced = written.schedules_error
        return written.version, f" {unsynced}: the worker brings the schedules in line when it next starts." if unsynced else ""
    return (await in_session(session, config_views.write_config, form.kind, model, editor_id)).version, ""


def _summary(form: ConfigForm, errors: dict[str, str]) -> str:
    first, message = next(iter(errors.items()))
    more = f" (and {len(errors) - 1} more, shown next to their fields)" if len(errors) > 1 else ""
    return f"Not saved: {describe(form, first)}: {message}{more}"


async def _keep(session, user: WebUser, form: ConfigForm, kept: dict, errors: dict, message: str, kind: str, back: str) -> Response:
    flash = {"kind": kind, "message": message, "form": f"config-{form.slug}", "values": kept, "errors": errors}
    await in_session(session, set_flash, user.web_session, flash)
    return redirect(back)


def _versions(session, form: ConfigForm):
    return config_views.versions(session, form.store_key)


@router.get("/config/{slug}/versions")
async def config_versions(slug: str, request: Request, session: AsyncSessionDep, user: PageUser) -> Response:
    form = _form(slug)
    found = await in_session(session, _versions, form)
    return await render_page(request, session, user, "config_versions.html", {
        "form": form, "versions": found, "names": await in_session(session, names)})


def _two_versions(session, form: ConfigForm, version: int):
    row = config_store.get(session, form.store_key, version)
    if row is None:
        raise PillarError("not_found", f"no {form.title.lower()} version {version}")
    before = config_store.get(session, form.store_key, version - 1) if version > 1 else None
    return row, before


@router.get("/config/{slug}/versions/{version}")
async def config_version(slug: str, version: int, request: Request, session: AsyncSessionDep, user: PageUser) -> Response:
    form = _form(slug)
    if not 1 <= version <= MAX_VERSION:
        raise PillarError("not_found", f"no {form.title.lower()} version {version}")
    row, before = await in_session(session, _two_versions, form, version)
    changes = config_views.config_diff(_shown(form, before.body, user) if before else None, _shown(form, row.body, user))
    return await render_page(request, session, user, "config_version.html", {
        "form": form, "row": row, "previous": before.version if before else None, "changes": changes,
        "names": await in_session(session, names)})

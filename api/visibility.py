"""Per-account visibility on routes (services/visibility.py has the rule): `sees(kind, param)` is a dependency that
answers 404, exactly as for a missing id, when the path's signal, run, handoff, task or account lies outside what
the caller may see. It runs before the route's body is read, so an unseen id never gets as far as a 422."""

from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request
from temporalio.service import RPCError, RPCStatusCode

from api.deps import AsyncSessionDep, current_principal, temporal_client
from core.db import in_session
from core.errors import PillarError
from core.temporal import rpc_timeout
from services import handoffs, plays, signals
from services.tasks import signal_id_of
from services.visibility import Viewer, book_wide, can_see, hidden, stored_visibility
from workflows import search_attributes as sa

# A subject the read model has no row for yet (its workflow started a moment ago): its account and the people it
# involves are search attributes its start set, which Temporal describes without a worker.
WORKFLOW_ID = {
    "signal": signals.workflow_id_for,
    "task": lambda task_id: signals.workflow_id_for(signal_id_of(task_id)),
    "play_run": plays.workflow_id_for,
    "handoff": handoffs.workflow_id_for,
}


async def visible_from_workflow(session, viewer: Viewer, kind: str, subject_id: str) -> bool:
    try:
        workflow_id = WORKFLOW_ID[kind](subject_id)
        client = await temporal_client()
        described = await client.get_workflow_handle(workflow_id).describe(rpc_timeout=rpc_timeout())
    except PillarError as error:  # a task id of no signal's shape
        if error.code != "not_found":
            raise
        return False
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise PillarError("unavailable", f"Temporal did not describe {subject_id}: try again shortly") from error
    attributes = described.typed_search_attributes
    account_id = attributes.get(sa.ACCOUNT_ID)
    involved = list(attributes.get(sa.OWNER_IDS) or [])
    if account_id is None:  # it exists, but nothing says whose it is yet: the service's trouble, not the caller's
        raise PillarError("unavailable", f"{workflow_id} has no stored state yet: try again shortly")
    return await in_session(session, can_see, viewer, account_id, involved)


async def check_visible(session, viewer: Viewer, kind: str, subject_id: str) -> None:
    """404 (the subject's own not-found answer) unless the viewer may see it."""
    if book_wide(viewer):
        return
    visible = await in_session(session, stored_visibility, viewer, kind, subject_id)
    if visible is None:
        visible = await visible_from_workflow(session, viewer, kind, subject_id)
    if not visible:
        raise hidden(kind, subject_id)


def sees(kind: str, param: str, who: Callable[..., Any] = current_principal) -> Any:
    """A route dependency: the caller (`who`: the API's bearer principal, or a page's signed-in user) may see the
    account of the `kind` named by path parameter `param`, else 404."""

    async def check(request: Request, session: AsyncSessionDep, viewer=Depends(who)) -> None:
        await check_visible(session, viewer, kind, request.path_params[param])

    return Depends(check)


async def check_signal_in_body(session, viewer: Viewer, signal_id: str, field: str = "signal_id") -> None:
    """A body naming a signal the caller may not see gets the answer an unknown signal gets (422)."""
    try:
        await check_visible(session, viewer, "signal", signal_id)
    except PillarError as error:
        if error.code != "not_found":
            raise
        raise PillarError("invalid", f"unknown signal {signal_id!r}", {"field": field}) from error

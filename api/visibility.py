"""Per-account visibility on routes (services/visibility.py has the rule): `sees(kind, param)` is a dependency that
answers 404, exactly as for a missing id, when the path's signal, run, handoff, task or account lies outside what
the caller may see. It runs before the route's body is read, so an unseen id never gets as far as a 422."""

from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request

from api.deps import AsyncSessionDep, current_principal, temporal_client
from core.db import in_session
from core.errors import PillarError
from services.handoffs import get_handoff
from services.plays import get_play_run
from services.signals import get_signal
from services.tasks import signal_id_of
from services.visibility import Viewer, book_wide, can_see, hidden, stored_visibility

# A subject the read model has no row for yet (its workflow started a moment ago): ask the workflow itself for its
# account and the people it involves.
ASK_WORKFLOW = {
    "signal": (lambda session, client, id_: get_signal(session, client, id_),
               lambda signal: [*signal.owners, *signal.escalated_to]),
    "task": (lambda session, client, id_: get_signal(session, client, signal_id_of(id_)),
             lambda signal: [t.owner_id for t in signal.tasks]),
    "play_run": (lambda session, client, id_: get_play_run(session, client, id_),
                 lambda run: [s.owner_id for s in run.steps if s.owner_id]),
    "handoff": (lambda session, client, id_: get_handoff(session, client, id_),
                lambda handoff: [handoff.from_user_id, handoff.to_user_id]),
}


async def visible_from_workflow(session, viewer: Viewer, kind: str, subject_id: str) -> bool:
    ask, involved = ASK_WORKFLOW[kind]
    try:
        subject = await ask(session, await temporal_client(), subject_id)
    except PillarError as error:
        if error.code != "not_found":
            raise
        return False
    return await in_session(session, can_see, viewer, subject.account_id, involved(subject))


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

"""RitualWorkflow's side effects: resolving the ritual's config, building and storing the agenda, posting it to
the ritual's webhook, and the agenda and action-items read model."""

from datetime import datetime

import httpx
from temporalio import activity

from core.db import session_scope
from core.settings import get_settings
from models.rituals import AgendaPost, AgendaRef, BuildAgendaRequest, PreparedRitual, RitualState
from models.tables import ActionItemRow, AgendaRow
from services import agendas
from services.rituals import start_for


@activity.defn
def prepare_ritual(ritual_key: str, motion: str, scheduled_at: datetime) -> PreparedRitual:
    """The ritual as configured now, and the meeting this run builds the agenda for."""
    with session_scope() as session:
        start = start_for(session, ritual_key, motion, scheduled_at)
    if start is None:
        return PreparedRitual(reason=f"ritual {ritual_key!r} is no longer configured for motion {motion!r}, or is disabled")
    return PreparedRitual(start=start)


@activity.defn
def build_agenda(request: BuildAgendaRequest) -> AgendaRef:
    """Build and store the agenda; a retry (or a second run for the same meeting) finds the one stored first."""
    with session_scope() as session:
        return agendas.store(session, request)


@activity.defn
async def post_agenda(post: AgendaPost) -> None:
    """POST the agenda as JSON (with a link to its printable page); a non-2xx answer raises, so Temporal retries."""
    with session_scope() as session:
        agenda = agendas.get_agenda(session, post.agenda_id)
    settings = get_settings()
    body = {**agenda.model_dump(mode="json"), "html_url": f"{settings.public_url}/api/v1/agendas/{agenda.id}.html"}
    async with httpx.AsyncClient(timeout=settings.webhook_timeout_seconds) as client:
        response = await client.post(post.url, json=body, headers={"Idempotency-Key": agenda.id})
        response.raise_for_status()


@activity.defn
def save_ritual(revision: int, state: RitualState) -> None:
    """The agenda's status and each action item's row; a stale or repeated revision changes nothing."""
    with session_scope() as session:
        agenda = session.get(AgendaRow, state.agenda_id, with_for_update=True)
        if agenda is not None and agenda.revision < revision:
            agenda.status, agenda.revision = state.status.value, revision
            session.add(agenda)
        for item in state.action_items:
            row = session.get(ActionItemRow, item.id, with_for_update=True)
            if row is not None and row.revision >= revision:
                continue
            if row is None:
                row = ActionItemRow(id=item.id, agenda_id=item.agenda_id, ritual_key=item.ritual_key, motion=item.motion,
                                    meeting_at=state.meeting_at, owner_id=item.owner_id, due_at=item.due_at, state={})
            row.owner_id = item.owner_id
            row.is_open = not item.is_final
            row.outcome = item.outcome.value if item.outcome else None
            row.due_at = item.due_at
            row.outcome_at = item.outcome_at
            row.revision = revision
            row.state = item.model_dump(mode="json")
            session.add(row)

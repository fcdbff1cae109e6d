"""RitualWorkflow's side effects: resolving the ritual's config, building and storing the agenda, posting it to
the ritual's webhook, and the agenda and action-items read model."""

import json
from collections.abc import Callable

import httpx
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from activities import Sessions
from activities.read_models import claim
from core.db import in_session
from core.outbound import destination_secret, post_signed
from core.settings import Settings
from models.common import Revision
from models.rituals import AgendaPost, AgendaRef, BuildAgendaRequest, PreparedRitual, RitualRun, RitualState
from models.tables import ActionItemRow, AgendaRow
from services import agendas
from services.rituals import start_for
from workflows import activity_types


class RitualActivities(activity_types.RitualActivities):
    def __init__(self, sessions: Sessions, async_sessions: Callable[[], AsyncSession], http: httpx.AsyncClient,
                 settings: Callable[[], Settings]) -> None:
        self.sessions = sessions
        self.async_sessions = async_sessions  # for async activities: they run on the worker's event loop
        self.http = http
        self.settings = settings  # read at each call: the public URL and the webhook timeout are configuration

    @activity.defn
    def prepare_ritual_run(self, run: RitualRun) -> PreparedRitual:
        """The ritual as configured now, and the meeting this run (at its `scheduled_at`) builds the agenda for."""
        with self.sessions() as session:
            start = start_for(session, run.ritual_key, run.motion, run.scheduled_at)
        if start is None:
            return PreparedRitual(reason=f"ritual {run.ritual_key!r} is no longer configured for motion {run.motion!r}, "
                                         "or is disabled")
        return PreparedRitual(start=start)

    @activity.defn
    def build_agenda(self, request: BuildAgendaRequest) -> AgendaRef:
        """Build and store the agenda; a retry (or a second run for the same meeting) finds the one stored first."""
        with self.sessions() as session:
            return agendas.store(session, request)

    @activity.defn
    async def post_agenda(self, post: AgendaPost) -> None:
        """POST the agenda as JSON (with a link to its printable page); a non-2xx answer raises, so Temporal retries."""
        async with self.async_sessions() as session:
            agenda = await in_session(session, agendas.get_agenda, post.agenda_id)
        settings = self.settings()
        body = {**agenda.model_dump(mode="json"), "html_url": f"{settings.public_url}/api/v1/agendas/{agenda.id}.html"}
        response = await post_signed(self.http, post.url, json.dumps(body).encode(),
                                     destination_secret(settings, f"ritual:{agenda.ritual_key}"),
                                     settings.webhook_timeout_seconds, {"Idempotency-Key": agenda.id})
        response.raise_for_status()

    @activity.defn
    def save_ritual_state(self, request: Revision[RitualState]) -> None:
        """The agenda's status and each action item's row; a stale or repeated revision changes nothing."""
        with self.sessions() as session:
            write_ritual(session, request.revision, request.state)


def write_ritual(session: Session, revision: int, state: RitualState) -> None:
    agenda = session.get(AgendaRow, state.agenda_id, with_for_update=True)
    if agenda is not None and (allowed := claim(session, agenda, revision)) is not None:
        agenda.status, agenda.revision, agenda.run_id = state.status.value, allowed.revision, allowed.run_id
        session.add(agenda)
    for item in state.action_items:
        row = session.get(ActionItemRow, item.id, with_for_update=True)
        if (allowed := claim(session, row, revision)) is None:
            continue
        if row is None:
            row = ActionItemRow(id=item.id, agenda_id=item.agenda_id, ritual_key=item.ritual_key, motion=item.motion,
                                meeting_at=state.meeting_at, owner_id=item.owner_id, due_at=item.due_at, state={})
        row.owner_id = item.owner_id
        row.is_open = not item.is_final
        row.outcome = item.outcome.value if item.outcome else None
        row.due_at = item.due_at
        row.outcome_at = item.outcome_at
        row.revision, row.run_id = allowed.revision, allowed.run_id
        row.state = item.model_dump(mode="json")
        session.add(row)

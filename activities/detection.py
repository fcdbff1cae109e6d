"""The detection sweep's activity: rescore the book (when asked), open the detected signals still pending, and (on
the hourly run) start the plays due ahead of an account's budget window."""

from collections.abc import Callable
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.client import Client

from core.db import in_session_threaded
from models.detection import DetectionSweep, SweepResult
from services import budget_plays, events
from workflows import activity_types


class DetectionActivities(activity_types.DetectionActivities):
    def __init__(self, sessions: Callable[[], AsyncSession], client: Client) -> None:
        self.sessions, self.client = sessions, client

    @activity.defn
    async def sweep(self, sweep: DetectionSweep) -> SweepResult:
        accounts = plays_started = 0
        async with self.sessions() as session:
            if sweep.rescore:
                as_of = sweep.as_of or datetime.now(UTC)
                _, _, accounts = await in_session_threaded(session, events.rescore_book, None, as_of, True, sweep.actor)
            result = await events.drain_detections(session, self.client)
            if sweep.rescore:
                plays_started = await budget_plays.start_due(session, self.client, as_of)
        activity.logger.info("detection sweep: %s, budget plays started: %s", result, plays_started)
        return result.model_copy(update={"accounts": accounts, "budget_plays": plays_started})

"""The detection sweep's activity: rescore the book (when asked) and open the detected signals still pending."""

from collections.abc import Callable
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.client import Client

from core.db import in_session_threaded
from models.detection import DetectionSweep, SweepResult
from services import events
from workflows import activity_types


class DetectionActivities(activity_types.DetectionActivities):
    def __init__(self, sessions: Callable[[], AsyncSession], client: Client) -> None:
        self.sessions, self.client = sessions, client

    @activity.defn
    async def sweep(self, sweep: DetectionSweep) -> SweepResult:
        accounts = 0
        async with self.sessions() as session:
            if sweep.rescore:
                as_of = sweep.as_of or datetime.now(UTC)
                _, _, accounts = await in_session_threaded(session, events.rescore_book, None, as_of, True, sweep.actor)
            result = await events.drain_detections(session, self.client)
        activity.logger.info("detection sweep: %s", result)
        return result.model_copy(update={"accounts": accounts})

"""The read-model saves and the ritual's preparation as executions started before the typed activities still
schedule them: by their old names, with positional arguments (workflows/legacy.py). Each delegates to its typed
successor. An activity type is one wire shape, so the typed ones have new names; delete this class with
workflows/legacy.py, once no execution started before the `*-escalation-ladder` patches can still be running."""

from datetime import datetime

from temporalio import activity

from activities.plays import PlayActivities
from activities.rituals import RitualActivities
from activities.signals import SignalActivities
from models.common import Revision
from models.plays import PlayRun
from models.rituals import PreparedRitual, RitualRun, RitualState
from models.signals import SignalDetail
from models.tasks import SignalTasks, Task


class LegacyActivities:
    def __init__(self, signals: SignalActivities, plays: PlayActivities, rituals: RitualActivities) -> None:
        self.signals, self.plays, self.rituals = signals, plays, rituals

    @activity.defn
    def save_signal(self, revision: int, signal: SignalDetail) -> None:
        self.signals.save_signal_state(Revision(revision=revision, state=signal))

    @activity.defn
    def save_tasks(self, revision: int, account_id: str, tasks: list[Task]) -> None:
        self.signals.save_signal_tasks(Revision(revision=revision, state=SignalTasks(account_id=account_id, tasks=tasks)))

    @activity.defn
    def save_play_run(self, revision: int, run: PlayRun) -> None:
        self.plays.save_play_run_state(Revision(revision=revision, state=run))

    @activity.defn
    def save_ritual(self, revision: int, state: RitualState) -> None:
        self.rituals.save_ritual_state(Revision(revision=revision, state=state))

    @activity.defn
    def prepare_ritual(self, ritual_key: str, motion: str, scheduled_at: datetime) -> PreparedRitual:
        return self.rituals.prepare_ritual_run(RitualRun(ritual_key=ritual_key, motion=motion, scheduled_at=scheduled_at))

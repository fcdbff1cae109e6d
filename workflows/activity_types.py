"""The activities workflows call, declared as typed method stubs: each one's name, its one input model and its
result. Workflows call them with `workflow.execute_activity_method(Class.method, Input(...))`; activities/ holds
the implementations (subclasses built once in worker.py with their dependencies). This module stays import-light
(temporalio and pure models), so workflow modules may import it.

A method's name is its activity type, recorded in every history: renaming one, or changing its input's shape,
needs a new name and a `workflow.patched` switch (see activities/legacy.py for the shapes older executions use)."""

from temporalio import activity

from models.common import Revision
from models.detection import DetectionSweep, SweepResult
from models.flywheel import ObservationRequest, ProposalCreated, ProposeRequest
from models.handoffs import GovernanceViolation, HandoffChange, HandoffTransition, TeamChangeRequest
from models.notifications import NotifyRequest, WebhookDelivery
from models.plays import PlayOutcomeReport, PlayRun, PlayRunChange, PlayStart, StepActionRequest, StepActionResult
from models.rituals import AgendaPost, AgendaRef, BuildAgendaRequest, PreparedRitual, RitualRun, RitualState, TakenOver, TakeOver
from models.signals import EscalationTargetRequest, SignalChange, SignalDetail, SignalPage, SignalPageChange
from models.tasks import SignalTasks


class DirectoryActivities:
    @activity.defn
    def resolve_escalation_target(self, request: EscalationTargetRequest) -> list[str]: ...


class NotificationActivities:
    @activity.defn
    def record_notifications(self, request: NotifyRequest) -> list[WebhookDelivery]: ...

    @activity.defn
    async def deliver_webhook(self, delivery: WebhookDelivery) -> None: ...

    @activity.defn
    async def deliver_page(self, delivery: WebhookDelivery) -> None: ...


class SignalActivities:
    @activity.defn
    def save_signal_state(self, request: Revision[SignalDetail]) -> None: ...

    @activity.defn
    def page_and_save_signal(self, request: SignalPage) -> list[WebhookDelivery]: ...

    @activity.defn
    def save_signal_tasks(self, request: Revision[SignalTasks]) -> None: ...

    @activity.defn
    def save_signal_change(self, change: SignalChange) -> None: ...

    @activity.defn
    def page_and_save_signal_change(self, request: SignalPageChange) -> list[WebhookDelivery]: ...


class PlayActivities:
    @activity.defn
    def save_play_run_state(self, request: Revision[PlayRun]) -> None: ...

    @activity.defn
    def save_play_run_change(self, change: PlayRunChange) -> None: ...

    @activity.defn
    async def report_play_outcome(self, report: PlayOutcomeReport) -> None: ...

    @activity.defn
    async def start_play(self, start: PlayStart) -> None: ...


class StepActionActivities:
    @activity.defn
    async def log_step_to_crm(self, request: StepActionRequest) -> StepActionResult: ...


class HandoffActivities:
    @activity.defn
    def record_handoff_transition(self, transition: HandoffTransition) -> None: ...

    @activity.defn
    def record_handoff_change(self, change: HandoffChange) -> None: ...

    @activity.defn
    def apply_handoff_team_change(self, request: TeamChangeRequest) -> None: ...

    @activity.defn
    async def open_governance_violation(self, violation: GovernanceViolation) -> str: ...


class RitualActivities:
    @activity.defn
    def prepare_ritual_run(self, run: RitualRun) -> PreparedRitual: ...

    @activity.defn
    def build_agenda(self, request: BuildAgendaRequest) -> AgendaRef: ...

    @activity.defn
    async def post_agenda(self, post: AgendaPost) -> None: ...

    @activity.defn
    def save_ritual_state(self, request: Revision[RitualState]) -> None: ...

    @activity.defn
    async def take_over_action_items(self, request: TakeOver) -> TakenOver: ...


class FlywheelActivities:
    @activity.defn
    def propose_flywheel_changes(self, request: ProposeRequest) -> ProposalCreated: ...

    @activity.defn
    def propose_pattern(self, request: ObservationRequest) -> str: ...


class DetectionActivities:
    @activity.defn
    async def sweep(self, sweep: DetectionSweep) -> SweepResult: ...

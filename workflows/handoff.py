"""HandoffWorkflow: one per handoff. Draft, the required-fields gate, the receiver's acceptance SLA and its
escalation, accept / reject / manager override, and an audit row for every transition (seam 04)."""

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from models.common import MAX_JSON_BYTES, MAX_KEYS, Role, is_filled, json_size, missing_fields
    from models.handoffs import (
        FINAL_STATUSES,
        OVERRIDE_ROLES,
        AuditEntry,
        GovernanceViolation,
        Handoff,
        HandoffAction,
        HandoffChange,
        HandoffStart,
        HandoffStatus,
        HandoffTransition,
        TeamChangeRequest,
        filled_fields,
    )
    from models.routing import EscalationStep
    from workflows import search_attributes as sa
    from workflows.activity_types import HandoffActivities
    from workflows.escalation import Deadline, EscalationLadder
    from workflows.legacy import LegacyHandoffWorkflow
    from workflows.paging import DB_ACTIVITY, deliveries_finished, page
    from workflows.refusals import refuse

# The acceptance SLA runs on the escalation ladder (workflows/escalation.py); executions started before replay
# their own code (workflows/legacy.py).
LADDER_PATCH = "handoff-escalation-ladder"
# Each save sends the handoff without its fields, plus the fields the transition set; updates answer without them:
# a transition costs the history the same however many fields came before it.
COMPACT_PATCH = "handoff-saves-compact-changes"
# An update that arrives with the start (a submit sent as soon as the API answered) runs its handler before `run`
# and took audit seq 1: "created" keeps seq 1, reserved when the workflow is built.
CREATED_FIRST_PATCH = "handoff-created-keeps-audit-seq-1"
ACCEPTANCE = "acceptance"  # the submission's deadline on the ladder


@workflow.defn
class HandoffWorkflow(LegacyHandoffWorkflow):
    @workflow.init
    def __init__(self, start: HandoffStart) -> None:
        self._start = start
        self._ladder = EscalationLadder(self._acceptance_lapsed, self._escalate, start.account.team)
        self._handoff = Handoff.draft(start, workflow.info().workflow_id)
        self._created_seq = 1 if workflow.patched(CREATED_FIRST_PATCH) else None
        self._seq = self._created_seq or 0
        self._submissions = 0
        self._pages = 0
        self._fields_saved = False  # whether a compact save has carried the fields set before it

    @workflow.run
    async def run(self, start: HandoffStart) -> Handoff:
        legacy = not workflow.patched(LADDER_PATCH)
        self._publish()
        await self._audit("created", start.from_user_id, fields=filled_fields(start.fields), changed=start.fields,
                          seq=self._created_seq)
        if legacy:
            await self._watch_legacy()
        else:
            await self._ladder.run(done=lambda: self._handoff.status in FINAL_STATUSES)
        await workflow.wait_condition(workflow.all_handlers_finished)
        await deliveries_finished()
        return self.state()

    @workflow.query
    def state(self) -> Handoff:
        return self._handoff

    # --- the sender: edit and submit --------------------------------------------------------------------

    @workflow.update
    async def patch(self, action: HandoffAction) -> Handoff:
        self._handoff.fields = {**self._handoff.fields, **action.fields}
        self._refresh_missing()
        await self._audit("patched", action.actor.id, fields=sorted(action.fields), changed=action.fields)
        return self._answer()

    @patch.validator
    def _validate_patch(self, action: HandoffAction) -> None:
        self._require_sender(action, "edit")
        self._require_status(HandoffStatus.draft, "edited")
        merged = {**self._handoff.fields, **action.fields}
        if len(merged) > MAX_KEYS:
            raise refuse("invalid", f"a handoff has at most {MAX_KEYS} fields; with these it would have {len(merged)}",
                         {"field": "fields"})
        size = json_size(merged)
        if size > MAX_JSON_BYTES:
            raise refuse("invalid", f"a handoff's fields are at most {MAX_JSON_BYTES // 1024} KB as JSON; with these "
                         f"they would be {size} bytes: link large documents instead", {"field": "fields"})

    @workflow.update
    async def submit(self, action: HandoffAction) -> Handoff:
        handoff = self._handoff
        handoff.status = HandoffStatus.submitted
        handoff.submitted_at = workflow.now()
        handoff.acceptance_due_at = workflow.now() + self._start.spec.acceptance_sla
        handoff.escalation_level = 0
        handoff.escalated_to = []
        handoff.rejection_reason = None
        self._submissions += 1
        self._ladder.arm(Deadline(key=ACCEPTANCE, due_at=handoff.acceptance_due_at, owners=[handoff.to_user_id],
                                  levels=self._start.spec.escalation))
        await self._audit("submitted", action.actor.id, fields=filled_fields(handoff.fields))
        await self._page(
            [handoff.to_user_id],
            "handoff_request",
            f"{handoff.from_user_id} hands {self._start.account.name} over to you ({handoff.kind}); "
            f"accept by {handoff.acceptance_due_at.isoformat()}",
        )
        return self._answer()

    @submit.validator
    def _validate_submit(self, action: HandoffAction) -> None:
        self._require_sender(action, "submit")
        self._require_status(HandoffStatus.draft, "submitted")
        missing = self._handoff.missing_fields
        if missing:
            raise refuse("invalid", f"required fields missing for a {self._handoff.kind} handoff: {', '.join(missing)}",
                         {"missing_fields": missing})

    # --- the receiver: accept or reject -----------------------------------------------------------------

    @workflow.update
    async def accept(self, action: HandoffAction) -> Handoff:
        await self._complete(HandoffStatus.accepted, action, "accepted", fields=filled_fields(self._handoff.fields))
        return self._answer()

    @accept.validator
    def _validate_accept(self, action: HandoffAction) -> None:
        self._require_receiver(action, "accept")
        self._require_status(HandoffStatus.submitted, "accepted")

    @workflow.update
    async def reject(self, action: HandoffAction) -> Handoff:
        handoff = self._handoff
        handoff.status = HandoffStatus.draft
        self._ladder.stop(ACCEPTANCE)
        handoff.rejection_reason = action.reason
        handoff.acceptance_due_at = None
        await self._audit("rejected", action.actor.id, detail=action.reason or "")
        await self._page(
            [handoff.from_user_id],
            "handoff_rejected",
            f"{handoff.to_user_id} sent the {handoff.kind} handoff of {self._start.account.name} back: {action.reason}",
        )
        return self._answer()

    @reject.validator
    def _validate_reject(self, action: HandoffAction) -> None:
        self._require_receiver(action, "reject")
        self._require_status(HandoffStatus.submitted, "rejected")
        if not is_filled(action.reason):
            raise refuse("invalid", "a rejection needs a reason the sender can act on")

    # --- a manager's override: completes without the gate, and is reported -------------------------------

    @workflow.update
    async def override(self, action: HandoffAction) -> Handoff:
        handoff = self._handoff
        missing = list(handoff.missing_fields)
        handoff.override_reason = action.reason
        await self._complete(
            HandoffStatus.overridden,
            action,
            "overridden",
            fields=filled_fields(handoff.fields),
            detail=f"missing: {', '.join(missing) or 'none'}; reason: {action.reason}",
        )
        violation = GovernanceViolation(
            handoff_id=handoff.id,
            kind=handoff.kind,
            account_id=handoff.account_id,
            from_user_id=handoff.from_user_id,
            to_user_id=handoff.to_user_id,
            missing_fields=missing,
            actor_id=action.actor.id,
            reason=action.reason or "",
        )
        try:
            handoff.governance_signal_id = await workflow.execute_activity_method(
                HandoffActivities.open_governance_violation, violation, **DB_ACTIVITY
            )
        except ActivityError as error:
            await self._audit("governance_signal_failed", None, detail=str(error.cause or error))
            return self._answer()
        await self._audit("governance_signal", None, detail=f"signal {handoff.governance_signal_id}")
        return self._answer()

    @override.validator
    def _validate_override(self, action: HandoffAction) -> None:
        actor = action.actor
        if actor.role not in OVERRIDE_ROLES:
            raise refuse("forbidden", "only a manager, vp or admin may override a handoff")
        if actor.role != Role.admin and not (actor.manages(self._handoff.from_user_id) or actor.manages(self._handoff.to_user_id)):
            raise refuse("forbidden", "only a manager of the sender or the receiver may override this handoff")
        if self._handoff.status in FINAL_STATUSES:
            raise refuse("conflict", f"handoff {self._handoff.id} is already {self._handoff.status}")
        if not is_filled(action.reason):
            raise refuse("invalid", "an override needs a reason")

    # --- the acceptance SLA, on the escalation ladder ------------------------------------------------------

    async def _acceptance_lapsed(self, deadline: Deadline) -> None:
        await self._audit("acceptance_sla_lapsed", None, detail=f"not accepted within {self._start.spec.acceptance_sla}")

    async def _escalate(self, deadline: Deadline, step: EscalationStep, targets: list[str]) -> None:
        await self._escalated(deadline.level, step.to, targets)

    async def _escalated(self, level: int, to: str, targets: list[str]) -> None:
        handoff = self._handoff
        handoff.escalation_level = level
        handoff.escalated_to += [t for t in targets if t not in handoff.escalated_to]
        await self._audit("escalated", None, detail=f"level {level} to {to}: {', '.join(targets) or 'nobody'}")
        await self._page(
            targets,
            "escalation",
            f"{handoff.to_user_id} has not accepted the {handoff.kind} handoff of {self._start.account.name} "
            f"within {self._start.spec.acceptance_sla}",
        )

    # --- bookkeeping -----------------------------------------------------------------------------------

    async def _complete(self, status: HandoffStatus, action: HandoffAction, verb: str, fields: list[str], detail: str = "") -> None:
        handoff = self._handoff
        handoff.status = status
        self._ladder.stop(ACCEPTANCE)
        handoff.completed_at = workflow.now()
        handoff.completed_by = action.actor.id
        await self._audit(verb, action.actor.id, fields=fields, detail=detail)
        team_change = self._start.spec.team_change
        if team_change is not None:
            await workflow.execute_activity_method(
                HandoffActivities.apply_handoff_team_change,
                TeamChangeRequest(account_id=handoff.account_id, role=team_change.role, user_id=handoff.to_user_id),
                **DB_ACTIVITY,
            )

    def _require_sender(self, action: HandoffAction, verb: str) -> None:
        if action.actor.id != self._handoff.from_user_id:
            raise refuse("forbidden", f"only the sender ({self._handoff.from_user_id}) may {verb} this handoff")

    def _require_receiver(self, action: HandoffAction, verb: str) -> None:
        if action.actor.id != self._handoff.to_user_id:
            raise refuse("forbidden", f"only the receiver ({self._handoff.to_user_id}) may {verb} this handoff")

    def _require_status(self, status: HandoffStatus, participle: str) -> None:
        if self._handoff.status != status:
            raise refuse(
                "conflict", f"handoff {self._handoff.id} is {self._handoff.status}; only a {status} handoff can be {participle}"
            )

    def _refresh_missing(self) -> None:
        self._handoff.missing_fields = missing_fields(self._start.spec.required_fields, self._handoff.fields)

    async def _audit(self, action: str, actor_id: str | None, fields: list[str] | None = None, detail: str = "",
                     changed: dict | None = None, seq: int | None = None) -> None:
        """Audit the transition and publish the new state (search attributes and the read model) in one activity,
        as the next seq unless `seq` was reserved for it."""
        if seq is None:
            self._seq += 1
            seq = self._seq
        self._publish()
        handoff = self._handoff
        entry = AuditEntry(
            at=workflow.now(),
            actor_id=actor_id,
            action=action,
            from_user_id=handoff.from_user_id,
            to_user_id=handoff.to_user_id,
            fields_transferred=fields or [],
            detail=detail,
        )
        if self._compact:
            if not self._fields_saved:  # the first compact save carries every field set so far
                changed, self._fields_saved = handoff.fields, True
            change = HandoffChange(seq=seq, entry=entry, handoff=self._without_fields(), fields=changed or {})
            await workflow.execute_activity_method(HandoffActivities.record_handoff_change, change, **DB_ACTIVITY)
            return
        transition = HandoffTransition(seq=seq, entry=entry, handoff=handoff.model_copy(deep=True))
        await workflow.execute_activity_method(HandoffActivities.record_handoff_transition, transition, **DB_ACTIVITY)

    @property
    def _compact(self) -> bool:
        return workflow.patched(COMPACT_PATCH)

    def _without_fields(self) -> Handoff:
        return self._handoff.model_copy(update={"fields": {}})

    def _answer(self) -> Handoff:
        """An update's answer, recorded in the history: the handoff without its fields (the API reads them with a
        query, which costs the history nothing)."""
        return self._without_fields() if self._compact else self.state()

    async def _page(self, user_ids: list[str], kind: str, text: str) -> None:
        self._pages += 1
        await page(user_ids, kind=kind, subject_type="handoff", subject_id=self._handoff.id, text=text, key=f"page-{self._pages}")

    def _publish(self) -> None:
        handoff = self._handoff
        workflow.upsert_search_attributes(
            [
                sa.HANDOFF_KIND.value_set(handoff.kind),
                sa.STATUS.value_set(handoff.status.value),
                sa.ACCOUNT_ID.value_set(handoff.account_id),
                sa.OWNER_IDS.value_set([handoff.to_user_id]),
            ]
        )

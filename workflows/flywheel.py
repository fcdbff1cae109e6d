"""FlywheelWorkflow: started monthly by its schedule. Reads the period's play and task outcomes by score band,
stores a proposal of threshold and weight changes with the evidence, and pages revops to decide on it."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.flywheel import FlywheelRun, ProposalCreated, ProposalStatus, ProposeRequest
    from workflows.activity_types import FlywheelActivities
    from workflows.paging import DB_ACTIVITY, deliveries_finished, page
    from workflows.ritual import SCHEDULED_START


@workflow.defn
class FlywheelWorkflow:
    @workflow.run
    async def run(self, run: FlywheelRun) -> ProposalCreated:
        as_of = run.scheduled_at or workflow.info().typed_search_attributes.get(SCHEDULED_START) or workflow.now()
        created = await workflow.execute_activity_method(
            FlywheelActivities.propose_flywheel_changes,
            ProposeRequest(as_of=as_of, workflow_id=workflow.info().workflow_id),
            **DB_ACTIVITY,
        )
        if created.status == ProposalStatus.proposed:
            await page(created.notify, kind="proposal", subject_type="flywheel_proposal", subject_id=created.id,
                       text=f"Flywheel proposal {created.id} waits for your decision: {created.summary}", key="proposal")
        await deliveries_finished()
        return created

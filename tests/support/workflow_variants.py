"""Changed versions of workflows, for the replay tests (a light module: the sandbox re-imports it)."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.signals import SignalDetail, SignalStart
    from workflows.signal import SignalWorkflow


@workflow.defn(name="SignalWorkflow")
class SignalWorkflowWithUnguardedPause(SignalWorkflow):
    """A 'harmless' change: a pause before paging, shipped without workflow.patched."""

    @workflow.run
    async def run(self, start: SignalStart) -> SignalDetail:
        await workflow.sleep(1)
        return await super().run(start)


@workflow.defn(name="SignalWorkflow")
class SignalWorkflowWithPatchedPause(SignalWorkflow):
    """The same change behind workflow.patched: old executions skip it, new ones take it."""

    @workflow.run
    async def run(self, start: SignalStart) -> SignalDetail:
        if workflow.patched("pause-before-paging"):
            await workflow.sleep(1)
        return await super().run(start)

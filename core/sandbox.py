"""The workflow sandbox Pillar's workers and replays run in: the SDK's own, minus a cost it pays for nothing here.

Before it decodes or encodes the payloads of a workflow task (three passes each way), the SDK asks the workflow's
instance for each payload's serialization context and external-storage context, and a sandboxed instance answers by
compiling and executing a snippet of source inside the sandbox: a quarter of a cold replay's time
(scripts/bench_replay.py). Only converters and codecs that implement `WithSerializationContext` ever see the first,
and only external storage the second; with neither (Pillar's Pydantic converter, no codec, no external storage),
answering "none" without entering the sandbox changes nothing they do."""

from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    StorageDriverStoreContext,
    WorkflowSerializationContext,
)
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.workflow import Info


class ContextFreeSandboxedRunner(SandboxedWorkflowRunner):
    """The SDK's sandbox, whose instances answer "no context" without entering it (see the module's docstring)."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _ContextFreeInstance(super().create_instance(det))


class _ContextFreeInstance(WorkflowInstance):
    def __init__(self, sandboxed: WorkflowInstance) -> None:
        self._sandboxed = sandboxed

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        return self._sandboxed.activate(act)

    def get_serialization_context(self, command_info) -> None:
        return None

    def get_external_store_context(self, command_info) -> StorageDriverStoreContext:
        return StorageDriverStoreContext(target=None)

    def get_info(self) -> Info:
        return self._sandboxed.get_info()

    def get_thread_id(self) -> int | None:
        return self._sandboxed.get_thread_id()


def reads_context(data_converter: DataConverter) -> bool:
    """Whether any part of `data_converter` becomes something else when given a serialization context."""
    probes = (WorkflowSerializationContext(namespace="probe", workflow_id="probe"),
              ActivitySerializationContext(namespace="probe", activity_id="probe", activity_type="probe",
                                           activity_task_queue="probe", workflow_id="probe", workflow_type="probe",
                                           is_local=False))
    return any(data_converter.with_context(probe) is not data_converter for probe in probes)


def workflow_runner(data_converter: DataConverter = pydantic_data_converter) -> SandboxedWorkflowRunner:
    """The sandbox for workflows whose payloads go through `data_converter`."""
    if reads_context(data_converter) or data_converter.external_storage is not None:
        return SandboxedWorkflowRunner()
    return ContextFreeSandboxedRunner()

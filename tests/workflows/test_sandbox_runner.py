"""Pillar's workflow sandbox (core/sandbox.py): the SDK's, without entering it to fetch serialization contexts that
nothing reads. It is still the sandbox, and a converter that does read contexts still gets them."""

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    ActivitySerializationContext,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
)
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import RestrictedWorkflowAccessError, SandboxedWorkflowRunner

from core.sandbox import ContextFreeSandboxedRunner, workflow_runner


@activity.defn
async def greet(name: str) -> str:
    return f"hello {name}"


@workflow.defn
class GreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(greet, name, start_to_close_timeout=timedelta(seconds=10))


@workflow.defn
class WallClockWorkflow:
    @workflow.run
    async def run(self) -> str:
        return datetime.now().isoformat()  # what the sandbox exists to refuse


class ContextRecordingCodec(PayloadCodec, WithSerializationContext):
    """Passes payloads through, recording the serialization context each copy was given."""

    def __init__(self, seen: list, context: SerializationContext | None = None) -> None:
        self.seen, self.context = seen, context

    def with_context(self, context: SerializationContext) -> "ContextRecordingCodec":
        return ContextRecordingCodec(self.seen, context)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self.seen.append(self.context)
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self.seen.append(self.context)
        return list(payloads)


def test_the_context_is_skipped_only_when_nothing_reads_it():
    assert type(workflow_runner(pydantic_data_converter)) is ContextFreeSandboxedRunner
    reading = dataclasses.replace(pydantic_data_converter, payload_codec=ContextRecordingCodec([]))
    assert type(workflow_runner(reading)) is SandboxedWorkflowRunner


async def test_the_context_free_sandbox_still_refuses_what_a_workflow_may_not_do(ts_env):
    queue = f"sandbox-{uuid.uuid4()}"
    async with Worker(ts_env.client, task_queue=queue, workflows=[WallClockWorkflow], workflow_runner=workflow_runner(),
                      workflow_failure_exception_types=[Exception]):
        with pytest.raises(WorkflowFailureError) as failed:
            await ts_env.client.execute_workflow(WallClockWorkflow.run, id=queue, task_queue=queue)
    assert failed.value.cause.type == RestrictedWorkflowAccessError.__name__, failed.value.cause


async def test_the_context_free_sandbox_runs_workflows_and_their_activities(ts_env):
    queue = f"sandbox-{uuid.uuid4()}"
    async with Worker(ts_env.client, task_queue=queue, workflows=[GreetingWorkflow], activities=[greet],
                      workflow_runner=workflow_runner()):
        assert await ts_env.client.execute_workflow(GreetingWorkflow.run, "casey", id=queue, task_queue=queue) == "hello casey"


async def test_a_codec_that_reads_contexts_gets_the_activity_context_from_the_workflow(ts_env):
    seen: list = []
    converter = dataclasses.replace(pydantic_data_converter, payload_codec=ContextRecordingCodec(seen))
    client = Client(**{**ts_env.client.config(), "data_converter": converter})
    queue = f"sandbox-{uuid.uuid4()}"
    async with Worker(client, task_queue=queue, workflows=[GreetingWorkflow], activities=[greet],
                      workflow_runner=workflow_runner(converter)):
        assert await client.execute_workflow(GreetingWorkflow.run, "casey", id=queue, task_queue=queue) == "hello casey"
    assert None not in seen, seen  # the workflow worker's codec calls too had their context
    assert any(isinstance(c, ActivitySerializationContext) and c.activity_type == "greet" for c in seen), seen

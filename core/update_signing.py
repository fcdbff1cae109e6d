"""Updates carry an HMAC of what they say, and workflows refuse any that does not: whoever reaches Temporal's
frontend (port 7233) without the key cannot act as a user, or as admin, by sending an update with a made-up actor.

One interceptor does both sides. On a client (the API's, the worker's own for activities that send updates) it signs
every update: `Pillar-Signature` header = HMAC-SHA256(key, workflow id, update name, the encoded arguments). On a
worker (the SDK hands a worker the interceptors of the client it was built on) it checks that header in every update's
validator, before the workflow's own validator runs: a missing or wrong signature is refused like any other refusal,
and leaves no trace in the history. Validators do not run on replay, so a new key never breaks a replay."""

import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

from temporalio import client, worker, workflow
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadConverter
from temporalio.exceptions import ApplicationError

HEADER = "pillar-signature"


def update_signature(key: bytes, workflow_id: str, update: str, args: Sequence[Any], converter: PayloadConverter) -> bytes:
    mac = hmac.new(key, f"{workflow_id}\n{update}\n".encode(), hashlib.sha256)
    for payload in converter.to_payloads(args):
        mac.update(payload.data)
    return mac.hexdigest().encode()


class UpdateSigning(client.Interceptor, worker.Interceptor):
    def __init__(self, key: str, converter: PayloadConverter) -> None:
        self.key, self.converter = key.encode(), converter

    def intercept_client(self, next: client.OutboundInterceptor) -> client.OutboundInterceptor:
        return _Signer(next, self)

    def workflow_interceptor_class(self, input: worker.WorkflowInterceptorClassInput) -> type[worker.WorkflowInboundInterceptor]:
        key = self.key

        class Checker(worker.WorkflowInboundInterceptor):
            def handle_update_validator(self, input: worker.HandleUpdateInput) -> None:
                sent = input.headers.get(HEADER)
                expected = update_signature(key, workflow.info().workflow_id, input.update, input.args,
                                            workflow.payload_converter())
                if sent is None or not hmac.compare_digest(sent.data, expected):
                    raise ApplicationError(f"{input.update} was not sent by Pillar (unsigned or altered): refused",
                                           type="forbidden", non_retryable=True)
                super().handle_update_validator(input)

        return Checker


class _Signer(client.OutboundInterceptor):
    def __init__(self, next: client.OutboundInterceptor, signing: UpdateSigning) -> None:
        super().__init__(next)
        self.signing = signing

    async def start_workflow_update(self, input: client.StartWorkflowUpdateInput) -> client.WorkflowUpdateHandle[Any]:
        signature = update_signature(self.signing.key, input.id, input.update, input.args, self.signing.converter)
        input.headers = {**input.headers, HEADER: Payload(data=signature)}
        return await super().start_workflow_update(input)

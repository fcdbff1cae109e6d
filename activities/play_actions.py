"""The automated actions play steps declare (`action = ...` in plays/*.toml; see `models.plays.STEP_ACTIONS`).

Each runs once its step's owner has completed the step. They are idempotent per run and step: every attempt and
every ops retry of the same step sends the same key."""

from collections.abc import Callable

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.outbound import destination_secret, post_signed
from core.settings import Settings
from models.plays import StepActionRequest, StepActionResult
from workflows import activity_types

RETRYABLE_CLIENT_ERRORS = {408, 425, 429}


class StepActionActivities(activity_types.StepActionActivities):
    def __init__(self, http: httpx.AsyncClient, settings: Callable[[], Settings]) -> None:
        self.http = http
        self.settings = settings  # read at each call: the CRM's address is configuration

    @activity.defn
    async def log_step_to_crm(self, request: StepActionRequest) -> StepActionResult:
        """POST the completed step (who, when, its output fields) to the CRM's webhook as an activity on the account,
        with `Idempotency-Key: <run>:<step>`. A 4xx answer will not mend itself on a retry: it fails at once."""
        settings = self.settings()
        if not settings.crm_webhook_url:
            return StepActionResult(detail="not sent: no CRM is configured (CRM_WEBHOOK_URL)")
        response = await post_signed(self.http, settings.crm_webhook_url, crm_entry(request),
                                     destination_secret(settings, "crm"), settings.webhook_timeout_seconds,
                                     {"Idempotency-Key": request.key})
        if 400 <= response.status_code < 500 and response.status_code not in RETRYABLE_CLIENT_ERRORS:
            raise ApplicationError(f"the CRM refused the entry: {response.status_code} {response.text[:300]}",
                                   type="CrmRefused", non_retryable=True)
        if response.status_code >= 400:
            raise ApplicationError(f"the CRM answered {response.status_code}: {response.text[:300]}", type="CrmUnavailable")
        return StepActionResult(detail=f"logged to the CRM ({response.status_code})")


def crm_entry(request: StepActionRequest) -> bytes:
    return request.model_dump_json(include={"key", "account_id", "account_name", "play_key", "play_name", "run_id",
                                            "step_key", "step_title", "completed_by", "completed_at", "fields"}).encode()

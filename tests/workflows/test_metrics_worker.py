"""The worker's Prometheus endpoint: the Temporal SDK's own metrics and Pillar's counters, on the time-skipping server."""

from datetime import timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from core.db import get_engine
from core.settings import Settings
from core.temporal import worker_runtime
from models.signals import SignalIn, SignalStatus
from services.signals import open_signal, signal_handle
from tests.support.stack import free_port, seed
from workflows.signal import SignalWorkflow


def scrape(address: str) -> list:
    text = httpx.get(f"http://{address}/metrics", timeout=5).text
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def total(samples: list, name: str, **labels) -> float | None:
    """The sum of `name`'s samples with these labels (the parser names a counter's samples `<name>_total`);
    None when there is no such metric at all."""
    found = [s.value for s in samples if s.name in (name, f"{name}_total") and labels.items() <= s.labels.items()]
    return sum(found) if found else None


def test_no_address_no_runtime():
    assert worker_runtime(Settings(worker_metrics_address=None)) is None


async def test_worker_serves_sdk_metrics_and_pillar_counters_after_an_escalation(ts_env, sqlite_db):
    from worker import build_worker

    seed()
    address = f"127.0.0.1:{free_port()}"
    client = await Client.connect(
        ts_env.client.service_client.config.target_host, namespace=ts_env.client.namespace,
        data_converter=pydantic_data_converter, runtime=worker_runtime(Settings(worker_metrics_address=address)),
    )
    async with build_worker(client, workflow_failure_exception_types=[Exception]):
        with Session(get_engine()) as session:
            created, _ = await open_signal(
                session, client, SignalIn(family="renewal_risk", severity="critical", account_id="acme"), created_by="test"
            )
        handle = signal_handle(client, created.id)
        await ts_env.sleep(timedelta(hours=4, minutes=1))  # the SLA (PT4H) lapses: escalation level 1
        assert (await handle.query(SignalWorkflow.state)).status == SignalStatus.escalated
        samples = scrape(address)

    # the SDK's own: workflow task and activity latencies, sticky cache, polls (durations in seconds)
    assert total(samples, "temporal_workflow_task_schedule_to_start_latency_count") >= 1
    assert total(samples, "temporal_workflow_task_execution_latency_count", workflow_type="SignalWorkflow") >= 1
    # the page and its read-model write run as a local activity (one per page: the first and the escalation's)
    assert total(samples, "temporal_local_activity_execution_latency_count", activity_type="page_and_save_signal_change") == 2
    assert total(samples, "temporal_sticky_cache_hit", workflow_type="SignalWorkflow") >= 1
    assert total(samples, "temporal_sticky_cache_size") is not None
    # Pillar's, with their low-cardinality attributes
    signal = dict(family="renewal_risk", severity="critical", workflow_type="SignalWorkflow")
    assert total(samples, "pillar_signals_opened", **signal) == 1
    assert total(samples, "pillar_sla_breaches", **signal) == 1
    assert total(samples, "pillar_escalations", subject_type="signal", workflow_type="SignalWorkflow") == 1
    assert total(samples, "pillar_pages_sent", kind="page", subject_type="signal") == 2  # both owners
    assert total(samples, "pillar_pages_sent", kind="escalation", subject_type="signal") == 1
    assert total(samples, "pillar_late_timers") is None  # the time-skipping server fires timers on time

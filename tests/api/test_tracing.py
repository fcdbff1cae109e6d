"""OpenTelemetry tracing: one trace from the API request through StartWorkflow and RunWorkflow to an activity,
on a real dev server and worker, with tracing turned on the standard way (OTEL_TRACES_EXPORTER)."""

import asyncio

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from core.settings import get_settings
from core.temporal import get_temporal_client, set_temporal_client
from tests.support.stack import ADMIN_TOKEN, seed, start_dev_server
from tests.support.waiting import eventually


@pytest.fixture(scope="session")
def spans() -> InMemorySpanExporter:
    """OpenTelemetry's global tracer provider can be set once per process: this one, kept in memory. Pillar's
    `start_tracing` keeps a provider that is already there instead of making its own."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


@pytest.fixture
async def traced_stack(spans, sqlite_db, monkeypatch):
    """A dev server, a worker and the app, all built the way production builds them, with tracing on."""
    from api.main import create_app
    from worker import build_worker

    env = await start_dev_server()
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    get_settings.cache_clear()
    seed()
    set_temporal_client(None)
    client = await get_temporal_client()  # the one place that connects: traced because tracing is on
    worker = build_worker(client)
    worker_task = asyncio.create_task(worker.run())
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()), base_url="http://pillar.test") as http:
            yield http
    finally:
        await worker.shutdown()
        await worker_task
        set_temporal_client(None)
        get_settings.cache_clear()
        await env.shutdown()


async def test_one_trace_from_the_api_request_to_the_workflow_and_its_activities(traced_stack, spans):
    spans.clear()
    response = await traced_stack.post(
        "/api/v1/signals", json={"family": "adoption_decay", "severity": "warning", "account_id": "acme"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert response.status_code == 202, response.text
    await eventually(lambda: any(s.name == "RunActivity:page_and_save_signal_change" for s in spans.get_finished_spans()))

    finished = spans.get_finished_spans()
    request = next(s for s in finished if s.name == "POST /api/v1/signals")
    assert request.kind == trace.SpanKind.SERVER and request.attributes["http.route"] == "/api/v1/signals"
    trace_id = request.context.trace_id
    in_trace = {s.name for s in finished if s.context.trace_id == trace_id}
    assert {"StartWorkflow:SignalWorkflow", "RunWorkflow:SignalWorkflow", "StartActivity:page_and_save_signal_change",
            "RunActivity:page_and_save_signal_change"} <= in_trace, sorted(in_trace)

    # and they hang together: the legacy interceptor puts RunWorkflow and the workflow's StartActivity side by side
    # under StartWorkflow, which hangs under the request
    by_id = {s.context.span_id: s for s in finished}

    def ancestors(name: str) -> list[str]:
        span, names = next(s for s in finished if s.name == name and s.context.trace_id == trace_id), []
        while span.parent is not None and span.parent.span_id in by_id:
            span = by_id[span.parent.span_id]
            names.append(span.name)
        return names

    assert ancestors("RunActivity:page_and_save_signal_change")[0] == "StartActivity:page_and_save_signal_change"
    for name in ("RunActivity:page_and_save_signal_change", "RunWorkflow:SignalWorkflow"):
        chain = ancestors(name)
        assert "StartWorkflow:SignalWorkflow" in chain and chain[-1] == "POST /api/v1/signals", chain

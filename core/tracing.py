"""OpenTelemetry tracing, off unless the standard `OTEL_*` variables ask for it (see `Settings.tracing_enabled`).

One trace runs from an API request (FastAPI's own server span) through StartWorkflow (the Temporal client),
RunWorkflow and StartActivity (the worker's workflow) to RunActivity, carried in Temporal headers by the SDK's
`TracingInterceptor`. The OpenTelemetry SDK and exporters are imported only when tracing is on, so `make run`
needs none of them (they come with the `otel` extra)."""

from typing import Any

from core.settings import Settings


def start_tracing(settings: Settings, service_name: str) -> Any | None:
    """Make an SDK tracer provider exporting where `OTEL_*` says, OpenTelemetry's global one; None when tracing is
    off. A provider some other code set up first (a test's, `opentelemetry-instrument`'s) is kept and returned."""
    if not settings.tracing_enabled:
        return None
    from opentelemetry import trace
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    if settings.otel_traces_exporter == "otlp":
        # Endpoint, headers, timeout and compression come from OTEL_EXPORTER_OTLP_* (HTTP/protobuf, port 4318).
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    else:
        exporter = ConsoleSpanExporter()
    # Resource.create adds OTEL_RESOURCE_ATTRIBUTES; OTEL_SERVICE_NAME arrives through the settings.
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: settings.otel_service_name or service_name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def temporal_interceptors(settings: Settings) -> list:
    """The Temporal client's interceptors: with tracing on, the SDK's TracingInterceptor, which a worker built on
    that client uses too (workflow and activity spans under the span that started the workflow)."""
    if not settings.tracing_enabled:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor()]


def fastapi_telemetry(provider: Any | None) -> dict:
    """FastAPI's native telemetry options: request spans on `provider`, none without one. Metrics go to Prometheus
    (api/metrics.py), not OpenTelemetry; scrapes and health probes make no spans."""
    if provider is None:
        return {"tracing": False, "metrics": False, "logs": False}
    return {
        "tracer_provider": provider,
        "metrics": False,
        "logs": False,
        "exclude": lambda scope: scope.get("path") in ("/metrics", "/healthz") or scope.get("path", "").startswith("/static/"),
    }

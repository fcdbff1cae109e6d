"""`GET /metrics` on the API: requests by route template and status, latency, in-flight, overload refusals."""

import subprocess
import sys
import textwrap

import httpx
from prometheus_client.parser import text_string_to_metric_families
from temporalio.service import RPCError, RPCStatusCode

from api.main import create_app
from core.errors import PillarError
from core.settings import get_settings


def samples(text: str) -> dict[tuple, float]:
    """{(sample name, sorted labels): value} from a Prometheus text exposition."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text) for s in family.samples
    }


def value(text: str, name: str, **labels) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


async def test_requests_are_counted_by_route_template_not_raw_path(api):
    created = await api.http.post(
        "/api/v1/signals", json={"family": "nps_decline", "severity": "info", "account_id": "acme"},
        headers=api.auth("admin"),
    )
    assert created.status_code == 202, created.text
    signal_id = created.json()["id"]
    before = (await api.http.get("/metrics")).text
    assert (await api.http.get(f"/api/v1/signals/{signal_id}", headers=api.auth("admin"))).status_code == 200
    assert (await api.http.get("/no/such/page")).status_code == 404

    response = await api.http.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    route = "/api/v1/signals/{signal_id}"
    labels = dict(route=route, method="GET", status="200")
    assert value(text, "pillar_http_requests_total", **labels) == value(before, "pillar_http_requests_total", **labels) + 1
    assert value(text, "pillar_http_requests_total", route="/api/v1/signals", method="POST", status="202") >= 1
    assert value(text, "pillar_http_requests_total", route="<unmatched>", method="GET", status="404") >= 1
    assert value(text, "pillar_http_request_duration_seconds_count", route=route, method="GET") >= 1
    assert signal_id not in text and "/no/such/page" not in text  # raw paths never become labels
    assert value(text, "pillar_http_requests_in_flight") == 1  # this scrape


async def test_overload_refusals_are_counted_per_route_whichever_handler_answers():
    app = create_app()

    @app.get("/api/v1/test/busy")
    async def busy():
        raise PillarError("unavailable", "the pool is saturated: try again shortly")

    @app.get("/api/v1/test/temporal-gone")
    async def temporal_gone():
        # answered by the app's last-resort handler (ServerErrorMiddleware), outside every ordinary middleware
        raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                 base_url="http://pillar.test") as http:
        assert (await http.get("/api/v1/test/busy")).status_code == 503
        assert (await http.get("/api/v1/test/busy")).status_code == 503
        assert (await http.get("/api/v1/test/temporal-gone")).status_code == 503
        text = (await http.get("/metrics")).text

    assert value(text, "pillar_http_overload_refusals_total", route="/api/v1/test/busy", status="503") == 2
    assert value(text, "pillar_http_overload_refusals_total", route="/api/v1/test/temporal-gone", status="503") == 1
    assert value(text, "pillar_http_requests_total", route="/api/v1/test/temporal-gone", method="GET", status="503") == 1


async def test_a_metrics_token_keeps_other_readers_out(monkeypatch):
    monkeypatch.setenv("METRICS_TOKEN", "scrape-token-0123456789")
    get_settings.cache_clear()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()), base_url="http://pillar.test") as http:
            refused = await http.get("/metrics")
            assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
            assert (await http.get("/metrics", headers={"Authorization": "Bearer wrong-token-0123456789"})).status_code == 401
            allowed = await http.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"})
            assert allowed.status_code == 200 and "pillar_http_requests_total" in allowed.text
    finally:
        monkeypatch.delenv("METRICS_TOKEN")
        get_settings.cache_clear()


ONE_API_PROCESS = textwrap.dedent("""
    import asyncio, httpx
    from api.main import create_app

    async def main():
        transport = httpx.ASGITransport(app=create_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://pillar.test") as http:
            for _ in range({requests}):
                await http.get("/openapi.json")
            print((await http.get("/metrics")).text)

    asyncio.run(main())
""")


def test_several_api_processes_add_up_in_multiprocess_mode(tmp_path):
    """`uvicorn --workers N` with PROMETHEUS_MULTIPROC_DIR: whichever process answers /metrics counts them all."""
    environment = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/pillar.db",
                   "PATH": "/usr/bin:/bin"}

    def run(requests: int) -> str:
        done = subprocess.run([sys.executable, "-c", ONE_API_PROCESS.format(requests=requests)], env=environment,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    run(requests=2)
    text = run(requests=3)  # another process: it reads the first one's numbers from the directory too
    assert value(text, "pillar_http_requests_total", route="/openapi.json", method="GET", status="200") == 5
    assert value(text, "pillar_http_requests_total", route="/metrics", method="GET", status="200") == 1


def test_with_tracing_off_the_api_loads_no_opentelemetry_sdk(tmp_path):
    """FastAPI itself imports the OpenTelemetry API (a no-op without an SDK); Pillar adds nothing until
    OTEL_TRACES_EXPORTER asks for tracing."""
    check = ("import sys; from api.main import create_app; create_app(); "
             "loaded = [m for m in sys.modules if m.startswith(('opentelemetry.sdk', 'opentelemetry.exporter', "
             "'temporalio.contrib.opentelemetry'))]; print(loaded); sys.exit(1 if loaded else 0)")
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60,
                          env={"DATABASE_URL": f"sqlite:///{tmp_path}/pillar.db", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stdout + done.stderr

"""All of Pillar's settings, read from the environment (or a `.env` file)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DATA_DIR = Path(".pillar")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "pillar"
    temporal_ui_url: str = "http://127.0.0.1:8233"
    database_url: str = f"sqlite:///{DATA_DIR}/pillar.db"
    # bounded waits: no request queues for ever on a saturated pool, a locked SQLite file or a slow Temporal
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_max_overflow: int = Field(default=20, ge=0, le=500)
    database_pool_timeout: float = Field(default=5.0, gt=0, le=60)
    database_busy_timeout: float = Field(default=5.0, gt=0, le=60)
    temporal_rpc_timeout: float = Field(default=5.0, gt=0, le=60)
    update_timeout: float = Field(default=8.0, gt=0, le=60)
    api_max_in_flight: int = Field(default=64, ge=1, le=10_000)
    api_queue_timeout: float = Field(default=2.0, ge=0, le=30)
    # How many signals one API process accepts that wait for their first page at once; past that, POST /signals
    # waits for the worker, then 503s (api/paging_lag.py). 0 turns it off.
    api_paging_backlog: int = Field(default=6, ge=0, le=10_000)
    api_max_body_bytes: int = Field(default=1_048_576, ge=1024, le=64 * 1_048_576)  # larger bodies: 413
    api_heavy_work_slots: int = Field(default=2, ge=1, le=64)  # event batches and detection sweeps at once, per process
    retry_after_seconds: int = Field(default=1, ge=1, le=300)
    pillar_admin_token: str | None = Field(default=None, min_length=16)
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    public_url: str = "http://127.0.0.1:8000"
    webhook_timeout_seconds: float = 5.0
    # A loop (or a flood of signals) cannot bury an inbox: past this many notifications for one user in a minute,
    # each further one is still recorded in the inbox, marked `suppressed`, and not sent to the webhook.
    pages_per_user_per_minute: int = Field(default=30, ge=1, le=10_000)
    # Outbound URLs (webhooks, agendas, the CRM) must be https and reach public addresses only; `make run` allows
    # http and loopback for receivers on this machine (core/outbound.py).
    outbound_allow_http: bool = False
    outbound_allow_loopback: bool = False
    # Signs every webhook delivery (each destination's secret derives from it) and every update the API sends a
    # workflow (workflows refuse unsigned ones: core/update_signing.py). The API and the worker need the same one.
    pillar_signing_key: str | None = Field(default=None, min_length=32)
    crm_webhook_url: str | None = None  # where play steps with the `log_to_crm` action are POSTed
    # Email pages (a user's `email` channel): sent through this SMTP server; unset host, email deliveries fail (and
    # the delivery log says why) while the other channels go on.
    pillar_smtp_host: str | None = None
    pillar_smtp_port: int = Field(default=587, ge=1, le=65_535)
    pillar_smtp_user: str | None = None
    pillar_smtp_password: str | None = None
    pillar_smtp_from: str = "pillar@localhost"
    pillar_smtp_starttls: bool = True
    pillar_smtp_timeout_seconds: float = Field(default=10, gt=0, le=60)
    # On SIGTERM the worker stops polling and gives running activities this long to finish before cancelling them
    # (compose's stop_grace_period for the worker is longer, so `docker compose stop` does not SIGKILL them first).
    worker_shutdown_grace_seconds: float = Field(default=30, ge=0, le=3600)
    # A workflow task waits this long on the queue of the worker that ran the workflow last (its cache) before any
    # worker may take it: a killed worker's tasks move on that soon instead of after the SDK's 10 s (README:
    # "Recovering from faults"). Below 1 s a busy worker loses its cache to its own backlog.
    worker_sticky_schedule_to_start_seconds: float = Field(default=1, ge=0.5, le=60)
    # Workflow tasks one worker process runs at once. They share one interpreter (the GIL): past a few, a burst
    # (a new worker replaying every open workflow) only makes each slower, until they outlast the workflow task
    # timeout and start again; the rest wait on the server, where waiting costs nothing. But a task holds its slot
    # while its local activities (read-model writes) wait on the database: with 4, signals under load were paged
    # 1.8 s late at p99 (scripts/bench_load.py, c=32), with 8, 0.7 s.
    worker_max_concurrent_workflow_tasks: int = Field(default=8, ge=2, le=1000)
    # Polls for workflow tasks one worker keeps open, and the share of them on the shared queue (the rest poll its
    # own, sticky, queue). The SDK's 5 and 0.2 leave one poll on the shared queue, where a restarted worker finds
    # every workflow it must replay: fetched one round trip at a time behind a busy server, they waited seconds for
    # an idle worker (a lone worker's restart: escalations 3.9-4.9 s late, against 2.2-2.5 s with 8 and 0.5).
    worker_workflow_task_polls: int = Field(default=8, ge=2, le=100)
    worker_nonsticky_poll_ratio: float = Field(default=0.5, gt=0, le=1)
    # A workflow task started by a worker that then died is handed to another after this long (Temporal's default,
    # 10 s, held a killed worker's escalations up to 8 s past its restart). Pillar's workflow tasks take milliseconds
    # (a cold replay of a signal's history, 40 ms of CPU), and one waiting on a long local activity is heartbeated;
    # raise it if a starved worker logs TMPRL1104.
    workflow_task_timeout_seconds: float = Field(default=1.5, ge=1, le=60)
    # The detection sweep (a Temporal Schedule): open the detected signals still pending every `detection_outbox_
    # interval`, and rescore the whole book for time-based conditions (inactivity) every `detection_sweep_interval`.
    detection_outbox_interval: float = Field(default=60, ge=5, le=86_400)  # seconds
    detection_sweep_interval: float = Field(default=3600, ge=60, le=7 * 86_400)  # seconds

    # --- seeing it run (README: "See it running") ---
    # When set, `GET /metrics` on the API asks for `Authorization: Bearer <metrics_token>`; unset, it is open (it
    # carries counts by route and status, no account data): keep it off the public side of a proxy then.
    metrics_token: str | None = Field(default=None, min_length=16)
    # Set (to an empty directory) when the API runs as several processes (`uvicorn --workers N`): see api/metrics.py.
    prometheus_multiproc_dir: str | None = None
    # Where the worker serves the Temporal SDK's metrics and Pillar's own counters for Prometheus (`host:port`,
    # path /metrics); unset, the worker serves none. Off by default: N workers on one machine need N ports.
    worker_metrics_address: str | None = None
    # Tracing follows the standard OpenTelemetry variables: on when OTEL_TRACES_EXPORTER names an exporter
    # (`otlp`: OTLP over HTTP to OTEL_EXPORTER_OTLP[_TRACES]_ENDPOINT; `console`: stdout), off when it is unset or
    # `none`, or when OTEL_SDK_DISABLED=true. Needs the `otel` extra (`pip install "pillar[otel]"`).
    otel_traces_exporter: Literal["otlp", "console", "none"] | None = None
    otel_sdk_disabled: bool = False
    otel_service_name: str | None = None  # else `pillar-api` / `pillar-worker`

    @property
    def tracing_enabled(self) -> bool:
        return self.otel_traces_exporter in ("otlp", "console") and not self.otel_sdk_disabled


@lru_cache
def get_settings() -> Settings:
    return Settings()

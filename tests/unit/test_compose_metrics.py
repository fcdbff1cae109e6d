"""docker-compose's Prometheus (`docker compose` cannot run here): it scrapes every api and worker container."""

import yaml

from tests.support.paths import PROJECT_ROOT as ROOT


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def scrape_jobs() -> dict[str, dict]:
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    return {job["job_name"]: job for job in config["scrape_configs"]}


def test_prometheus_runs_with_the_config_in_deploy():
    prometheus = compose()["services"]["prometheus"]
    assert prometheus["image"].startswith("prom/prometheus:")
    assert "./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in prometheus["volumes"]
    assert set(prometheus["depends_on"]) == {"api", "worker"}


def test_prometheus_scrapes_each_api_container_on_the_port_it_serves():
    api = scrape_jobs()["pillar-api"]
    assert api.get("metrics_path", "/metrics") == "/metrics"
    [lookup] = api["dns_sd_configs"]  # one address per container: replicas are scraped one by one
    assert lookup["names"] == ["api"] and lookup["type"] == "A" and lookup["port"] == 8000
    assert "8000" in compose()["services"]["api"]["expose"]  # each replica serves 8000 (api-proxy publishes it)


def test_prometheus_scrapes_each_worker_where_it_serves_its_metrics():
    worker = compose()["services"]["worker"]
    host, port = worker["environment"]["WORKER_METRICS_ADDRESS"].rsplit(":", 1)
    assert host == "0.0.0.0"  # reachable from the prometheus container
    [lookup] = scrape_jobs()["pillar-worker"]["dns_sd_configs"]
    assert lookup["names"] == ["worker"] and lookup["type"] == "A" and lookup["port"] == int(port)
    # the worker keeps everything the other Pillar containers get
    assert worker["environment"]["DATABASE_URL"] == compose()["services"]["api"]["environment"]["DATABASE_URL"]


def test_every_api_process_counts_into_one_exposition():
    api = compose()["services"]["api"]
    directory = api["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    assert directory in api["tmpfs"]  # empty at every start, as prometheus_client's multiprocess mode needs

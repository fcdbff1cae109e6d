"""The shape of the imports, read from the source with ast (every import, at module top or inside a function):
no import cycle, and every module imports downward only (api, cli, worker -> services -> workflows, activities ->
models, core, plays)."""

import ast
from pathlib import Path

from tests.support.paths import PROJECT_ROOT as ROOT

LAYERS = {"api": 3, "cli": 3, "worker": 3, "services": 2, "workflows": 1, "activities": 1, "models": 0, "core": 0, "plays": 0}
# Upward imports that are known and not yet moved down: the list may only shrink (each entry must still exist).
KNOWN_UPWARD = {
    ("activities.detection", "services.budget_plays"),
    ("activities.detection", "services.events"),
    ("activities.directory", "services.directory"),
    ("activities.flywheel", "services.flywheel"),
    ("activities.handoffs", "services.signals"),
    ("activities.plays", "services.plays"),
    ("activities.plays", "services.signals"),
    ("activities.rituals", "services.agendas"),
    ("activities.rituals", "services.rituals"),
    ("core.seed", "services.account_calendars"),
    ("core.seed", "services.cadence_baseline"),
    ("core.seed", "services.handoffs"),
    ("core.seed", "services.layer_config"),
    ("core.seed", "services.rituals"),
    ("core.seed", "services.task_templates"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    paths = [ROOT / "worker.py"] + [p for package in LAYERS if (ROOT / package).is_dir()
                                    for p in (ROOT / package).rglob("*.py")]
    return {module_name(p): p for p in paths}


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = graph.setdefault(name, set())
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                # `from services import ops` imports the module services.ops; `from services.ops import x` services.ops
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                           for a in node.names]
            else:
                continue
            edges |= {t for t in targets if t in modules and t != name}
    return graph


def cycle_in(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    return next((found for node in sorted(graph) if node not in state and (found := visit(node))), None)


def layer(module: str) -> int:
    return LAYERS[module.split(".")[0]]


def test_no_import_cycle_among_services_or_anywhere():
    graph = import_graph()
    services = {m: {t for t in ts if t.startswith("services.")} for m, ts in graph.items() if m.startswith("services.")}
    assert len(services) > 10
    assert cycle_in(services) is None, " -> ".join(cycle_in(services))
    assert cycle_in(graph) is None, " -> ".join(cycle_in(graph))


def test_modules_import_downward_only():
    graph = import_graph()
    upward = {(m, t) for m, ts in graph.items() for t in ts if layer(t) > layer(m)}
    assert upward - KNOWN_UPWARD == set(), "new upward imports"
    assert KNOWN_UPWARD - upward == set(), "moved down: take them off KNOWN_UPWARD"


def test_the_checks_catch_a_cycle_and_an_upward_import():
    assert cycle_in({"services.a": {"services.b"}, "services.b": {"services.c"}, "services.c": {"services.a"}}) == [
        "services.a", "services.b", "services.c", "services.a"]
    assert cycle_in({"services.a": {"services.b"}, "services.b": set()}) is None
    assert layer("models.plays") < layer("workflows.play") < layer("services.plays") < layer("api.routes.plays")

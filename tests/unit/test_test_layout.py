"""The suite's own layout (tests/conftest.py says which folder is for what): every test module sits in a layer
folder, none imports another test module or conftest.py (shared helpers are in tests/support/), and a layer asks
for no fixture of a heavier one."""

import ast
from pathlib import Path

from tests.support.paths import PROJECT_ROOT

TESTS = PROJECT_ROOT / "tests"
LAYERS = ("unit", "workflows", "api", "browser", "faults")
# The fixtures that start a server, and the layers that may ask for them.
SERVER_FIXTURES = {"ts_env": {"workflows", "api", "browser", "faults"}, "ts_worker": {"workflows", "api", "browser", "faults"},
                   "api": {"api", "browser"}, "api_stack": {"api", "browser"}}


def modules_with_tests() -> list[Path]:
    return sorted(p for p in TESTS.rglob("test_*.py") if "histories" not in p.parts)


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, at module top or inside a function, relative imports resolved."""
    package = ".".join(path.relative_to(PROJECT_ROOT).parent.parts)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}  # `from tests.api import test_x`
    return found


def is_test_module(name: str) -> bool:
    parts = name.split(".")
    return parts[0] == "tests" and (parts[-1].startswith("test_") or parts[-1] == "conftest")


def test_every_test_module_sits_in_a_layer_folder():
    misplaced = [str(p.relative_to(TESTS)) for p in modules_with_tests() if p.relative_to(TESTS).parts[0] not in LAYERS]
    assert not misplaced, f"test modules outside {', '.join(f'tests/{layer}/' for layer in LAYERS)}: {misplaced}"
    assert all((TESTS / layer / "__init__.py").is_file() for layer in LAYERS)


def test_no_module_imports_a_test_module_or_conftest():
    """Helpers two test modules share go to tests/support/; fixtures to tests/conftest.py, which pytest provides."""
    importers = [p for p in TESTS.rglob("*.py") if "histories" not in p.parts and p.name != "conftest.py"]
    importers += sorted((PROJECT_ROOT / "scripts").glob("*.py"))
    offending = {str(p.relative_to(PROJECT_ROOT)): sorted(m for m in imported_modules(p) if is_test_module(m))
                 for p in importers}
    offending = {path: modules for path, modules in offending.items() if modules}
    assert not offending, f"import these from tests/support/ instead: {offending}"


def test_a_layer_asks_for_no_fixture_of_a_heavier_layer():
    heavier = []
    for path in modules_with_tests():
        layer = path.relative_to(TESTS).parts[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                for arg in node.args.args:
                    allowed = SERVER_FIXTURES.get(arg.arg)
                    if allowed is not None and layer not in allowed:
                        heavier.append(f"{path.relative_to(TESTS)}::{node.name} asks for `{arg.arg}`")
    assert not heavier, heavier

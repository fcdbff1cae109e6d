"""The MCP surface cannot drift from the API (issue 17): every /api/v1 operation is a tool or a listed exclusion with
its reason; each tool answers with the very model its operation answers with; acts say why and are bounded."""

import re

import pytest

from api.agent.calls import TOOLS
from api.agent.guide import PROMPTS, prompt
from api.agent.registry import EXCLUDED, Listed, Tool
from api.main import create_app
from services.rituals import DEFAULT_RITUALS


@pytest.fixture(scope="module")
def operations() -> dict[str, dict]:
    spec = create_app().openapi()
    return {f"{method.upper()} {path}": operation for path, methods in spec["paths"].items()
            for method, operation in methods.items() if path.startswith("/api/v1")}


def test_every_api_operation_is_a_tool_or_a_listed_exclusion(operations):
    covered = {op for tool in TOOLS.values() for op in tool.operations}
    missing = sorted(set(operations) - covered - set(EXCLUDED))
    assert not missing, f"API operations with no MCP tool: add one (api/agent) or list it in EXCLUDED: {missing}"
    assert not covered & set(EXCLUDED), "an operation is both a tool and excluded"
    assert not (covered | set(EXCLUDED)) - set(operations), "a tool or exclusion names an operation the API lacks"
    assert all(reason.strip() for reason in EXCLUDED.values())


def _response_model(operation: dict) -> str | None:
    content = operation["responses"].get("200", operation["responses"].get("201", operation["responses"].get("202", {})))
    schema = content.get("content", {}).get("application/json", {}).get("schema", {})
    schema = schema.get("items", schema)
    return schema.get("$ref", "").rsplit("/", 1)[-1] or None


def _model_name(tool: Tool) -> str:
    output = tool.output
    if getattr(output, "__origin__", None) is list:
        output = output.__args__[0]
    if isinstance(output, type) and issubclass(output, Listed):
        output = output.model_fields["items"].annotation.__args__[0]
    return output.__name__


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_a_tool_answers_with_its_operations_model(name, operations):
    tool = TOOLS[name]
    for operation in tool.operations:
        expected = _response_model(operations[operation])
        if expected is not None and name != "get_config":  # get_config answers any config kind, named in `kind`
            assert _model_name(tool) == expected, f"{name} answers {_model_name(tool)}, {operation} answers {expected}"


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_schemas_are_objects_and_acts_state_a_bounded_reason(name):
    tool = TOOLS[name]
    assert tool.input_schema()["type"] == "object" and tool.output_schema()["type"] == "object"
    reason = tool.input_schema()["properties"].get("stated_reason")
    assert (reason is not None) == tool.act
    if tool.act:
        assert reason["maxLength"] == 2000 and reason["minLength"] == 1
        assert set(tool.output_schema()["properties"]) == {"proposal", "result"}


@pytest.mark.parametrize("name", [p.name for p in PROMPTS])
def test_a_prompt_names_only_tools_and_rituals_that_exist(name):
    text = prompt(name, {"account_id": "acme"}).messages[0].content.text
    tools = set(re.findall(r"\b(?:get|list|my|acknowledge|reassign|create|complete|exit)_[a-z_]+\b", text))
    assert tools and tools <= set(TOOLS), sorted(tools - set(TOOLS))
    rituals = set(re.findall(r'ritual_key "([a-z_]+)"', text))
    assert rituals <= {r["key"] for r in DEFAULT_RITUALS["rituals"]}, rituals

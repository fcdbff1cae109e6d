"""Every recorded history under tests/histories replays on the current workflow code.

A workflow change that would break executions already running (a new command without `workflow.patched`)
fails here. Record new histories with `make histories`."""

import pytest
from temporalio.client import WorkflowHistory

from services.ops import replay
from tests.support.paths import HISTORIES_DIR
from workflows import WORKFLOWS

HISTORIES = sorted(HISTORIES_DIR.glob("*.json"))


def test_histories_are_recorded_for_every_workflow_type():
    recorded = {WorkflowHistory.from_json(p.stem, p.read_text()).events[0]
                .workflow_execution_started_event_attributes.workflow_type.name for p in HISTORIES}
    assert {w.__name__ for w in WORKFLOWS} <= recorded


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays_deterministically(path):
    result = await replay(WorkflowHistory.from_json(path.stem, path.read_text()), WORKFLOWS)
    assert result.deterministic, result.error

"""Workflow histories: recording them for the replay tests, and the events a refused update may leave."""

import os

from temporalio.api.enums.v1 import EventType

from tests.support.paths import HISTORIES_DIR

# A refused update leaves no event but these (a workflow task that ran the validator).
WORKFLOW_TASK_EVENTS = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
}


async def record_history(handle, name: str) -> None:
    """With PILLAR_RECORD_HISTORIES=1 (`make histories`), keep this execution's history for the replay tests.

    Recorded histories are committed: CI replays every one of them against the current workflow code, so a
    change that would break executions already running fails CI. An existing file is never overwritten: it stands
    for executions of the code it was recorded with, which may still be running. To record the path a change
    adds, give it a new name."""
    path = os.path.join(HISTORIES_DIR, f"{name}.json")
    if os.environ.get("PILLAR_RECORD_HISTORIES") != "1" or os.path.exists(path):
        return
    history = await handle.fetch_history()
    os.makedirs(HISTORIES_DIR, exist_ok=True)
    with open(path, "w") as out:
        out.write(history.to_json())

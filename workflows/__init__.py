"""Pillar's Temporal workflows. `WORKFLOWS` is their registry: the worker runs them, and ops (API, CLI, scripts)
replays histories against them, without importing the worker.

The registry is built on first use, not at import: the sandbox imports this package afresh for every workflow run,
and each run would otherwise pay for importing every other workflow's module."""


def __getattr__(name: str):
    if name != "WORKFLOWS":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from workflows.detection import DetectionSweepWorkflow
    from workflows.flywheel import FlywheelWorkflow
    from workflows.handoff import HandoffWorkflow
    from workflows.play import PlayWorkflow
    from workflows.ritual import RitualWorkflow
    from workflows.signal import SignalWorkflow

    return [SignalWorkflow, PlayWorkflow, HandoffWorkflow, RitualWorkflow, FlywheelWorkflow, DetectionSweepWorkflow]

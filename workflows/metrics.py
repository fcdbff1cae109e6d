"""Pillar's own counters, recorded from workflow code on the worker's metric meter (see core/temporal.py:
`worker_runtime`), next to the SDK's metrics on the worker's Prometheus endpoint.

`workflow.metric_meter()` records nothing while a workflow replays and adds no command to its history, so these
calls need no `workflow.patched`: recorded histories replay unchanged (tests/workflows/test_replay_histories.py).
The meter adds `workflow_type`, `namespace` and `task_queue`; every other attribute here has a handful of values."""

from temporalio import workflow


def _count(name: str, description: str, attributes: dict[str, str]) -> None:
    workflow.metric_meter().create_counter(name, description).add(1, attributes)


def signal_opened(family: str, severity: str) -> None:
    _count("pillar_signals_opened", "Signals opened (one SignalWorkflow each)", {"family": family, "severity": severity})


def sla_breached(family: str, severity: str) -> None:
    _count("pillar_sla_breaches", "Signals whose SLA lapsed unacknowledged", {"family": family, "severity": severity})


def escalation_fired(subject_type: str) -> None:
    """An escalation page: a signal, handoff or task, play step or action item overdue past its owner."""
    _count("pillar_escalations", "Escalations fired, by what escalated", {"subject_type": subject_type})


def timer_off_time(kind: str) -> None:
    """`late`: a durable timer seen more than workflows/deadlines.py's LATE_TIMER after its due time (the worker
    is behind); `early`: one that fired before its time and was re-armed."""
    _count("pillar_late_timers", "Deadline timers that fired late (worker behind) or early (re-armed)", {"kind": kind})

"""The fault suite's measure: late after recovery = fired - max(due, the last recovery before it fired)."""

from datetime import UTC, datetime, timedelta

from tests.support.faults import lateness

T0 = datetime(2026, 12, 2, 22, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_with_no_fault_lateness_counts_from_the_due_time():
    assert lateness(at(10), at(10.5), []) == (at(10), 0.5)


def test_an_escalation_due_during_the_fault_counts_from_the_recovery():
    assert lateness(at(10), at(21.5), [at(20)]) == (at(20), 1.5)


def test_an_escalation_due_after_the_recovery_counts_from_its_due_time():
    assert lateness(at(25), at(27), [at(20)]) == (at(25), 2.0)


def test_with_repeated_faults_the_last_recovery_before_it_fired_counts():
    recoveries = [at(5), at(12), at(30)]
    assert lateness(at(10), at(13), recoveries) == (at(12), 1.0)  # caught by the second fault
    assert lateness(at(4), at(6), recoveries) == (at(5), 1.0)

"""The fault suite's measure: late after recovery = fired - max(due, the last recovery before it fired)."""

import subprocess
from datetime import UTC, datetime, timedelta

from tests.support.faults import Child, lateness

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


def test_a_recovery_is_when_the_process_logged_it_ready_not_when_the_test_read_the_log(tmp_path):
    """The reader can lag a busy process by a second: a recovery noticed after the escalation it let fire would count
    that escalation from the fault before (the cause of the 3.4 s "late" lines of the one-worker SIGKILL scenario)."""
    log = tmp_path / "worker.log"
    log.write_text("2026-12-02 21:59:58,100 worker INFO migrations: none\n")
    child = Child("worker", ["true"], {}, log, ready_line="worker polling task queue")
    child.process = subprocess.Popen(["sleep", "5"])
    try:
        assert child.ready_at() is None
        with open(log, "a") as out:
            out.write("2026-12-02 22:00:01,234 worker INFO worker polling task queue 'pillar' on 127.0.0.1:7233\n")
        expected = datetime(2026, 12, 2, 22, 0, 1, 234000).astimezone(UTC)  # the log's asctime is local time
        assert child.ready_at() == expected
    finally:
        child.process.kill()
        child.process.wait()

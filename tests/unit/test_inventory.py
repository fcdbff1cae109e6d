"""The inventory import on SQLite and PostgreSQL: a team's spreadsheet of signals, owners and tasks, read against the
directory and the routing matrix before routing is switched on. It counts, it stores nothing."""

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, func, select

from core.errors import PillarError
from core.seed import load_default_config, load_demo_directory
from models.inventory import MAX_ROWS
from models.tables import SignalRow, User
from services.inventory import analyze

CSV = """kind,family,severity,account_id,owner,title,status
signal,renewal_risk,critical,acme,Lee Park,Renewal at risk,open
signal,renewal_risk,critical,acme,casey,Renewal at risk (dup),open
signal,adoption_decay,warning,globex,,Usage falling,open
signal,adoption_decay,warning,globex,Pat Former,Usage falling,open
signal,made_up_family,warning,globex,casey@example.com,Something else,open
task,,,acme,casey,Call the champion,open
task,,,initech,Old Timer,Send the QBR deck,open
signal,renewal_risk,urgent,acme,casey,bad severity,open
task,,,,casey,no account,open
signal,nps_decline,info,nowhere-inc,casey,unknown account,open
"""


@pytest.fixture
def book(any_db):
    with Session(any_db) as session:
        load_default_config(session)
        load_demo_directory(session, "inventory-admin-token-0123")
        casey = session.get(User, "casey")
        casey.email = "casey@example.com"
        session.add(User(id="otimer", name="Old Timer", role="csm", token_hash="x" * 64, disabled_at=datetime.now(UTC)))
        session.add(casey)
        session.commit()
    return any_db


def test_rows_without_a_defined_owner_are_counted_by_reason_and_routing_is_previewed(book):
    with Session(book) as session:
        report = analyze(session, CSV)
        signals_after = session.exec(select(func.count()).select_from(SignalRow)).one()
    assert (report.rows, report.signals, report.tasks) == (8, 6, 2)
    assert report.without_owner == 3 and report.with_owner == 5
    assert {k.value: v for k, v in report.without_owner_by_reason.items()} == {"blank": 1, "unknown": 1, "disabled": 1}
    # routing v1: both renewal_risk rows route to lee and alex (casey would lose hers), adoption_decay to casey,
    # the made-up family has no rule, and the nps row's account is unknown
    assert (report.routed, report.no_routing_rule, report.unfilled_roles, report.unknown_accounts) == (4, 1, 0, 1)
    assert report.owner_would_change == 1
    assert [(f.family, f.rows, f.without_owner, f.no_routing_rule) for f in report.by_family] == [
        ("(none)", 2, 1, 0), ("adoption_decay", 2, 2, 0), ("made_up_family", 1, 0, 1), ("nps_decline", 1, 0, 0),
        ("renewal_risk", 2, 0, 0)]
    assert [(p.line, p.message) for p in report.problems] == [
        (9, "severity 'urgent' is not critical, warning or info"), (10, "account_id is empty")]
    assert report.summary.startswith("3 of 8 item(s) (38%) have no defined owner (1 blank, 1 unknown, 1 disabled)")
    assert signals_after == 0  # it reads; nothing opens


def test_a_csv_without_the_needed_columns_or_too_long_is_refused(book):
    with Session(book) as session:
        with pytest.raises(PillarError, match="missing: owner"):
            analyze(session, "family,account_id\nrenewal_risk,acme\n")
        rows = "family,severity,account_id,owner\n" + "nps_decline,info,acme,casey\n" * (MAX_ROWS + 1)
        with pytest.raises(PillarError, match=f"more than {MAX_ROWS} rows"):
            analyze(session, rows)

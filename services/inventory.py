"""The inventory import (issue 16): how much of what a team tracks today has no defined owner, and what the routing
matrix would do with it, before routing is switched on. It reads; it stores and starts nothing."""

import csv
import io
from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlmodel import Session, select

from core.errors import PillarError
from models.common import Severity
from models.inventory import (
    COLUMNS, MAX_PROBLEMS, MAX_ROWS, FamilyCount, InventoryReport, NoOwnerReason, RowProblem,
)
from models.routing import RoutingConfig
from models.tables import Account, User
from services.directory import resolve_owners
from services.signals import current_routing

KINDS = ("signal", "task")


@dataclass(frozen=True)
class Row:
    line: int
    kind: str
    family: str
    severity: Severity | None
    account_id: str
    owner: str


def analyze(session: Session, text: str) -> InventoryReport:
    rows, problems = read_rows(text)
    people = Directory(session.exec(select(User)).all())
    accounts = {a.id: a for a in session.exec(select(Account).where(Account.id.in_({r.account_id for r in rows})))}
    try:
        routing = current_routing(session)
    except PillarError:
        routing = None
    return _report(session, rows, problems, people, accounts, routing)


def read_rows(text: str) -> tuple[list[Row], list[RowProblem]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in ("family", "account_id", "owner") if c not in header]
    if missing:
        raise PillarError("invalid", f"the CSV needs a header row with the columns {', '.join(COLUMNS)}; "
                                     f"missing: {', '.join(missing)}", {"missing_columns": missing})
    reader.fieldnames = header
    rows, problems = [], []
    for line, cells in enumerate(reader, start=2):
        if len(rows) + len(problems) >= MAX_ROWS:
            raise PillarError("invalid", f"the CSV has more than {MAX_ROWS} rows: split it", {"max_rows": MAX_ROWS})
        cells = {k: (v or "").strip() for k, v in cells.items() if k}
        if not any(cells.values()):
            continue
        try:
            rows.append(_row(line, cells))
        except ValueError as error:
            problems.append(RowProblem(line=line, message=str(error)))
    return rows, problems


def _row(line: int, cells: dict[str, str]) -> Row:
    kind = cells.get("kind", "").lower() or "signal"
    if kind not in KINDS:
        raise ValueError(f"kind {cells['kind']!r} is neither signal nor task")
    severity = cells.get("severity", "").lower()
    if severity and severity not in Severity.__members__:
        raise ValueError(f"severity {cells['severity']!r} is not critical, warning or info")
    if kind == "signal" and not (cells.get("family") and severity):
        raise ValueError("a signal row needs a family and a severity")
    if not cells.get("account_id"):
        raise ValueError("account_id is empty")
    return Row(line=line, kind=kind, family=cells.get("family", "")[:64], severity=Severity(severity) if severity else None,
               account_id=cells["account_id"][:64], owner=cells.get("owner", "")[:320])


class Directory:
    """People as a team writes them: a user id, an email or a full name (a name two people share names nobody)."""

    def __init__(self, users: list[User]) -> None:
        self.by_key: dict[str, User | None] = {}
        for user in users:
            for key in {user.id.lower(), (user.email or "").lower(), user.name.lower()} - {""}:
                self.by_key[key] = None if key in self.by_key and self.by_key[key] is not user else user

    def find(self, written: str) -> User | None:
        return self.by_key.get(written.strip().lower())


def _report(session: Session, rows: list[Row], problems: list[RowProblem], people: Directory,
            accounts: dict[str, Account], routing: RoutingConfig | None) -> InventoryReport:
    reasons: Counter[NoOwnerReason] = Counter()
    routes: Counter[str] = Counter()
    families: dict[str, Counter[str]] = defaultdict(Counter)
    owners_cache: dict[tuple, list[str]] = {}
    for row in rows:
        person = people.find(row.owner) if row.owner else None
        reason = (NoOwnerReason.blank if not row.owner else NoOwnerReason.unknown if person is None
                  else NoOwnerReason.disabled if person.disabled_at else None)
        family = families[row.family or "(none)"]
        family["rows"] += 1
        if reason:
            reasons[reason] += 1
            family["without_owner"] += 1
        account = accounts.get(row.account_id)
        if account is None:
            routes["unknown_account"] += 1
        elif row.kind == "signal" and routing is not None:
            route, owners = _route(session, routing, row, account, owners_cache)
            routes[route] += 1
            family["no_routing_rule"] += route == "no_rule"
            if route == "routed" and person is not None and person.id not in owners:
                routes["owner_would_change"] += 1
    without = sum(reasons.values())
    report = InventoryReport(
        rows=len(rows), signals=sum(r.kind == "signal" for r in rows), tasks=sum(r.kind == "task" for r in rows),
        with_owner=len(rows) - without, without_owner=without,
        without_owner_share=round(without / len(rows), 4) if rows else 0.0,
        without_owner_by_reason={reason: reasons[reason] for reason in NoOwnerReason},
        routing_version=routing.version if routing else None,
        routed=routes["routed"], no_routing_rule=routes["no_rule"], unfilled_roles=routes["unfilled"],
        owner_would_change=routes["owner_would_change"], unknown_accounts=routes["unknown_account"],
        by_family=[FamilyCount(family=name, rows=c["rows"], without_owner=c["without_owner"],
                               no_routing_rule=c["no_routing_rule"]) for name, c in sorted(families.items())],
        problems=problems[:MAX_PROBLEMS], summary="")
    report.summary = _summary(report, len(problems))
    return report


def _route(session: Session, routing: RoutingConfig, row: Row, account: Account,
           cache: dict[tuple, list[str]]) -> tuple[str, list[str]]:
    """What routing would do with a signal row: ("routed", its owners), ("no_rule", []) or ("unfilled", [])."""
    rule = routing.rule_for(row.family, row.severity)
    if rule is None:
        return "no_rule", []
    key = (account.id, row.family, row.severity)
    if key not in cache:
        cache[key] = resolve_owners(session, account, [r.value for r in rule.owners])[0]
    return ("routed" if cache[key] else "unfilled"), cache[key]


def _summary(report: InventoryReport, unreadable: int) -> str:
    if not report.rows:
        return f"no readable rows ({unreadable} with a problem)"
    text = (f"{report.without_owner} of {report.rows} item(s) ({report.without_owner_share:.0%}) have no defined owner "
            f"({', '.join(f'{n} {reason.value}' for reason, n in report.without_owner_by_reason.items() if n) or 'none'})")
    if report.routing_version is not None and report.signals:
        text += (f"; routing v{report.routing_version} would give {report.routed} of {report.signals} signal(s) an owner, "
                 f"{report.no_routing_rule} have no rule, {report.unfilled_roles} an unfilled role, and "
                 f"{report.owner_would_change} would change owner")
    if unreadable:
        text += f"; {unreadable} row(s) could not be read"
    return text

"""Response analytics over the signals read model (issue 19 item 6): one SQL statement computes every group's
counts and nearest-rank percentiles (percentile_disc on PostgreSQL, window functions on SQLite), over a bounded
window of weeks. Which signals count follows the caller's visibility (services/visibility.py)."""

import csv
import io
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Integer, and_, case, cast, func, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from core.errors import PillarError
from models.response import Dimension, ResponseGroup, ResponseMetrics
from models.tables import SignalRow, User
from services.visibility import Viewer, only_visible

DEFAULT_WEEKS, MAX_WEEKS = 12, 52
UNIX_MONDAY = 4 * 86400  # 1970-01-05, the first Monday after the epoch: weeks are counted from it
WEEK = 7 * 86400
MEASURES = {"time_to_acknowledge": SignalRow.acknowledged_at, "time_to_first_task": SignalRow.first_task_at,
            "time_to_resolution": SignalRow.resolved_at}
PERCENTILES = {"median": (1, 2), "p90": (9, 10)}  # p = a/b: the rank is ceil(n·a/b) = (n·a + b − 1) // b


def parse_by(text: str | None) -> list[Dimension]:
    """`family,week` → the grouping dimensions, each at most once, in the order given."""
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    unknown = [n for n in names if n not in Dimension.__members__]
    if unknown:
        raise PillarError("invalid", f"cannot group by {', '.join(unknown)}; group by any of: "
                          f"{', '.join(Dimension.__members__)}", {"field": "by"})
    if len(set(names)) != len(names):
        raise PillarError("invalid", "name each dimension of `by` once", {"field": "by"})
    return [Dimension(n) for n in names]


def window(weeks: int, now: datetime) -> tuple[datetime, datetime]:
    """`weeks` whole weeks, Monday 00:00 UTC, this one included."""
    monday = now.date() - timedelta(days=now.weekday())
    return datetime.combine(monday - timedelta(weeks=weeks - 1), time.min, tzinfo=UTC), now


def _epoch(column, dialect: str):
    if dialect == "postgresql":
        return func.extract("epoch", column)
    return (func.julianday(column) - 2440587.5) * 86400.0


def _week_index(column, dialect: str):
    weeks = (_epoch(column, dialect) - UNIX_MONDAY) / WEEK
    return cast(func.floor(weeks), Integer) if dialect == "postgresql" else cast(weeks, Integer)  # both ≥ 0


def _base(session: Session, by: list[Dimension], since: datetime, until: datetime, viewer: Viewer | None):
    dialect = session.get_bind().dialect.name
    owner = aliased(User)
    owner_id = func.coalesce(SignalRow.acknowledged_by, SignalRow.owner_id)
    dimensions = {
        Dimension.family: SignalRow.family, Dimension.severity: SignalRow.severity, Dimension.owner: owner_id,
        Dimension.team: func.coalesce(owner.manager_id, owner.id), Dimension.week: _week_index(SignalRow.created_at, dialect),
    }
    created = _epoch(SignalRow.created_at, dialect)
    acknowledged = SignalRow.acknowledged_at.is_not(None)
    query = (
        select(
            *(dimensions[d].label(d.value) for d in by),
            *((_epoch(column, dialect) - created).label(name) for name, column in MEASURES.items()),
            case((or_(acknowledged, SignalRow.sla_due_at < until), 1), else_=0).label("decided"),
            case((and_(acknowledged, SignalRow.acknowledged_at <= SignalRow.sla_due_at), 1), else_=0).label("met"),
            case((SignalRow.escalation_level > 0, 1), else_=0).label("escalated"),
        )
        .select_from(SignalRow)
        .outerjoin(owner, owner.id == owner_id)
        .where(SignalRow.created_at >= since, SignalRow.created_at < until)
    )
    return only_visible(query, SignalRow, viewer).cte("base")


def _ranked_picks(base, by: list[Dimension]):
    """Nearest-rank percentiles with window functions (SQLite has no ordered-set aggregates): each value's rank and
    its group's count, then the value at rank ceil(n·p)."""
    keys = [base.c[d.value] for d in by]
    ranks = []
    for name in MEASURES:
        value = base.c[name]
        ranks += [func.row_number().over(partition_by=keys or None, order_by=[value.is_(None), value]).label(f"{name}_rank"),
                  func.count(value).over(partition_by=keys or None).label(f"{name}_n")]
    ranked = select(base, *ranks).cte("ranked")
    picks = []
    for name in MEASURES:
        value, rank, n = ranked.c[name], ranked.c[f"{name}_rank"], ranked.c[f"{name}_n"]
        for label, (a, b) in PERCENTILES.items():
            picks.append(func.min(case((rank == (n * a + b - 1) // b, value))).label(f"{name}_{label}_s"))
    return ranked, picks


def _ordered_set_picks(base):
    """PostgreSQL's percentile_disc is the same nearest-rank percentile in one pass, without a sort per measure."""
    picks = [func.percentile_disc(a / b).within_group(base.c[name]).label(f"{name}_{label}_s")
             for name in MEASURES for label, (a, b) in PERCENTILES.items()]
    return base, picks


def _statement(base, by: list[Dimension], dialect: str):
    source, picks = _ordered_set_picks(base) if dialect == "postgresql" else _ranked_picks(base, by)
    group = [source.c[d.value] for d in by]
    return (select(*group, func.count().label("signals"), func.count(source.c.time_to_acknowledge).label("acknowledged"),
                   *picks, func.sum(source.c.decided).label("sla_decided"), func.sum(source.c.met).label("sla_met"),
                   func.sum(source.c.escalated).label("escalated"))
            .group_by(*group).order_by(*group))


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _group(row, by: list[Dimension]) -> ResponseGroup:
    values = dict(row._mapping)
    if Dimension.week in by:
        values["week"] = date(1970, 1, 5) + timedelta(weeks=int(values["week"]))
    for key in ("sla_decided", "sla_met", "escalated"):
        values[key] = int(values[key] or 0)
    for key, value in values.items():
        if key.endswith("_s") and value is not None:
            values[key] = round(float(value), 1)
    return ResponseGroup(**values, sla_compliance_pct=_pct(values["sla_met"], values["sla_decided"]),
                         escalation_rate_pct=_pct(values["escalated"], values["signals"]))


def response_metrics(session: Session, by: list[Dimension], weeks: int = DEFAULT_WEEKS, viewer: Viewer | None = None,
                     now: datetime | None = None) -> ResponseMetrics:
    if not 1 <= weeks <= MAX_WEEKS:
        raise PillarError("invalid", f"weeks must be between 1 and {MAX_WEEKS}", {"field": "weeks"})
    since, until = window(weeks, now or datetime.now(UTC))
    dialect = session.get_bind().dialect.name
    rows = session.execute(_statement(_base(session, by, since, until, viewer), by, dialect)).all()
    return ResponseMetrics(since=since, until=until, weeks=weeks, by=by, groups=[_group(r, by) for r in rows if r.signals])


def csv_text(header: list[str], rows: Iterable[Iterable]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue()


def metrics_csv(metrics: ResponseMetrics) -> str:
    """One line per group: its dimensions, then every figure (seconds and percentages)."""
    figures = [f for f in ResponseGroup.model_fields if f not in Dimension.__members__]
    header = [d.value for d in metrics.by] + figures
    return csv_text(header, ([getattr(g, h) for h in header] for g in metrics.groups))

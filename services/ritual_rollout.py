"""The rituals' rollout: since when each ritual is enabled, its weekly action-item completion rate since then against
the 75% target, whether it sticks, and which ritual to switch on next (the week's order)."""

from datetime import UTC, datetime

from sqlmodel import Session, select

from models.ritual_rollout import RitualRollout, RolloutView
from models.rituals import RitualDef, RitualKind, WeekCompletion
from models.tables import ConfigVersion
from services.action_items import completion_metrics
from services.rituals import RITUALS, config_out, current_rituals, week_start

TARGET_PCT = 75.0
STICK_WEEKS = 3
MAX_WEEKS = 104
ORDER = [RitualKind.signal_triage, RitualKind.execution_one_on_ones, RitualKind.forecast_call,
         RitualKind.at_risk_review, RitualKind.retro]


def enabled_since(session: Session) -> dict[str, tuple[int, datetime]]:
    """Each ritual enabled in the latest version → (version, written at) of the version that switched it on: the
    first of the versions it has been enabled in ever since."""
    since: dict[str, tuple[int, datetime]] = {}
    for row in session.exec(select(ConfigVersion).where(ConfigVersion.kind == RITUALS).order_by(ConfigVersion.version)):
        enabled = {r.key for r in config_out(row).rituals if r.enabled}
        since = {key: since.get(key, (row.version, row.created_at)) for key in enabled}
    return since


def weeks_at_target(weeks: list[WeekCompletion]) -> int:
    """How many of the latest judged weeks (a week with nothing due yet does not count) ran at or above the target."""
    running = 0
    for week in reversed([w for w in weeks if w.completion_rate_pct is not None]):
        if week.completion_rate_pct < TARGET_PCT:
            break
        running += 1
    return running


def _rate(weeks: list[WeekCompletion]) -> float | None:
    judged = sum(w.created - w.pending for w in weeks)
    return round(100 * sum(w.completed_on_time for w in weeks) / judged, 1) if judged else None


def _in_order(rituals: list[RitualDef]) -> list[RitualDef]:
    rank = {kind.value: n for n, kind in enumerate(ORDER)}
    return sorted(rituals, key=lambda r: rank.get(r.kind, len(ORDER)))


def _next(rollouts: list[RitualRollout]) -> tuple[str | None, str]:
    waiting = [r for r in rollouts if r.enabled and not r.sticks]
    candidate = next((r for r in rollouts if not r.enabled), None)
    if candidate is None:
        return None, "every ritual is enabled"
    if waiting:
        names = ", ".join(r.name for r in waiting)
        return None, (f"switch on {candidate.name} once these stick ({TARGET_PCT:g}% for {STICK_WEEKS} weeks "
                      f"running): {names}")
    return candidate.ritual_key, f"every enabled ritual sticks: switch on {candidate.name} next"


def rollout_view(session: Session, as_of: datetime | None = None) -> RolloutView:
    as_of = as_of or datetime.now(UTC)
    since = enabled_since(session)
    rituals = _in_order(current_rituals(session).rituals)
    first = min((at for _, at in since.values()), default=as_of)
    span = min(MAX_WEEKS, (week_start(as_of) - week_start(first)).days // 7 + 1)
    metrics = {r.ritual_key: r.weeks for r in completion_metrics(session, as_of, weeks=span).rituals}
    rollouts = [_rollout(ritual, since.get(ritual.key), metrics.get(ritual.key, [])) for ritual in rituals]
    next_key, reason = _next(rollouts)
    return RolloutView(as_of=as_of, target_pct=TARGET_PCT, stick_weeks=STICK_WEEKS, order=[k.value for k in ORDER],
                       rituals=rollouts, next_to_enable=next_key, next_reason=reason)


def _rollout(ritual: RitualDef, since: tuple[int, datetime] | None, weeks: list[WeekCompletion]) -> RitualRollout:
    version, at = since or (None, None)
    mine = [w for w in weeks if at is not None and w.week_start >= week_start(at)]
    running = weeks_at_target(mine)
    return RitualRollout(ritual_key=ritual.key, name=ritual.name, kind=ritual.kind, enabled=ritual.enabled,
                         enabled_since=at, enabled_in_version=version, weeks=mine, completion_rate_pct=_rate(mine),
                         weeks_at_target=running, sticks=running >= STICK_WEEKS)

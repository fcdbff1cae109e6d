"""How the pages say times, durations and money: "2h 13m left", "overdue by 3h", "$180K"."""

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any


def span(delta: timedelta | float) -> str:
    """A duration (or a number of seconds) in the two largest units that matter: 2d 4h, 2h 13m, 13m, 45s."""
    seconds = max(0, int(delta.total_seconds() if isinstance(delta, timedelta) else delta))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m"
    return f"{seconds}s"


def countdown(due: datetime | None, now: datetime) -> str:
    """Time left until `due`, or how far past it: "2h 13m left", "overdue by 3h"."""
    if due is None:
        return ""
    if due >= now:
        return f"{span(due - now)} left"
    return f"overdue by {span(now - due)}"


def ago(at: datetime | None, now: datetime) -> str:
    if at is None:
        return ""
    if now - at < timedelta(seconds=5):
        return "just now"
    return f"{span(now - at)} ago"


def is_overdue(due: datetime | None, now: datetime) -> bool:
    return due is not None and due < now


def clock(at: datetime | None) -> str:
    """An absolute UTC time for the page (the browser's script shows it in the reader's own zone)."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at else ""


def money(amount: float | None) -> str:
    if amount is None:
        return "—"
    if abs(amount) >= 1_000_000:
        return f"${amount / 1_000_000:,.1f}M".replace(".0M", "M")
    if abs(amount) >= 1000:
        return f"${amount / 1000:,.0f}K"
    return f"${amount:,.0f}"


ACRONYMS = {"ae", "arr", "cac", "crm", "csm", "icp", "nps", "nrr", "sdr", "sla", "vp", "id", "ids"}
SPELLED = {"revops": "RevOps"}


def label(key: str | None) -> str:
    """`csm_escalation` → `CSM escalation`: a key in words, acronyms in capitals."""
    parts = str(key or "").replace("-", " ").replace("_", " ").split()
    return " ".join(SPELLED.get(p.lower(), p.upper() if p.lower() in ACRONYMS else p) for p in parts)


def words(key: str | None) -> str:
    """`renewal_risk` → `Renewal risk`, `nps_decline` → `NPS decline`: a label that starts a sentence."""
    return sentence(label(key))


def sentence(text: str | None) -> str:
    """A capital first letter, unless the text starts with an identifier (`blocked_waiting_on needs …`)."""
    text = str(text or "").strip()
    first = text.split(" ", 1)[0]
    return text if not first.isalpha() and "_" in first else text[:1].upper() + text[1:]


def whole(value: float | None) -> str:
    """A score as a whole number, halves rounded up as the scores' own explanations do (24.5 → 25)."""
    if value is None:
        return "—"
    return str(int(math.copysign(math.floor(abs(value) + 0.5), value)))


def plain(value: Any) -> str:
    """An evidence value in words: numbers without trailing zeros, lists and mappings flattened."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return ", ".join(f"{label(k)} {plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(plain(v) for v in value)
    return str(value)


ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})")


def humane(text: str | None) -> str:
    """Timestamps inside a timeline's detail, said the way the rest of the page says them."""
    def short(match: re.Match) -> str:
        at = datetime.fromisoformat(match.group(0).replace("Z", "+00:00"))
        return at.astimezone(UTC).strftime("%b %d %H:%M UTC")

    return ISO_TIME.sub(short, text or "")


# what detection keeps for machines (internal measures such as a tier's rank): a person reads `why` instead
NOISY_EVIDENCE = ("event_ids", "window_start", "window_end", "detected_by", "dedup_key", "measured", "thresholds")


def evidence(items: dict[str, Any] | None) -> list[tuple[str, str]]:
    """What a signal's evidence says, for a person: event ids and bookkeeping left to the signal's own page."""
    return [(words(k), plain(v)) for k, v in (items or {}).items() if k not in NOISY_EVIDENCE and v not in (None, "", [], {})]


LONG_TEXT = ("summary", "plan", "evidence", "criteria", "terms", "cause", "risks", "notes", "map", "pain")


def field_input(name: str) -> str:
    """The input a step's output field gets, from its name: dates, amounts, long text, or a line of text."""
    if name.endswith("_date") or name == "date":
        return "date"
    if name.endswith(("_cost", "_amount", "_arr", "_count")) or name in ("cost", "amount", "arr"):
        return "number"
    if any(part in name for part in LONG_TEXT):
        return "textarea"
    return "text"

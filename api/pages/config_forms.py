"""Each versioned config as a form: its lists as tables of rows (sub-rows for escalation ladders and conditions),
everything else as one input per setting, and JSON only for the nested parts a table cannot show.

A form is a flat dict of field name → text both ways: `form_values` renders a config's body into it, `parse_form`
reads it back into a body (the fields a row does not show travel in its hidden `extra`, so a rule field another
part of Pillar adds is never lost), and `field_errors` puts each validation error next to the field it is about."""

import json
from dataclasses import dataclass
from typing import Any, Callable

from pydantic import BaseModel, ValidationError

from core import config_store
from models.account_calendars import CalendarKind
from models.common import Role, Severity
from models.detection import Metric, Op
from models.rituals import Recurrence, RitualKind, RitualsConfigIn, Weekday
from models.rotations import Handover
from models.scoring import RiskTier
from services.config_views import CONFIGS, ConfigKind
from services.rituals import RITUALS

ROLES = [r.value for r in Role]
METADATA = ("version", "created_at", "created_by")
MAX_ROWS, MAX_SUBROWS = 1000, 100  # far above any config's list, and what a form (or a forged count) can ask for


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    kind: str = "text"  # text, long (text in a box), select, list (comma-separated), bool, json, rows
    options: tuple[str, ...] = ()
    optional: bool = False  # empty means none
    sub: tuple["Column", ...] = ()  # a `rows` column's own columns
    to_rows: Callable[[Any], list[dict]] = lambda value: value or []
    from_rows: Callable[[list[dict]], Any] = lambda rows: rows
    hint: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    label: str
    columns: tuple[Column, ...]

    @property
    def row_label(self) -> str:
        return self.label.removesuffix("s").lower()


@dataclass(frozen=True)
class Leaf:
    path: str
    kind: str  # text, bool, list, json

    @property
    def name(self) -> str:
        return f"l.{self.path}"


@dataclass(frozen=True)
class ConfigForm:
    slug: str
    title: str
    store_key: str
    model_in: type[BaseModel]
    about: str
    tables: tuple[Table, ...] = ()
    kind: ConfigKind | None = None  # None: the rituals, written with their schedules


def _overrides_to_rows(value: dict) -> list[dict]:
    return [{"motion": motion, "metric": metric, "value": threshold}
            for motion, thresholds in (value or {}).items() for metric, threshold in thresholds.items()]


def _overrides_from_rows(rows: list[dict]) -> dict:
    overrides: dict[str, dict] = {}
    for row in rows:
        overrides.setdefault(row.get("motion") or "", {})[row.get("metric") or ""] = row.get("value")
    return overrides


def _escalation() -> Column:
    return Column("escalation", "Escalation", "rows", sub=(
        Column("after", "After", hint="ISO-8601, e.g. PT2H"), Column("to", "To", "select", tuple(ROLES))))


SEVERITY = Column("severity", "Severity", "select", tuple(s.value for s in Severity))
FORMS = {form.slug: form for form in (
    ConfigForm("routing", "Routing matrix", CONFIGS[ConfigKind.routing][0], CONFIGS[ConfigKind.routing][2],
               "Signal family × severity → owner roles, SLA and escalation ladder. A new signal follows the version in "
               "force when it fires; running ones keep theirs.",
               (Table("rules", "Rules", (Column("family", "Family"), SEVERITY,
                                         Column("owners", "Owners", "list", hint="roles, comma-separated"),
                                         Column("sla", "SLA", hint="ISO-8601, e.g. PT4H"), _escalation())),),
               ConfigKind.routing),
    ConfigForm("task-templates", "Task templates", CONFIGS[ConfigKind.task_templates][0],
               CONFIGS[ConfigKind.task_templates][2],
               "What an acknowledged signal can turn into, by family and segment.",
               (Table("templates", "Templates", (
                   Column("key", "Key"), Column("title", "Title", "long"), Column("family", "Family"),
                   Column("segments", "Segments", "list", hint="empty: any"),
                   Column("play_key", "Starts play", optional=True), Column("due", "Due", optional=True))),),
               ConfigKind.task_templates),
    ConfigForm("handoff-specs", "Handoff specs", CONFIGS[ConfigKind.handoff_specs][0],
               CONFIGS[ConfigKind.handoff_specs][2],
               "Each handoff kind's required fields, who sends and receives it, its acceptance SLA and escalation.",
               (Table("specs", "Specs", (
                   Column("kind", "Kind"), Column("required_fields", "Required fields", "list"),
                   Column("sender_roles", "Senders", "list"), Column("receiver_roles", "Receivers", "list"),
                   Column("acceptance_sla", "Acceptance SLA"), _escalation(),
                   Column("team_change", "Team change", "json", optional=True, hint='e.g. {"role": "csm"}'))),),
               ConfigKind.handoff_specs),
    ConfigForm("signal-definitions", "Signal definitions", CONFIGS[ConfigKind.signal_definitions][0],
               CONFIGS[ConfigKind.signal_definitions][2],
               "What fires a signal: conditions that must all hold, and thresholds per motion.",
               (Table("definitions", "Definitions", (
                   Column("family", "Family"), SEVERITY, Column("description", "Description", "long"),
                   Column("conditions", "Conditions", "rows", sub=(
                       Column("metric", "Metric", "select", tuple(m.value for m in Metric)),
                       Column("op", "Op", "select", tuple(o.value for o in Op)), Column("value", "Value"))),
                   Column("motion_overrides", "Thresholds per motion", "rows", sub=(
                       Column("motion", "Motion"), Column("metric", "Metric", "select", tuple(m.value for m in Metric)),
                       Column("value", "Threshold")), to_rows=_overrides_to_rows, from_rows=_overrides_from_rows),
                   Column("phase_overrides", "Thresholds per calendar phase", "rows", sub=(
                       Column("motion", "Phase"), Column("metric", "Metric", "select", tuple(m.value for m in Metric)),
                       Column("value", "Threshold")), to_rows=_overrides_to_rows, from_rows=_overrides_from_rows),
                   Column("quiet_phases", "Quiet in phases", "list", hint="calendar phases, comma-separated"),
                   Column("dedup_window", "Dedup window"), Column("play_key", "Play", optional=True))),),
               ConfigKind.signal_definitions),
    ConfigForm("score-weights", "Score weights", CONFIGS[ConfigKind.score_weights][0],
               CONFIGS[ConfigKind.score_weights][2],
               "The weights of the health, renewal-risk, forecast and pipeline scores, and the risk tiers' thresholds.",
               kind=ConfigKind.score_weights),
    ConfigForm("cost-model", "Cost model", CONFIGS[ConfigKind.cost_model][0], CONFIGS[ConfigKind.cost_model][2],
               "What a save costs per risk tier, against the cost of replacing the account.", kind=ConfigKind.cost_model),
    ConfigForm("territory", "Territory settings", CONFIGS[ConfigKind.territory][0], CONFIGS[ConfigKind.territory][2],
               "Owner capacity and risk concentration for territory recommendations.", kind=ConfigKind.territory),
    ConfigForm("rituals", "Rituals", RITUALS, RitualsConfigIn,
               "The weekly rituals, the triage score's weights and the flywheel's schedule; saving updates the "
               "Temporal Schedules.",
               (Table("rituals", "Rituals", (
                   Column("key", "Key"), Column("kind", "Kind", "select", tuple(k.value for k in RitualKind)),
                   Column("name", "Name"), Column("day", "Day", "select", tuple(d.value for d in Weekday)),
                   Column("every", "Every", "select", tuple(r.value for r in Recurrence)),
                   Column("anchor", "Biweekly from", hint="a day in a meeting week"), Column("time", "Time"), Column("timezone", "Time zone"), Column("lead", "Agenda lead"),
                   Column("motions", "Motions", "list"), Column("action_item_due", "Action items due"),
                   Column("escalate_after", "Escalate after"), Column("limit", "Limit"),
                   Column("enabled", "Enabled", "bool"), Column("webhook_url", "Webhook", optional=True))),)),
    ConfigForm("account-calendars", "Account calendars", CONFIGS[ConfigKind.account_calendars][0],
               CONFIGS[ConfigKind.account_calendars][2],
               "The phases of a customer's year (terms, exams, licensure windows, fiscal year and budget window) that "
               "signal definitions' phase thresholds and quiet phases read; by motion, or per account.",
               (Table("calendars", "Calendars", (
                   Column("key", "Key"), Column("name", "Name"),
                   Column("kind", "Kind", "select", tuple(k.value for k in CalendarKind)), Column("timezone", "Time zone"),
                   Column("phases", "Phases", "rows", sub=(
                       Column("name", "Phase"), Column("start", "First day", hint="MM-DD or YYYY-MM-DD"),
                       Column("end", "Last day", hint="MM-DD or YYYY-MM-DD"))))),
                Table("budget_plays", "Plays ahead of a phase", (
                    Column("play_key", "Play"), Column("phase", "Phase", hint="e.g. budget_window"),
                    Column("lead", "Starts before", hint="e.g. P30D"),
                    Column("renewal_within_days", "Renewal within (days)", optional=True),
                    Column("min_risk_tier", "Or risk at least", "select", tuple(t.value for t in RiskTier), optional=True)))),
               ConfigKind.account_calendars),
    ConfigForm("calendars", "Team calendars", CONFIGS[ConfigKind.calendars][0], CONFIGS[ConfigKind.calendars][2],
               "Working days and hours, holidays and closures: what a routing rule's business-hours SLA counts.",
               (Table("calendars", "Calendars", (
                   Column("name", "Name"), Column("time_zone", "Time zone"),
                   Column("working_days", "Working days", "list"), Column("opens", "Opens"), Column("closes", "Closes"),
                   Column("holidays", "Holidays", "json", optional=True, hint='e.g. {"country": "US", "subdivision": "CA"}'),
                   Column("closures", "Closures", "list", hint="YYYY-MM-DD, comma-separated"))),),
               ConfigKind.calendars),
    ConfigForm("rotations", "Rotations", CONFIGS[ConfigKind.rotations][0], CONFIGS[ConfigKind.rotations][2],
               "On-call rotations a routing rule can name as owner (rotation:<key>), with cover for leave.",
               (Table("rotations", "Rotations", (
                   Column("key", "Key"), Column("members", "Members", "list", hint="user ids, in order"),
                   Column("handover", "Handover", "select", tuple(h.value for h in Handover)),
                   Column("handover_time", "At"), Column("time_zone", "Time zone"), Column("start_date", "From"),
                   Column("overrides", "Cover", "rows", sub=(
                       Column("user_id", "Who"), Column("covers", "Covers"), Column("starts_at", "From"),
                       Column("ends_at", "Until"), Column("reason", "Why"))))),),
               ConfigKind.rotations),
)}


def body_in_force(session, form: ConfigForm) -> tuple[int, dict]:
    """The version in force and its body without its metadata (0 and {} before the first)."""
    row = config_store.latest(session, form.store_key)
    return (row.version, row.body) if row else (0, {})


# --- body → form -----------------------------------------------------------------------------------------------


def _text(value: Any, kind: str) -> str:
    if kind == "list":
        return ", ".join(str(v) for v in value or [])
    if kind == "json":
        return "" if value is None else json.dumps(value)
    if kind == "bool":
        return "on" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def leaves(form: ConfigForm, body: dict) -> list[Leaf]:
    """One input per setting outside the tables; a list of rows, or an empty one, as checked JSON."""
    tables = {t.name for t in form.tables}
    found: list[Leaf] = []

    def walk(value: dict, prefix: str) -> None:
        for key, item in value.items():
            path = f"{prefix}{key}"
            if isinstance(item, dict) and item:
                walk(item, f"{path}.")
            elif isinstance(item, bool):
                found.append(Leaf(path, "bool"))
            elif isinstance(item, list) and item and not any(isinstance(i, dict | list) for i in item):
                found.append(Leaf(path, "list"))
            elif isinstance(item, list | dict):
                found.append(Leaf(path, "json"))
            else:
                found.append(Leaf(path, "text"))

    walk({k: v for k, v in body.items() if k not in tables and k not in METADATA}, "")
    return found


def _get(body: dict, path: str) -> Any:
    for part in path.split("."):
        body = body.get(part) if isinstance(body, dict) else None
    return body


def form_values(form: ConfigForm, body: dict) -> dict[str, str]:
    """The form as the body fills it, with one blank row at the end of each table and of each list of sub-rows."""
    values = {leaf.name: _text(_get(body, leaf.path), leaf.kind) for leaf in leaves(form, body)}
    for table in form.tables:
        rows = body.get(table.name) or []
        for i, row in enumerate(rows):
            values.update(_row_values(table, f"t.{table.name}.{i}", row))
        values.update(_row_values(table, f"t.{table.name}.{len(rows)}", {}))
        values[f"t.{table.name}.count"] = str(len(rows) + 1)
    return values


def _row_values(table: Table, name: str, row: dict) -> dict[str, str]:
    values = {}
    for column in table.columns:
        if column.kind == "rows":
            subrows = column.to_rows(row.get(column.name))
            for j, sub in enumerate([*subrows, {}]):
                values.update({f"{name}.{column.name}.{j}.{s.name}": _text(sub.get(s.name), s.kind) for s in column.sub})
            values[f"{name}.{column.name}.count"] = str(len(subrows) + 1)
        else:
            values[f"{name}.{column.name}"] = _text(row.get(column.name), column.kind)
    extra = {k: v for k, v in row.items() if k not in {c.name for c in table.columns}}
    if extra:
        values[f"{name}.extra"] = json.dumps(extra)
    return values


# --- form → body -----------------------------------------------------------------------------------------------


class FormRefused(Exception):
    """What was typed cannot become a config: the messages by field name ("" for the form as a whole)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def row_count(values: dict[str, str], name: str, limit: int = MAX_ROWS) -> int:
    try:
        return max(0, min(int(values.get(f"{name}.count", "0")), limit))
    except ValueError:
        return 0


def _value(text: str, kind: str, optional: bool, name: str, errors: dict[str, str]) -> Any:
    text = text.strip()
    if kind == "list":
        return [part.strip() for part in text.split(",") if part.strip()]
    if kind == "bool":
        return bool(text)
    if not text:
        return None if optional or kind == "json" else ""
    if kind == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            errors[name] = f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
    return text


def parse_form(form: ConfigForm, values: dict[str, str], body_now: dict) -> tuple[dict, dict[tuple, str]]:
    """The body the form describes, and where each part of it came from (body location → field name). Blank rows
    and rows ticked for removal are left out."""
    errors: dict[str, str] = {}
    origins: dict[tuple, str] = {}
    body: dict[str, Any] = {}
    for leaf in leaves(form, body_now):
        if leaf.kind == "bool" or leaf.name in values:
            _put(body, leaf.path, _value(values.get(leaf.name, ""), leaf.kind, False, leaf.name, errors))
            origins[tuple(leaf.path.split("."))] = leaf.name
    for table in form.tables:
        rows = []
        for i in range(row_count(values, f"t.{table.name}")):
            name = f"t.{table.name}.{i}"
            row = _parse_row(table, name, values, errors, origins, (table.name, len(rows)))
            if row is not None:
                rows.append(row)
        body[table.name] = rows
    if errors:
        raise FormRefused(errors)
    return body, origins


def _parse_row(table: Table, name: str, values: dict[str, str], errors: dict[str, str], origins: dict[tuple, str],
               at: tuple) -> dict | None:
    shown = [values.get(f"{name}.{c.name}", "").strip() for c in table.columns if c.kind not in ("rows", "bool")]
    if values.get(f"{name}.remove") or not any(shown):
        return None
    row = _value(values.get(f"{name}.extra", ""), "json", True, f"{name}.extra", errors) or {}
    origins[at] = name
    for column in table.columns:
        field_name = f"{name}.{column.name}"
        origins[(*at, column.name)] = field_name
        if column.kind == "rows":
            subrows = []
            for j in range(row_count(values, field_name, MAX_SUBROWS)):
                sub = {s.name: _value(values.get(f"{field_name}.{j}.{s.name}", ""), s.kind, True, field_name, errors)
                       for s in column.sub}
                if any(v not in (None, "") for v in sub.values()):
                    subrows.append(sub)
            row[column.name] = column.from_rows(subrows)
        else:
            value = _value(values.get(field_name, ""), column.kind, column.optional, field_name, errors)
            if value is not None or column.optional:
                row[column.name] = value
    return row


def _put(body: dict, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        body = body.setdefault(part, {})
    body[last] = value


def field_errors(form: ConfigForm, error: ValidationError, origins: dict[tuple, str]) -> dict[str, str]:
    """Each error next to the field it is about (the nearest one that made that part of the body), in words."""
    errors: dict[str, str] = {}
    for item in error.errors():
        loc = tuple(item["loc"])
        while loc and loc not in origins:
            loc = loc[:-1]
        name = origins.get(loc, "")
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] in ("enum", "literal_error") and "input" in item:
            message = f"{item['input']!r} is not one of {message.removeprefix('Input should be ')}"
        errors[name] = f"{errors[name]}; {message}" if name in errors else message
    return errors


def describe(form: ConfigForm, name: str) -> str:
    """Where a field is, in words: 'rule 3, SLA', 'health.base'."""
    if name.startswith("l."):
        return name[2:]
    parts = name.split(".")
    table = next((t for t in form.tables if len(parts) > 2 and t.name == parts[1]), None)
    if table is None:
        return "the form"
    column = next((c.label for c in table.columns if len(parts) > 3 and c.name == parts[3]), None)
    row = f"{table.row_label} {int(parts[2]) + 1}"
    return f"{row}, {column}" if column else row

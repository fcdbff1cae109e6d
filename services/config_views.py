"""Versioned config as callers read it (the API's GET /api/v1/config/... and the MCP tool get_config): the version
in force, or an older one, as its output model, and the one write path for a new version; the versions of a kind,
and what one version changed from the one before it (the config pages)."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, select

from core import config_store
from core.errors import PillarError
from models.account_calendars import AccountCalendars, AccountCalendarsIn
from models.calendars import CalendarsConfig, CalendarsConfigIn
from models.detection import SignalDefinitions, SignalDefinitionsIn
from models.financials import CostModel, CostModelIn
from models.handoffs import HandoffSpecs, HandoffSpecsIn
from models.rotations import RotationsConfig, RotationsConfigIn
from models.routing import ConfigVersionRef, RoutingConfig, RoutingConfigIn
from models.scoring import ScoreWeights, ScoreWeightsIn
from models.templates import TaskTemplates, TaskTemplatesIn
from models.tables import ConfigVersion
from models.territory import TerritoryConfig, TerritorySettings
from services.account_calendars import ACCOUNT_CALENDARS
from services.calendars import check_rule_calendars
from services.handoffs import HANDOFF_SPECS
from services.layer_config import COST_MODEL, SCORE_WEIGHTS, SIGNAL_DEFINITIONS, TERRITORY
from services.rotations import ROTATIONS, check_rotations, check_routing
from services.task_templates import TASK_TEMPLATES




class ConfigKind(StrEnum):
    routing = "routing"
    task_templates = "task_templates"
    handoff_specs = "handoff_specs"
    signal_definitions = "signal_definitions"
    score_weights = "score_weights"
    cost_model = "cost_model"
    territory = "territory"
    account_calendars = "account_calendars"
    rotations = "rotations"
    calendars = "calendars"


# kind → (store key, API path under /api/v1/config, model in, model out, what it is called in a message)
CONFIGS: dict[ConfigKind, tuple[str, str, type[BaseModel], type[BaseModel], str]] = {
    ConfigKind.routing: (config_store.ROUTING, "routing", RoutingConfigIn, RoutingConfig, "routing"),
    ConfigKind.task_templates: (TASK_TEMPLATES, "task-templates", TaskTemplatesIn, TaskTemplates, "task-template"),
    ConfigKind.handoff_specs: (HANDOFF_SPECS, "handoffs", HandoffSpecsIn, HandoffSpecs, "handoff specs"),
    ConfigKind.signal_definitions: (SIGNAL_DEFINITIONS, "signal-definitions", SignalDefinitionsIn, SignalDefinitions,
                                    "signal definitions"),
    ConfigKind.score_weights: (SCORE_WEIGHTS, "score-weights", ScoreWeightsIn, ScoreWeights, "score weights"),
    ConfigKind.cost_model: (COST_MODEL, "cost-model", CostModelIn, CostModel, "cost model"),
    ConfigKind.territory: (TERRITORY, "territory", TerritorySettings, TerritoryConfig, "territory settings"),
    ConfigKind.account_calendars: (ACCOUNT_CALENDARS, "account-calendars", AccountCalendarsIn, AccountCalendars,
                                   "account calendars"),
    ConfigKind.rotations: (ROTATIONS, "rotations", RotationsConfigIn, RotationsConfig, "rotations"),
    ConfigKind.calendars: (config_store.CALENDARS, "calendars", CalendarsConfigIn, CalendarsConfig, "calendars"),
}

# What a version must agree with in the directory and the other configs, checked before it is written
CHECKS = {ConfigKind.routing: (check_routing, check_rule_calendars), ConfigKind.rotations: (check_rotations,)}


# What the API has always answered when nothing is configured yet, where it is not "no <what> has been configured yet"
NOTHING_YET = {ConfigKind.routing: "no routing matrix has been configured yet",
               ConfigKind.handoff_specs: "no handoff specs have been configured yet",
               ConfigKind.rotations: "no rotations have been configured yet"}


def config_view(session: Session, kind: ConfigKind, version: int | None = None) -> BaseModel:
    """The version in force (None) or the given one; 404 naming what is missing."""
    key, _, _, model_out, what = CONFIGS[kind]
    row = config_store.latest(session, key) if version is None else config_store.get(session, key, version)
    if row is None:
        raise PillarError("not_found", NOTHING_YET.get(kind, f"no {what} has been configured yet") if version is None
                          else f"no {what} version {version}")
    return model_out.model_validate({**row.body, "version": row.version, "created_at": row.created_at,
                                     "created_by": row.created_by})


def write_config(session: Session, kind: ConfigKind, body: BaseModel, editor_id: str) -> ConfigVersionRef:
    """A new version; whatever runs keeps the version it started with."""
    for check in CHECKS.get(kind, ()):
        check(session, body)
    row = config_store.append(session, CONFIGS[kind][0], body.model_dump(mode="json"), created_by=editor_id)
    return ConfigVersionRef(version=row.version)


# --- versions and what each one changed -------------------------------------------------------------------------

# The lists of rows in a config, and the fields that name a row: a diff matches rows by them, not by position
ROW_KEYS = {"rules": ("family", "severity"), "templates": ("key",), "specs": ("kind",), "definitions": ("family",),
            "rituals": ("key",)}
MAX_VERSIONS_LISTED = 500


@dataclass
class VersionInfo:
    version: int
    created_at: datetime
    created_by: str | None


@dataclass
class Change:
    """One row (or group of settings) added, removed or changed, with each field as it was and as it is."""

    where: str
    what: str
    fields: list[tuple[str, str, str]] = field(default_factory=list)


def versions(session: Session, store_key: str) -> list[VersionInfo]:
    """Newest first."""
    rows = session.exec(select(ConfigVersion.version, ConfigVersion.created_at, ConfigVersion.created_by)
                        .where(ConfigVersion.kind == store_key).order_by(ConfigVersion.version.desc())
                        .limit(MAX_VERSIONS_LISTED)).all()
    return [VersionInfo(*row) for row in rows]


def config_diff(before: dict[str, Any] | None, after: dict[str, Any]) -> list[Change]:
    """Field by field, rows matched by their key; `before` None for the first version (everything added)."""
    old, new = _groups(before or {}), _groups(after)
    changes = []
    for where in [*new, *(w for w in old if w not in new)]:
        was, now = old.get(where), new.get(where)
        if was is None:
            changes.append(Change(where, "added", [(k, "", v) for k, v in now.items()]))
        elif now is None:
            changes.append(Change(where, "removed", [(k, v, "") for k, v in was.items()]))
        elif was != now:
            changed = [(k, was.get(k, ""), now.get(k, "")) for k in [*now, *(k for k in was if k not in now)]
                       if was.get(k, "") != now.get(k, "")]
            changes.append(Change(where, "changed", changed))
    return changes


def _groups(body: dict[str, Any]) -> dict[str, dict[str, str]]:
    """A canonical rendering: each row of a list under its key, each group of settings under its name."""
    groups: dict[str, dict[str, str]] = {}
    for name, value in body.items():
        if name in ROW_KEYS and isinstance(value, list):
            for row in value:
                groups[f"{name}: " + " · ".join(str(row.get(k)) for k in ROW_KEYS[name])] = _flat(row)
        elif isinstance(value, dict):
            groups[name] = _flat(value)
        else:
            groups.setdefault("settings", {})[name] = _text(value)
    return groups


def _flat(value: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, dict) and item:
            flat.update(_flat(item, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = _text(item)
    return flat


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(", ".join(f"{k} {_text(v)}" for k, v in item.items()) if isinstance(item, dict) else _text(item)
                         for item in value) or "none"
    if isinstance(value, dict):
        return "; ".join(f"{k} {_text(v)}" for k, v in value.items()) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "—" if value is None else str(value)

"""Rotations and round robin as a routing rule's owners: resolved once, when a signal starts (never in a workflow),
with the reason each person was chosen."""

from collections import Counter
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, or_, select

from core import config_store
from core.errors import PillarError
from models.rotations import ROTATION, ROUND_ROBIN, OnCallAt, OwnerChoice, Rotation, RotationsConfig, RotationsConfigIn, is_chosen
from models.routing import RoutingConfigIn, RoutingRule
from models.signals import AccountSnapshot, SignalStatus
from models.tables import PlayRunOpenStepRow, SignalOwnerRow, SignalRow, TaskRow, User
from services.directory import resolve_owners
from services.read_cache import ReadCache, cached

ROTATIONS = "rotations"
SHOWN_RIVALS = 5  # a round robin's reason names this many of the others' loads


def current_rotations(session: Session) -> RotationsConfig | None:
    return config_store.current(session, ROTATIONS, RotationsConfig)


def on_call(session: Session, key: str, at: datetime) -> OnCallAt:
    found = find_rotation(session, key)
    if found is None:
        raise PillarError("not_found", f"no rotation {key!r}: PUT /api/v1/config/rotations defines them")
    rotation, version = found
    return OnCallAt(**rotation.on_call(at).model_dump(), version=version)


def find_rotation(session: Session, key: str) -> tuple[Rotation, int] | None:
    rotations = current_rotations(session)
    rotation = rotations.rotation(key) if rotations else None
    return (rotation, rotations.version) if rotation else None


# --- config checks (services/config_views.py runs them before it writes a version) ----------------------------------


def check_rotations(session: Session, body: RotationsConfigIn) -> None:
    """Every member and every cover is a user; no rotation the routing matrix names goes away."""
    users = set().union(*(r.users() for r in body.rotations))
    unknown = sorted(users - set(session.exec(select(User.id).where(User.id.in_(users)))))
    if unknown:
        raise PillarError("invalid", f"unknown user(s) in rotations: {', '.join(unknown)}", {"unknown_users": unknown})
    row = config_store.latest(session, config_store.ROUTING)
    if row is not None:
        named = rotation_keys(RoutingConfigIn.model_validate(row.body).rules)
        missing(named - {r.key for r in body.rotations}, "the routing matrix names rotation(s)", "keep them")


def check_routing(session: Session, body: RoutingConfigIn) -> None:
    """Every rotation a rule names is defined."""
    rotations = current_rotations(session)
    defined = {r.key for r in rotations.rotations} if rotations else set()
    missing(rotation_keys(body.rules) - defined, "no rotation(s)", "define them at PUT /api/v1/config/rotations first")


def rotation_keys(rules: list[RoutingRule]) -> set[str]:
    return {str(o).removeprefix(ROTATION) for rule in rules for o in rule.owners if str(o).startswith(ROTATION)}


def missing(keys: set[str], what: str, fix: str) -> None:
    if keys:
        names = sorted(keys)
        raise PillarError("invalid", f"{what} {', '.join(names)}: {fix}", {"rotations": names})


# --- owners at a signal's start ---------------------------------------------------------------------------------


def rule_owners(session: Session, account: AccountSnapshot, rule: RoutingRule, at: datetime,
                cache: ReadCache | None = None) -> tuple[list[str], list[str], list[OwnerChoice]]:
    """The owners for the rule's entries in order, the entries nobody fills, and why each chosen owner was chosen.
    Role entries resolve as they always have (cached); rotations and round robins are chosen now, uncached."""
    entries = [str(o) for o in rule.owners]
    if not any(is_chosen(e) for e in entries):
        roles = tuple(entries)
        owners, unfilled = cached(cache, ("owners", account.id, roles), lambda: resolve_owners(session, account, list(roles)))
        return owners, unfilled, []
    owners, unfilled, choices = [], [], []
    for entry in entries:
        if is_chosen(entry):
            choice = choose(session, account.team, entry, at)
            found = [choice.user_id] if choice else []
            choices += [choice] if choice else []
        else:
            found, _ = resolve_owners(session, account, [entry])
        if not found:
            unfilled.append(entry)
        owners += [u for u in found if u not in owners]
    return owners, unfilled, choices


def choose(session: Session, team: dict[str, str], entry: str, at: datetime) -> OwnerChoice | None:
    if entry.startswith(ROTATION):
        found = find_rotation(session, entry.removeprefix(ROTATION))
        if found is None:  # PUT checks prevent it; a config written before them could still name one
            raise PillarError("invalid", f"the routing rule's owner {entry!r} names no configured rotation",
                              {"owner": entry})
        on = found[0].on_call(at)
        return OwnerChoice(user_id=on.user_id, via=entry, reason=on.reason)
    role = entry.removeprefix(ROUND_ROBIN)
    pool = round_robin_pool(session, team, role)
    if not pool:
        return None
    load = open_load(session, pool)
    ranked = sorted(pool, key=lambda user_id: (load[user_id], user_id))
    return OwnerChoice(user_id=ranked[0], via=entry, reason=least_loaded_reason(role, ranked, load))


def least_loaded_reason(role: str, ranked: list[str], load: Counter) -> str:
    first, rivals = ranked[0], ranked[1:]
    if not rivals:
        return f"the only {role} in the account's pod ({load[first]} open items)"
    shown = ", ".join(f"{load[u]} ({u})" for u in rivals[:SHOWN_RIVALS]) + (", …" if len(rivals) > SHOWN_RIVALS else "")
    tie = " (a tie, broken by user id)" if load[first] == load[rivals[0]] else ""
    return f"fewest open items among the {role}s: {load[first]} vs {shown}{tie}"


def round_robin_pool(session: Session, team: dict[str, str], role: str) -> list[str]:
    """The enabled users holding `role` in the account's pod: on its team, reporting to someone on it, or sharing a
    manager with its member in that role. Never the whole directory: whoever owns a signal sees its account."""
    members = list(team.values())
    peers_of = session.exec(select(User.manager_id).where(User.id.in_(members), User.role == role,
                                                          User.manager_id.is_not(None))).all()
    query = select(User.id).where(User.role == role, User.disabled_at.is_(None),
                                  or_(User.id.in_(members), User.manager_id.in_(set(members) | set(peers_of))))
    return sorted(session.exec(query).all())


def open_load(session: Session, user_ids: list[str]) -> Counter:
    """Open items per user: signals not yet resolved that they own, tasks without a final outcome, open play steps."""
    load: Counter = Counter({user_id: 0 for user_id in user_ids})
    signals = (select(SignalOwnerRow.user_id, func.count())
               .join(SignalRow, SignalRow.id == SignalOwnerRow.signal_id)
               .where(SignalOwnerRow.user_id.in_(user_ids), SignalRow.status != SignalStatus.resolved.value)
               .group_by(SignalOwnerRow.user_id))
    tasks = (select(TaskRow.owner_id, func.count()).where(TaskRow.owner_id.in_(user_ids), TaskRow.is_open)
             .group_by(TaskRow.owner_id))
    steps = (select(PlayRunOpenStepRow.owner_id, func.count()).where(PlayRunOpenStepRow.owner_id.in_(user_ids))
             .group_by(PlayRunOpenStepRow.owner_id))
    for query in (signals, tasks, steps):
        load.update(dict(session.exec(query).all()))
    return load

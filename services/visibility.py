"""Who may read an account's signals, evidence, scores, plays and handoffs (README "Who sees which account").

- Book-wide roles (admin, vp, cro, revops, ops, integration) see every account.
- Anyone else sees the accounts whose team holds them or someone who reports to them, directly or through others
  (a csm sees their accounts, their csm_lead sees those too, the manager above sees the whole team's book).

An account someone may not see is answered exactly as one that does not exist: 404 with the same message when it
is in the path (a signal, run, handoff, task or account id), 422 "unknown account" when it is in a body, and it is
left out of every list (filtered in SQL, so cursor paging stays exact). Nothing tells a caller it exists."""

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import literal, or_, select
from sqlmodel import Session

from core.errors import PillarError
from models.common import Role
from models.tables import (
    Account, AccountMember, HandoffRow, PlayRunOwnerRow, PlayRunRow, SignalEscalationRow, SignalOwnerRow, SignalRow,
    TaskRow, User,
)

BOOK_WIDE_ROLES = frozenset({Role.admin, Role.vp, Role.cro, Role.revops, Role.ops, Role.integration})


class Viewer(Protocol):
    """Whoever is asking: the API's Principal and the pages' WebUser both qualify."""

    id: str
    role: Role


@dataclass(frozen=True)
class ResolvedViewer:
    """A viewer whose team (`team_of`) was read once: a request that runs several queries under the same filter
    (the board) does not walk the manager chain in each of them."""

    id: str
    role: Role
    team: tuple[str, ...]


def resolved(session: Session, viewer: Viewer | None) -> Viewer | None:
    if viewer is None or book_wide(viewer) or isinstance(viewer, ResolvedViewer):
        return viewer
    return ResolvedViewer(viewer.id, Role(viewer.role), tuple(session.execute(team_of(viewer)).scalars().all()))


def book_wide(viewer: Viewer) -> bool:
    return Role(viewer.role) in BOOK_WIDE_ROLES


def team_of(viewer: Viewer):
    """The viewer and everyone who reports to them, at any depth (a recursive query; UNION stops at a cycle)."""
    below = select(literal(viewer.id).label("id")).cte("below", recursive=True)
    below = below.union(select(User.id).where(User.manager_id == below.c.id))
    return select(below.c.id)


def visible_accounts(team):
    """A SELECT of the ids of the accounts whose team holds someone in `team` (a `team_of` query)."""
    return select(AccountMember.account_id).where(AccountMember.user_id.in_(team))


def _involving(row_type, team):
    """Work assigned to someone outside the account team (an escalation, a reassignment, a handoff's receiver) is
    theirs to see too, and their managers'."""
    if row_type is SignalRow:
        return or_(SignalRow.id.in_(select(SignalOwnerRow.signal_id).where(SignalOwnerRow.user_id.in_(team))),
                   SignalRow.id.in_(select(SignalEscalationRow.signal_id).where(SignalEscalationRow.user_id.in_(team))))
    if row_type is PlayRunRow:
        return PlayRunRow.id.in_(select(PlayRunOwnerRow.run_id).where(PlayRunOwnerRow.user_id.in_(team)))
    if row_type is HandoffRow:
        return or_(HandoffRow.from_user_id.in_(team), HandoffRow.to_user_id.in_(team))
    if row_type is TaskRow:
        return TaskRow.owner_id.in_(team)
    return None


def visible_clause(row_type, viewer: Viewer):
    """The SQL condition on `row_type` (an account, or a read-model row with `account_id`) the viewer may see."""
    account_column = row_type.id if row_type is Account else row_type.account_id
    team = viewer.team if isinstance(viewer, ResolvedViewer) else team_of(viewer)  # one CTE per statement, else
    on_book = account_column.in_(visible_accounts(team))
    involving = _involving(row_type, team)
    return on_book if involving is None else or_(on_book, involving)


def only_visible(query, row_type, viewer: Viewer | None):
    """`query` kept to the `row_type` rows the viewer may see: a filter in SQL, before any paging (no viewer: the
    worker's and the CLI's own reads, unfiltered)."""
    return query if viewer is None or book_wide(viewer) else query.where(visible_clause(row_type, viewer))


def can_see(session: Session, viewer: Viewer, account_id: str, involved: list[str] = ()) -> bool:
    """The viewer may see the account, or the work involves them or someone who reports to them."""
    if book_wide(viewer):
        return True
    team = set(session.execute(team_of(viewer)).scalars().all())  # user ids (rows would never equal `involved`)
    if team & set(involved):
        return True
    members = select(AccountMember.user_id).where(AccountMember.account_id == account_id)
    return bool(team & set(session.execute(members).scalars().all()))


def unknown_account(account_id: str, field: str = "account_id") -> PillarError:
    """What a body naming an account the caller may not see gets: the very answer an unknown account gets."""
    return PillarError("invalid", f"unknown account {account_id!r}", {"field": field})


def check_account_in_body(session: Session, viewer: Viewer, account_id: str, field: str = "account_id") -> None:
    if not can_see(session, viewer, account_id):
        raise unknown_account(account_id, field)


# What a path id names, and its read-model row.
SUBJECTS = {
    "account": (Account, "account"),
    "signal": (SignalRow, "signal"),
    "play_run": (PlayRunRow, "play run"),
    "handoff": (HandoffRow, "handoff"),
    "task": (TaskRow, "task"),
}


def hidden(kind: str, subject_id: str) -> PillarError:
    """The not-found answer of the subject's own routes, word for word."""
    return PillarError("not_found", f"no {SUBJECTS[kind][1]} {subject_id!r}")


def stored_visibility(session: Session, viewer: Viewer, kind: str, subject_id: str) -> bool | None:
    """Whether the viewer may see the subject, from its read-model row in one query (None: no row yet, e.g. its
    workflow started a moment ago; an account without a row does not exist)."""
    row_type = SUBJECTS[kind][0]
    found = session.exec(select(row_type.id, visible_clause(row_type, viewer)).where(row_type.id == subject_id)).first()
    if found is None:
        return False if kind == "account" else None
    return bool(found[1])

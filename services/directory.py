"""Who manages whom, and who holds a role for an account."""

from sqlmodel import Session, select

from core.errors import PillarError
from core.paging import Page, PageRequest, SortKey, page_of
from models.common import Actor, Role
from models.directory import AccountIn, AccountOut
from models.tables import Account, User
from models.tables.types import utcnow
from services.visibility import Viewer, only_visible

ADMIN_ID = "admin"


def management_chain(session: Session, user_id: str) -> list[User]:
    """The user's manager, their manager, and so on (cycles are cut)."""
    chain: list[User] = []
    seen = {user_id}
    user = session.get(User, user_id)
    while user is not None and user.manager_id and user.manager_id not in seen:
        seen.add(user.manager_id)
        user = session.get(User, user.manager_id)
        if user is not None:
            chain.append(user)
    return chain


def holder_of_role(session: Session, team: dict[str, str], role: str, around: list[str] | None = None) -> str | None:
    """The account team's member in `role`; else the nearest holder of `role` above `around`
    (by default the team's members), so a vp or manager need not sit on every account team."""
    member = team.get(role)
    if member and session.get(User, member) is not None:
        return member
    for user_id in around if around is not None else list(team.values()):
        for boss in management_chain(session, user_id):
            if boss.role == role:
                return boss.id
    return None


def resolve_owners(session: Session, account: Account, roles: list[str]) -> tuple[list[str], list[str]]:
    """Owner user ids for `roles` on the account, and the roles nobody holds."""
    owners, unfilled = [], []
    for role in roles:
        user_id = holder_of_role(session, account.team, role)
        if user_id is None:
            unfilled.append(role)
        elif user_id not in owners:
            owners.append(user_id)
    return owners, unfilled


def all_reports(session: Session, manager_id: str) -> list[str]:
    """Everyone who reports to `manager_id`, directly or through others."""
    reports: list[str] = []
    frontier = [manager_id]
    while frontier:
        rows = session.exec(select(User.id).where(User.manager_id.in_(frontier))).all()
        frontier = [r for r in rows if r not in reports and r != manager_id]
        reports += frontier
    return reports


def actor_for(session: Session, user_id: str, role: str) -> Actor:
    if role == Role.admin and user_id == ADMIN_ID:
        return Actor(id=user_id, role=Role.admin)
    return Actor(id=user_id, role=Role(role), reports=all_reports(session, user_id))


def list_users(session: Session, page: PageRequest = PageRequest()) -> Page[User]:
    """By id."""
    return page_of(session, select(User), page, "users", (SortKey(User.id),), lambda user: user)


def list_accounts(session: Session, page: PageRequest = PageRequest(), viewer: Viewer | None = None) -> Page[Account]:
    """By id; with a viewer, the accounts they may see."""
    query = only_visible(select(Account), Account, viewer)
    return page_of(session, query, page, "accounts", (SortKey(Account.id),), lambda account: account)


def put_account(session: Session, account_id: str, body: AccountIn) -> AccountOut:
    """Create or replace an account; its team maps roles to users (role `ae` on the account means `team.ae`)."""
    team = {role.value: user_id for role, user_id in body.team.items()}
    known = set(session.exec(select(User.id).where(User.id.in_(list(team.values())))))
    unknown = sorted({u for u in team.values() if u not in known})
    if unknown:
        raise PillarError("invalid", f"unknown user(s) in team: {', '.join(unknown)}", {"unknown_users": unknown})
    account = session.get(Account, account_id) or Account(id=account_id, name=body.name)
    for field, value in body.model_dump(exclude={"team"}).items():
        setattr(account, field, value)
    account.team = team
    account.updated_at = utcnow()
    session.add(account)
    session.commit()
    session.refresh(account)
    return AccountOut.model_validate(account, from_attributes=True)

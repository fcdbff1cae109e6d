from fastapi import APIRouter
from sqlmodel import select

from api.deps import ConfigEditor, CurrentUser, PathId, SessionDep
from api.errors import ERROR_RESPONSES
from api.paging import PAGED, PAGING_NOTE, PagingDep
from core.errors import PillarError
from models.common import Identifier
from models.directory import AccountIn, AccountOut
from models.tables import Account, User
from models.tables.types import utcnow
from services import directory
from api.visibility import sees

router = APIRouter(prefix="/api/v1/accounts", tags=["directory"], responses=ERROR_RESPONSES)


def account_out(account: Account) -> AccountOut:
    return AccountOut.model_validate(account, from_attributes=True)


@router.put("/{account_id}", response_model=AccountOut)
def put_account(account_id: Identifier, body: AccountIn, session: SessionDep, _: ConfigEditor) -> AccountOut:
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
    return account_out(account)


@router.get("", response_model=list[AccountOut], responses=PAGED, description=(
    "The accounts the caller may see, by id." + PAGING_NOTE))
def list_accounts(session: SessionDep, user: CurrentUser, paging: PagingDep) -> list[AccountOut]:
    return [account_out(a) for a in paging.send(directory.list_accounts(session, paging.page, viewer=user))]


@router.get("/{account_id}", response_model=AccountOut, dependencies=[sees("account", "account_id")])
def get_account(account_id: PathId, session: SessionDep, _: CurrentUser) -> AccountOut:
    account = session.get(Account, account_id)
    if account is None:
        raise PillarError("not_found", f"no account {account_id!r}")
    return account_out(account)

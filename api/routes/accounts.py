from fastapi import APIRouter

from api.deps import ConfigEditor, CurrentUser, PathId, SessionDep
from api.errors import ERROR_RESPONSES
from api.paging import PAGED, PAGING_NOTE, PagingDep
from core.errors import PillarError
from models.common import Identifier
from models.directory import AccountIn, AccountOut
from models.tables import Account
from services import directory
from api.visibility import sees

router = APIRouter(prefix="/api/v1/accounts", tags=["directory"], responses=ERROR_RESPONSES)


def account_out(account: Account) -> AccountOut:
    return AccountOut.model_validate(account, from_attributes=True)


@router.put("/{account_id}", response_model=AccountOut)
def put_account(account_id: Identifier, body: AccountIn, session: SessionDep, _: ConfigEditor) -> AccountOut:
    """Create or replace an account; its team maps roles to users (role `ae` on the account means `team.ae`)."""
    return directory.put_account(session, account_id, body)


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

"""API contracts for the directory: users and accounts."""

from datetime import date, datetime

from pydantic import BaseModel, Field, HttpUrl

from models.common import Amount, Identifier, Role


class UserIn(BaseModel):
    id: Identifier
    name: str = Field(min_length=1, max_length=200)
    role: Role
    manager_id: Identifier | None = None
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)
    webhook_url: HttpUrl | None = None


class UserOut(BaseModel):
    id: str
    name: str
    role: Role
    manager_id: str | None
    email: str | None = None
    webhook_url: str | None = None
    disabled_at: datetime | None = Field(default=None, description="Set: the user is disabled (no token works)")


class UserCreated(UserOut):
    token: str = Field(description="Shown once; only its hash is stored")


class AccountIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    arr: Amount
    motion: str | None = Field(default=None, max_length=64)
    segment: str | None = Field(default=None, max_length=64)
    renewal_date: date | None = None
    team: dict[Role, Identifier] = Field(default={}, max_length=len(Role))


class AccountOut(AccountIn):
    id: str


class NewToken(BaseModel):
    user_id: str
    token: str = Field(description="Shown once; only its hash is stored. The previous token stopped working")


class DisableIn(BaseModel):
    reason: str | None = Field(default=None, max_length=2000, description="Told to their manager")

"""The inventory import: the signals, owners and tasks a team tracks today (a spreadsheet export), read against
the directory and the routing matrix before routing is switched on."""

from enum import StrEnum

from pydantic import BaseModel, Field

MAX_CSV_CHARS = 1_000_000
MAX_ROWS = 10_000
MAX_PROBLEMS = 50
COLUMNS = ("kind", "family", "severity", "account_id", "owner", "title", "status")


class InventoryIn(BaseModel):
    csv: str = Field(min_length=1, max_length=MAX_CSV_CHARS, description=(
        f"CSV text with a header row. Columns: {', '.join(COLUMNS)} (kind is `signal` or `task`, default signal; owner "
        f"is a user id, email or full name as the team writes it; title and status are kept as read). "
        f"At most {MAX_ROWS} rows."))


class NoOwnerReason(StrEnum):
    blank = "blank"  # nobody written down
    unknown = "unknown"  # a name the directory does not know
    disabled = "disabled"  # a person who has left (their user is disabled)


class FamilyCount(BaseModel):
    family: str
    rows: int
    without_owner: int
    no_routing_rule: int


class RowProblem(BaseModel):
    line: int
    message: str


class InventoryReport(BaseModel):
    rows: int = Field(description="Rows read (rows with a problem are not counted anywhere else)")
    signals: int
    tasks: int
    with_owner: int = Field(description="Rows whose owner is an active person in the directory")
    without_owner: int = Field(description="Rows with no defined owner: blank, unknown to the directory, or disabled")
    without_owner_share: float = Field(description="without_owner / rows, 0 when there are no rows")
    without_owner_by_reason: dict[NoOwnerReason, int]
    routing_version: int | None = Field(description="The routing matrix the rows were read against")
    routed: int = Field(description="Signal rows the routing matrix would give an owner today")
    no_routing_rule: int = Field(description="Signal rows whose family and severity have no routing rule")
    unfilled_roles: int = Field(description="Signal rows with a rule whose owner roles nobody holds on the account's team")
    owner_would_change: int = Field(description="Signal rows owned today by someone routing would not pick")
    unknown_accounts: int
    by_family: list[FamilyCount]
    problems: list[RowProblem] = Field(description=f"Rows that could not be read (the first {MAX_PROBLEMS})")
    summary: str

"""`pillar events import FILE.csv`: back-fill events. Every row is checked before any is stored.

Columns: account_id, kind, occurred_at (ISO-8601 with a zone), external_id (optional, makes re-imports idempotent),
then the kind's own fields (active_users, seats, program, score, ticket_id, status, priority, opportunity_id,
opportunity_type, stage, amount, close_date, contract_years, contact_id, role, change); empty cells are left out.
"""

import asyncio
import csv
import getpass
from pathlib import Path
from typing import Annotated

import typer
from pydantic import TypeAdapter, ValidationError
from rich.console import Console

from core.errors import PillarError
from models.events import MAX_BATCH, AccountEvent

events_app = typer.Typer(help="Raw events: back-fill them from CSV.", no_args_is_help=True)
console = Console()
EVENT = TypeAdapter(AccountEvent)


def read_csv(path: Path) -> list:
    """Parse and validate every row; raise PillarError naming each bad row (line number) and field."""
    events, problems = [], []
    with path.open(newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            cells = {k.strip(): v.strip() for k, v in row.items() if k and v is not None and v.strip()}
            try:
                events.append(EVENT.validate_python(cells))
            except ValidationError as error:
                for e in error.errors():
                    field = ".".join(str(p) for p in e["loc"][1:]) or "kind"
                    problems.append(f"line {line}: {field}: {e['msg']}")
    if problems:
        raise PillarError("invalid", "; ".join(problems[:20]) + (f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""))
    if not events:
        raise PillarError("invalid", f"{path} has no rows")
    return events


async def import_events(events: list, detect: bool) -> tuple[int, int, int]:
    """Store in batches of MAX_BATCH; returns (stored, duplicates, signals opened)."""
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter

    from core.db import get_engine
    from core.settings import get_settings
    from services.events import check_accounts, ingest
    from sqlmodel import Session

    client = None
    if detect:
        # A client of its own: the CLI runs in its own event loop, never the process-wide one.
        settings = get_settings()
        client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace,
                                      data_converter=pydantic_data_converter)
    totals = [0, 0, 0]
    with Session(get_engine()) as session:
        check_accounts(session, events)
        for start in range(0, len(events), MAX_BATCH):
            result = await ingest(session, client, events[start:start + MAX_BATCH], actor=f"cli:{getpass.getuser()}")
            totals[0] += result.stored
            totals[1] += result.duplicates
            totals[2] += len([s for s in result.signals if s.new])
    return totals[0], totals[1], totals[2]


@events_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="a CSV file")],
    detect: Annotated[bool, typer.Option(help="open the signals the events trigger (--no-detect: store and rescore only)")] = True,
) -> None:
    """Back-fill events from a CSV file: all rows are validated first, and one bad row stores nothing."""
    try:
        events = read_csv(file)
        stored, duplicates, opened = asyncio.run(import_events(events, detect))
    except PillarError as error:
        console.print(f"[red]error:[/red] {error.message}")
        raise typer.Exit(2)
    console.print(f"imported {stored} event(s), {duplicates} already stored, {opened} signal(s) opened")

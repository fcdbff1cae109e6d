"""`pillar inventory import FILE.csv`: before routing is switched on, how much of what a team tracks today has no
defined owner, and what routing would do with it. Reads only."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from core.errors import PillarError
from models.inventory import MAX_CSV_CHARS, InventoryIn

inventory_app = typer.Typer(help="A team's current signals, owners and tasks, read before routing goes live.",
                            no_args_is_help=True)
console = Console()


@inventory_app.command("import")
def import_command(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="a CSV file")]) -> None:
    """Report the rows with no defined owner (blank, unknown to the directory, disabled) and what routing would do."""
    from sqlmodel import Session

    from core.db import get_engine
    from services.inventory import analyze

    text = file.read_text(encoding="utf-8-sig")
    if len(text) > MAX_CSV_CHARS:
        console.print(f"[red]error:[/red] {file} is larger than {MAX_CSV_CHARS:,} characters: split it")
        raise typer.Exit(2)
    try:
        with Session(get_engine()) as session:
            report = analyze(session, InventoryIn(csv=text).csv)
    except PillarError as error:
        console.print(f"[red]error:[/red] {error.message}")
        raise typer.Exit(2)
    console.print(report.summary)
    table = Table("family", "rows", "no owner", "no routing rule")
    for family in report.by_family:
        table.add_row(family.family, str(family.rows), str(family.without_owner), str(family.no_routing_rule))
    console.print(table)
    for problem in report.problems:
        console.print(f"line {problem.line}: {problem.message}")

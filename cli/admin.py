"""`pillar admin-token rotate`: replace the bootstrap admin token from the database's side (DATABASE_URL), without a
restart: the new token is printed once, its hash stored; PILLAR_ADMIN_TOKEN stops working in every process."""

import getpass

import typer
from sqlmodel import Session

admin_token_app = typer.Typer(help="The bootstrap admin token: replace it without a restart.", no_args_is_help=True)


@admin_token_app.command("rotate")
def rotate() -> None:
    """Print a new admin token (once) and make it the only one that works."""
    from core.db import get_engine, migrate
    from services.users import rotate_admin_token

    migrate()
    with Session(get_engine()) as session:
        token = rotate_admin_token(session, f"cli:{getpass.getuser()}"[:64])
    typer.echo(token)

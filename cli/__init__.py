"""`pillar`: the command line for ops and revops. Each area adds its own sub-command group here."""

import typer

from cli.admin import admin_token_app
from cli.events import events_app
from cli.inventory import inventory_app
from cli.mcp import mcp_command
from cli.ops import ops_app

app = typer.Typer(help="Pillar: revenue-operations engine on Temporal.", no_args_is_help=True)
app.add_typer(ops_app, name="ops")
app.add_typer(events_app, name="events")
app.add_typer(inventory_app, name="inventory")
app.add_typer(admin_token_app, name="admin-token")
app.command("mcp")(mcp_command)

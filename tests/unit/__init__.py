"""Pure logic and the database layer (SQLite and PostgreSQL): no Temporal server."""

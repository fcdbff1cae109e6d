#!/bin/sh
# One-shot (temporalio/admin-tools): create Temporal's two databases and bring their schemas up to date.
# Safe to re-run: `create` and `setup-schema` fail harmlessly when already done; `update-schema` is the real check.
set -eu
export SQL_PASSWORD="${POSTGRES_PWD}"
SQL="temporal-sql-tool --plugin ${DB} --ep ${POSTGRES_SEEDS} -u ${POSTGRES_USER} -p ${DB_PORT}"
SCHEMA=/etc/temporal/schema/postgresql/v12

for pair in temporal:temporal temporal_visibility:visibility; do
  db="${pair%%:*}"
  dir="${pair##*:}"
  $SQL --db "$db" create >/dev/null 2>&1 || echo "database $db already exists"
  $SQL --db "$db" setup-schema -v 0.0 >/dev/null 2>&1 || echo "base schema of $db already exists"
  $SQL --db "$db" update-schema -d "$SCHEMA/$dir/versioned"
done
echo "Temporal schema is up to date"

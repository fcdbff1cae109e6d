"""What test modules share, by topic: test modules import from here (never from one another, nor from conftest.py).

paths (the project root, tests/histories/), stack (the database seed, the dev server, the API stack, the admin token),
waiting (`eventually`), histories (recording them, the events a refused update leaves), db (actors, inboxes),
http (the error shape, posting a signal), accounts, events (the reference scenario), signals, plays, handoffs,
rituals, loop_guard, workflow_variants (changed workflows for the replay tests), faults (the fault suite's stack:
private PostgreSQL, restartable dev server, killable worker and API, webhook receiver, workload and counts).

Kept light: the workflow sandbox re-imports `workflow_variants` and, with it, this package."""

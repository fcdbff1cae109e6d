"""Imported first (by conftest.py, and by tests/support/stack.py for the scripts/bench_*.py that build a stack), before
Pillar reads its settings: the suite's webhook receivers listen on this machine (http, loopback; tests/api/
test_outbound.py checks the fence itself), and updates and deliveries are signed with a test key."""

import os

os.environ.setdefault("OUTBOUND_ALLOW_HTTP", "true")
os.environ.setdefault("OUTBOUND_ALLOW_LOOPBACK", "true")
os.environ.setdefault("PILLAR_SIGNING_KEY", "test-signing-key-0123456789abcdef")
# The session's API stack runs signals on purpose where no worker pages them; tests/api/test_paging_lag.py turns
# the worker backpressure on for itself.
os.environ.setdefault("API_PAGING_BACKLOG", "0")
# The time-skipping test server does not see a local activity (a signal's read-model writes): it may skip time past
# the workflow task's timeout while one runs, and the task is retried seconds later. Production's 8 s would then fail
# an update that only waits on that retry; tests/api/test_backpressure.py checks the bound itself.
os.environ.setdefault("UPDATE_TIMEOUT", "30")

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

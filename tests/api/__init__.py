"""The HTTP API on a real Temporal dev server and worker (the session's `api` fixture), and whole stacks in subprocesses."""

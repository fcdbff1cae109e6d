"""Workflows on the time-skipping test server (fixtures `ts_env`, `ts_worker`), and the recorded histories replayed."""

"""Faults: a worker killed or stopped mid-flight, a Temporal server restarted; nothing is lost."""

"""Where things are, whichever folder of tests/ a module sits in."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HISTORIES_DIR = PROJECT_ROOT / "tests" / "histories"  # the recorded histories (`make histories`, `pillar ops replay`)

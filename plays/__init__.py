"""The play library: one TOML file per play in this folder, validated on load.

Every problem is reported with the file and, where it belongs to one, the step it is in."""

import os
import tomllib
from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

from models.plays import PlayDef

PLAYS_DIR = Path(__file__).resolve().parent


class PlayLibraryError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid play library:\n" + "\n".join(problems))
        self.problems = problems


def library_dir() -> Path:
    """`PILLAR_PLAYS_DIR` points at another library (a deployment's own, or a test's)."""
    return Path(os.environ.get("PILLAR_PLAYS_DIR") or PLAYS_DIR)


def load_library(directory: Path | str | None = None) -> dict[str, PlayDef]:
    """Every play in `directory`, by key. Raises PlayLibraryError listing every problem found. Parsed once per
    version of the files (their names, sizes and modification times), so a request pays a few `stat` calls."""
    paths = sorted(Path(directory or library_dir()).glob("*.toml"))
    return dict(_parsed(tuple((path, path.stat().st_mtime_ns, path.stat().st_size) for path in paths)))


@lru_cache(maxsize=8)
def _parsed(files: tuple[tuple[Path, int, int], ...]) -> dict[str, PlayDef]:
    plays: dict[str, PlayDef] = {}
    problems: list[str] = []
    for path, _, _ in files:
        try:
            play = load_play(path)
        except PlayLibraryError as error:
            problems += error.problems
            continue
        if play.key in plays:
            problems.append(f"{path.name}: play key {play.key!r} is already defined by another file")
        plays[play.key] = play
    if problems:
        raise PlayLibraryError(problems)
    return plays


def load_play(path: Path) -> PlayDef:
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise PlayLibraryError([f"{path.name}: not valid TOML: {error}"]) from error
    try:
        play = PlayDef.model_validate(raw)
    except ValidationError as error:
        raise PlayLibraryError([f"{path.name}: {_where(raw, e['loc'])}{_message(e)}" for e in error.errors()]) from error
    if play.key != path.stem:
        raise PlayLibraryError([f"{path.name}: the play key {play.key!r} must match the file name {path.stem!r}"])
    return play


def _where(raw: dict, loc: tuple) -> str:
    """`('steps', 2, 'owner_role')` → `step 'save_plan', owner_role: `."""
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        steps = raw.get("steps") or []
        key = steps[loc[1]].get("key") if loc[1] < len(steps) and isinstance(steps[loc[1]], dict) else None
        rest = ".".join(str(p) for p in loc[2:])
        name = f"step {key!r}" if key else f"step #{loc[1] + 1}"
        return f"{name}, {rest}: " if rest else f"{name}: "
    return f"{'.'.join(str(p) for p in loc)}: " if loc else ""


def _message(error: dict) -> str:
    return error["msg"].removeprefix("Value error, ")

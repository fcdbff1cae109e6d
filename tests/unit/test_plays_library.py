"""The play library in plays/: the six shipped plays load, and a broken file is refused naming the file and step."""

import shutil
from pathlib import Path

import pytest

from models.common import Role
from plays import PLAYS_DIR, PlayLibraryError, load_library

SHIPPED = {"renewal_save", "expansion", "deal_rescue", "competitor_displacement", "new_icp_fit_qualification", "cross_sell"}

RENEWAL_SAVE = (PLAYS_DIR / "renewal_save.toml").read_text()


def test_the_six_plays_of_the_design_ship_and_validate():
    library = load_library()
    assert set(library) == SHIPPED
    for play in library.values():
        assert play.version >= 1 and play.exit_outcomes and play.entry.families
        assert all(step.required_fields for step in play.steps)


def test_renewal_save_is_five_steps_over_two_weeks_and_not_a_straight_line():
    play = load_library()["renewal_save"]
    assert len(play.steps) == 5 and "renewal_risk" in play.entry.families
    assert {"renewed", "churned"} <= set(play.exit_outcomes)
    by_key = {s.key: s for s in play.steps}

    def finish(key: str):
        return max((finish(d) for d in by_key[key].depends_on), default=play.steps[0].due * 0) + by_key[key].due

    assert max(finish(k) for k in by_key).days <= 14
    assert any(len(s.depends_on) > 1 for s in play.steps)  # a join
    assert sum(1 for s in play.steps if "diagnose" in s.depends_on) > 1  # a fork
    assert {s.owner_role for s in play.steps} >= {Role.csm, Role.csm_lead, Role.ae}


def broken_library(tmp_path: Path, text: str, name: str = "renewal_save.toml") -> Path:
    shutil.copy(PLAYS_DIR / "expansion.toml", tmp_path / "expansion.toml")
    (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    "change, words",
    [
        (('key = "save_plan"', 'key = "exec_sponsor"'), ["step 'exec_sponsor' is defined twice"]),
        (('depends_on = ["save_plan"]', 'depends_on = ["save_plann"]'), ["step 'commercial_offer'", "unknown step 'save_plann'"]),
        (('owner_role = "ae"', 'owner_role = "wizard"'), ["step 'commercial_offer'", "owner_role"]),
        (('due = "P3D"\nrequired_fields = ["offer_terms"', 'due = "three days"\nrequired_fields = ["offer_terms"'),
         ["step 'commercial_offer'", "due", "ISO-8601"]),
        (('owner_role = "csm"\ndue = "P2D"', 'owner_role = "csm"\ndepends_on = ["renewal_decision"]\ndue = "P2D"'),
         ["cycle", "diagnose"]),
        (('exit_outcomes = ["renewed", "churned", "expanded"]', 'exit_outcomes = ["renewed", "saved"]'),
         ["exit outcome 'saved'"]),
        (('families = ["renewal_risk",', 'families = ["Renewal Risk",'), ["entry.families"]),
        (('action = "log_to_crm"', 'action = "log_to_crn"'), ["step 'exec_sponsor'", "unknown action 'log_to_crn'", "log_to_crm"]),
    ],
)
def test_a_broken_play_is_refused_naming_the_file_and_the_step(tmp_path, change, words):
    old, new = change
    assert old in RENEWAL_SAVE
    with pytest.raises(PlayLibraryError) as refused:
        load_library(broken_library(tmp_path, RENEWAL_SAVE.replace(old, new, 1)))
    message = str(refused.value)
    for word in ["renewal_save.toml", *words]:
        assert word in message, message


def test_bad_toml_and_a_key_that_does_not_match_the_file_are_refused(tmp_path):
    with pytest.raises(PlayLibraryError, match="renewal_save.toml: not valid TOML"):
        load_library(broken_library(tmp_path, RENEWAL_SAVE + "\n[[steps\n"))
    with pytest.raises(PlayLibraryError, match="must match the file name 'rescue'"):
        load_library(broken_library(tmp_path, RENEWAL_SAVE, name="rescue.toml"))

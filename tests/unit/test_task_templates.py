"""A task's deadline: the template's own, else its play's planned length, else the signal's severity."""

from datetime import timedelta

import pytest
from pydantic import ValidationError

from models.common import Severity
from models.templates import TaskTemplatesIn
from plays import load_library
from services.task_templates import DEFAULT_TASK_TEMPLATES

LIBRARY = TaskTemplatesIn.model_validate(DEFAULT_TASK_TEMPLATES)


def test_the_renewal_save_assigned_from_a_critical_signal_is_due_in_seven_days():
    save = LIBRARY.template("renewal_save_play")
    planned = load_library()[save.play_key].planned_duration()
    assert planned > timedelta(days=7)  # the play's own steps run on; the save itself has a week
    assert save.due_in(Severity.critical, planned) == timedelta(days=7)


def test_without_a_due_a_play_template_takes_its_plays_length_and_any_other_the_severitys():
    expansion = LIBRARY.template("expansion_play")
    planned = load_library()[expansion.play_key].planned_duration()
    assert expansion.due is None and expansion.due_in(Severity.warning, planned) == planned
    assert LIBRARY.template("nps_follow_up").due_in(Severity.info) == timedelta(days=7)
    assert LIBRARY.template("renewal_exec_call").due_in(Severity.critical) == timedelta(days=1)


def test_a_template_due_must_be_a_positive_iso_duration():
    body = {"templates": [{"key": "k", "family": "renewal_risk", "title": "t", "due": "PT0S"}]}
    with pytest.raises(ValidationError, match="due"):
        TaskTemplatesIn.model_validate(body)

"""The task-template library (seam 02) and the candidates an acknowledgement offers from it: below both
services/signals.py (acknowledging offers them) and services/tasks.py (a task starts from one)."""

from datetime import UTC, datetime

from sqlmodel import Session

from core import config_store
from core.errors import PillarError
from models.signals import SignalDetail
from models.tables import Account
from models.tasks import TaskCandidate
from models.templates import TaskTemplate, TaskTemplates, TaskTemplatesIn
from plays import load_library

TASK_TEMPLATES = "task_templates"


def _t(key, family, title, segments=(), play_key=None, due=None):
    return {"key": key, "family": family, "title": title, "segments": list(segments), "play_key": play_key, "due": due}


DEFAULT_TASK_TEMPLATES = {
    "escalate_after": "P1D",
    "templates": [
        _t("renewal_save_play", "renewal_risk", "Run the Renewal Save play", play_key="renewal_save", due="P7D"),  # the save's 7-day deadline
        _t("renewal_exec_call", "renewal_risk", "Executive call with the economic buyer", ["enterprise"]),
        _t("renewal_health_review", "renewal_risk", "Review account health with the champion"),
        _t("renewal_offer", "renewal_risk", "Prepare a renewal offer with multi-year terms", ["mid_market", "smb"]),
        _t("champion_new_contact", "champion_departed", "Identify and meet the new champion"),
        _t("champion_exec_sponsor", "champion_departed", "Secure an executive sponsor", ["enterprise"]),
        _t("champion_rescue_play", "champion_departed", "Run the Deal Rescue play", play_key="deal_rescue"),
        _t("adoption_enablement", "adoption_decay", "Book an enablement session for inactive users"),
        _t("adoption_assessment_prep", "adoption_decay", "Plan usage around the next assessment window", ["mid_market"]),
        _t("adoption_success_plan", "adoption_decay", "Refresh the success plan with the admin"),
        _t("expansion_play", "expansion_trigger", "Run the Expansion play", play_key="expansion"),
        _t("expansion_discovery", "expansion_trigger", "Discovery call on the new use cases"),
        _t("expansion_pricing", "expansion_trigger", "Prepare an expansion quote"),
        _t("nps_follow_up", "nps_decline", "Call the detractor back within the week"),
        _t("nps_root_cause", "nps_decline", "Find the root cause with support and product"),
        _t("nps_exec_note", "nps_decline", "Executive note to the account's sponsor", ["enterprise"]),
        _t("governance_review", "handoff_governance_violation", "Review the overridden handoff with both teams"),
        _t("governance_fill_context", "handoff_governance_violation", "Fill the missing handoff context"),
        _t("governance_coaching", "handoff_governance_violation", "Coach the sender on the handoff spec"),
        _t("cross_sell_play", "cross_sell_watermark", "Run the Cross-Sell play", play_key="cross_sell"),
        _t("cross_sell_intro", "cross_sell_watermark", "Introduce the motion-B team"),
        _t("cross_sell_displacement", "cross_sell_watermark", "Run the Competitor Displacement play",
           play_key="competitor_displacement"),
        _t("stalled_deal_rescue", "stalled_deal", "Run the Deal Rescue play", play_key="deal_rescue"),
        _t("stalled_deal_next_step", "stalled_deal", "Agree a dated next step with the buyer"),
        _t("stalled_deal_review", "stalled_deal", "Review the deal with the manager"),
        _t("close_date_rescue", "close_date_drift", "Run the Deal Rescue play", play_key="deal_rescue"),
        _t("close_date_recommit", "close_date_drift", "Re-confirm the close plan with the champion"),
        _t("close_date_forecast", "close_date_drift", "Update the forecast category and close date"),
    ],
}


def load_default_templates(session: Session) -> None:
    """Write version 1 of the template library if there is none (never overwrites an edited one)."""
    config_store.seed(session, TASK_TEMPLATES, TaskTemplatesIn.model_validate(DEFAULT_TASK_TEMPLATES).model_dump(mode="json"))


def current_templates(session: Session) -> TaskTemplates:
    row = config_store.latest(session, TASK_TEMPLATES)
    if row is None:
        raise PillarError("invalid", "no task-template library is configured: PUT /api/v1/config/task-templates first")
    return TaskTemplates.model_validate({**row.body, "version": row.version, "created_at": row.created_at})


def candidates_for(session: Session, signal: SignalDetail, now: datetime | None = None,
                   library: TaskTemplates | None = None) -> list[TaskCandidate]:
    """The best three templates for the signal's family and its account's segment, each with its due date
    (`library`: the template library in force, when the caller has read it already)."""
    account = session.get(Account, signal.account_id)
    now = now or datetime.now(UTC)
    templates = (library or current_templates(session)).candidates(signal.family, account.segment if account else None)
    plays = load_library() if any(t.play_key for t in templates) else {}

    def due_at(template: TaskTemplate) -> datetime:
        play = plays.get(template.play_key) if template.play_key else None
        return now + template.due_in(signal.severity, play.planned_duration() if play else None)

    return [TaskCandidate(template_key=t.key, title=t.title, due_at=due_at(t), play_key=t.play_key) for t in templates]

"""The demo's baseline: four weeks of rituals from before Pillar ran them — each meeting's action items, with their
owners, due dates and the outcomes they eventually got, most of them late. `GET /api/v1/cadences/metrics` computes
the completion rate from these rows like from any others (23 of the 100 were closed by their due date), which is
the number the cadence exists to move. Only the meetings' action items were kept, not their agendas."""

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from core import config_store
from models.rituals import ActionItem, Agenda, AgendaStatus, RitualDef, RitualsConfigIn
from models.tables import ActionItemRow, AgendaRow
from models.tasks import Outcome
from services.rituals import DEFAULT_RITUALS, RITUALS, agenda_id_for, build_times, config_out, meeting_for

WEEKS = 4
ITEMS_PER_MEETING = 5  # 3 academic, 2 credentialed
ON_TIME = {"signal_triage": 6, "execution_one_on_ones": 7, "forecast_call": 5, "at_risk_review": 4, "retro": 1}  # of 20 each
OWNERS = ["casey", "alex", "lee", "sam", "sky"]
ACCOUNTS = {"academic": ["Acme University", "Initech Learning"], "credentialed": ["Globex Certification"]}
TITLES = {
    "signal_triage": ["Call {a}'s admin about the usage drop", "Find out who owns the {a} NPS detractor",
                      "Check the {a} ticket spike with support", "Confirm {a}'s champion is still in role"],
    "execution_one_on_ones": ["Finish the {a} success plan", "Book the {a} enablement session",
                              "Send {a} the renewal paperwork", "Update the {a} health notes"],
    "forecast_call": ["Get a dated close plan from {a}", "Confirm {a}'s procurement timeline",
                      "Re-check the {a} amount with finance", "Move {a} out of commit until the champion confirms"],
    "at_risk_review": ["Executive sponsor call with {a}", "Price a save offer for {a}", "Decide save vs replace for {a}",
                       "Escalate the {a} product gaps to product"],
    "retro": ["Write up why the {a} signal fired late", "Propose a threshold change for {a}'s motion",
              "Review last week's missed items with {a}'s team", "Tidy {a}'s stale tasks"],
}
ON_TIME_OUTCOMES = [Outcome.renewed, Outcome.expanded, Outcome.renewed, Outcome.reassigned]
LATE_OUTCOMES = [Outcome.renewed, Outcome.reassigned, Outcome.lost, Outcome.renewed, Outcome.expanded, Outcome.churned]
NOTE = ("Baseline history from before Pillar ran this ritual: the meeting's action items and what became of them were "
        "imported; its agenda was not kept.")


def _rituals(session: Session) -> list[RitualDef]:
    row = config_store.latest(session, RITUALS)
    rituals = config_out(row).rituals if row else RitualsConfigIn.model_validate(DEFAULT_RITUALS).rituals
    return [r for r in rituals if r.key in ON_TIME]


def load_baseline_history(session: Session, now: datetime | None = None) -> int:
    """Add the baseline once (a second call finds it); returns how many action items it added."""
    if session.exec(select(AgendaRow.id).where(AgendaRow.source == "seed").limit(1)).first():
        return 0
    now = now or datetime.now(UTC)
    added = 0
    for ritual in _rituals(session):
        # The four meetings before last week's: every item's due date and outcome lie safely in the past.
        builds = build_times(ritual, now - timedelta(weeks=WEEKS + 1), now - timedelta(weeks=1))[-WEEKS:]
        for week, built_at in enumerate(builds):
            meeting_at = meeting_for(ritual, built_at)
            for n in range(ITEMS_PER_MEETING):
                index = week * ITEMS_PER_MEETING + n
                motion = "academic" if n < 3 else "credentialed"
                agenda_id = agenda_id_for(ritual.key, motion, meeting_at)
                if session.get(AgendaRow, agenda_id) is None:
                    session.add(_agenda(ritual, motion, meeting_at, agenda_id))
                session.add(_item(ritual, motion, meeting_at, agenda_id, index, n))
                added += 1
    session.commit()
    return added


def _agenda(ritual: RitualDef, motion: str, meeting_at: datetime, agenda_id: str) -> AgendaRow:
    body = Agenda(id=agenda_id, ritual_key=ritual.key, ritual_name=ritual.name, kind=ritual.kind, motion=motion,
                  timezone=ritual.timezone, meeting_at=meeting_at, built_at=meeting_at, config_version=0,
                  status=AgendaStatus.closed, source="seed", summary=NOTE)
    return AgendaRow(id=agenda_id, ritual_key=ritual.key, kind=ritual.kind.value, motion=motion, meeting_at=meeting_at,
                     built_at=meeting_at, workflow_id=None, config_version=0, status=AgendaStatus.closed.value, source="seed",
                     body=body.model_dump(mode="json", exclude={"action_items"}))


def _item(ritual: RitualDef, motion: str, meeting_at: datetime, agenda_id: str, index: int, n: int) -> ActionItemRow:
    accounts = ACCOUNTS[motion]
    title = TITLES[ritual.key][index % 4].format(a=accounts[index % len(accounts)])
    due_at = meeting_at + timedelta(days=1 + index % 3)
    on_time = (index * 7) % 20 < ON_TIME[ritual.key]  # spreads each ritual's on-time items over its weeks
    if on_time:
        outcome, outcome_at = ON_TIME_OUTCOMES[index % 4], due_at - timedelta(hours=2 + index % 5)
    else:
        outcome, outcome_at = LATE_OUTCOMES[index % 6], due_at + timedelta(days=1 + index % 2, hours=index % 7)
    owner = OWNERS[(index + n) % len(OWNERS)]
    number = n + 1 if motion == "academic" else n - 2
    item = ActionItem(id=f"{agenda_id}-a{number}", agenda_id=agenda_id, ritual_key=ritual.key, motion=motion, title=title,
                      owner_id=owner, due_at=due_at, created_at=meeting_at, created_by="maya", outcome=outcome,
                      outcome_at=outcome_at, outcome_by=owner, overdue_paged=not on_time)
    return ActionItemRow(id=item.id, agenda_id=agenda_id, ritual_key=ritual.key, motion=motion, meeting_at=meeting_at,
                         owner_id=owner, is_open=False, outcome=outcome.value, due_at=due_at, outcome_at=outcome_at,
                         state=item.model_dump(mode="json"))

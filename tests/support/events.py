"""The DESIGN.md reference scenario as events: eight steady weeks, then one bad week; and the cross-sell watermark's."""

from datetime import UTC, datetime, timedelta

from pydantic import TypeAdapter

from models.events import AccountEvent, StoredEvent, payload_of
from services.events import event_id_for

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)  # a Monday; the whole scenario sits inside one 30-day dedup window
BASELINE_END = T0 + timedelta(days=49)
SCENARIO_END = T0 + timedelta(days=56)
RENEWAL_DATE = (SCENARIO_END + timedelta(days=90)).date()  # "90 days of lead time": the renewal the bad week puts at risk


def _event(account_id: str, kind: str, at: datetime, **fields) -> dict:
    return {"kind": kind, "account_id": account_id, "occurred_at": at.isoformat(), **fields}


def baseline(account_id: str) -> list[dict]:
    """Steady use (400 of 1,000 seats weekly), NPS 8, one support ticket a month, a champion in place."""
    events = [_event(account_id, "contact_change", T0, contact_id="champ-1", role="champion", change="joined")]
    events += [_event(account_id, "product_usage", T0 + timedelta(days=7 * w), active_users=400, seats=1000, program="motion_a")
               for w in range(8)]
    events += [
        _event(account_id, "nps_response", T0 + timedelta(days=20), score=8, contact_id="champ-1"),
        _event(account_id, "support_ticket", T0 + timedelta(days=10), ticket_id="t-1"),
        _event(account_id, "support_ticket", T0 + timedelta(days=40), ticket_id="t-2"),
    ]
    return [{**e, "external_id": f"base-{i}"} for i, e in enumerate(events)]


def bad_week(account_id: str) -> list[dict]:
    """Usage falls 35%, the champion changes roles, NPS 8 → 3, support tickets triple in 30 days."""
    day = BASELINE_END
    events = [
        _event(account_id, "contact_change", day + timedelta(days=1), contact_id="champ-1", role="champion", change="role_changed"),
        _event(account_id, "product_usage", day + timedelta(days=3), active_users=260, seats=1000, program="motion_a"),
        _event(account_id, "nps_response", day + timedelta(days=4), score=3, contact_id="champ-2"),
        _event(account_id, "support_ticket", day + timedelta(days=5), ticket_id="t-3"),
        _event(account_id, "support_ticket", day + timedelta(days=5, hours=2), ticket_id="t-4"),
        _event(account_id, "product_usage", day + timedelta(days=7), active_users=260, seats=1000, program="motion_a"),
    ]
    return [{**e, "external_id": f"week-{i}"} for i, e in enumerate(events)]


def as_stored(events: list[dict]) -> list[StoredEvent]:
    adapter = TypeAdapter(AccountEvent)
    out = []
    for i, raw in enumerate(events):
        event = adapter.validate_python(raw)
        out.append(StoredEvent(id=event_id_for(event.account_id, f"ref-{i}-{raw['kind']}"), kind=event.kind, account_id=event.account_id,
                               occurred_at=event.occurred_at, received_at=event.occurred_at, payload=payload_of(event)))
    return out


def watermark_events(adoption=450, contract_years=3, adjacent="motion_b"):
    at = BASELINE_END
    return [
        {"kind": "product_usage", "account_id": "a", "occurred_at": (at - timedelta(days=1)).isoformat(), "active_users": adoption,
         "seats": 1000, "program": "motion_a"},
        {"kind": "crm_stage_change", "account_id": "a", "occurred_at": (at - timedelta(days=2)).isoformat(), "opportunity_id": "r1",
         "stage": "closed_won", "contract_years": contract_years},
        {"kind": "contact_change", "account_id": "a", "occurred_at": (at - timedelta(days=3)).isoformat(), "contact_id": "dean",
         "role": "economic_buyer", "change": "joined", "program": adjacent},
    ]

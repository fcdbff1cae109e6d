"""DESIGN.md's reference scenario as events, from the demo book's story (services/demo_book.py) on its fixed dates:
eight steady weeks, then one bad week; and the cross-sell watermark's."""

from pydantic import TypeAdapter

from models.events import AccountEvent, StoredEvent, payload_of
from services.demo_book import REFERENCE_START as T0
from services.demo_book import RENEWAL_LEAD, bad_week, baseline, baseline_end, week_end
from services.demo_book import cross_sell_events as watermark_events
from services.events import event_id_for

BASELINE_END = baseline_end(T0)
SCENARIO_END = week_end(T0)
RENEWAL_DATE = (SCENARIO_END + RENEWAL_LEAD).date()  # "90 days of lead time": the renewal the bad week puts at risk

__all__ = ["T0", "BASELINE_END", "SCENARIO_END", "RENEWAL_DATE", "as_stored", "bad_week", "baseline", "watermark_events"]


def as_stored(events: list[dict]) -> list[StoredEvent]:
    adapter = TypeAdapter(AccountEvent)
    out = []
    for i, raw in enumerate(events):
        event = adapter.validate_python(raw)
        out.append(StoredEvent(id=event_id_for(event.account_id, f"ref-{i}-{raw['kind']}"), kind=event.kind, account_id=event.account_id,
                               occurred_at=event.occurred_at, received_at=event.occurred_at, payload=payload_of(event)))
    return out

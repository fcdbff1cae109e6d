"""Detection through the API: motion thresholds, the inactivity sweep, dedup windows, the cross-sell watermark."""

from datetime import UTC, datetime, timedelta

import pytest

from services.detection import dedup_window
from tests.support.accounts import make_account, signals_of
from tests.support.events import watermark_events
from tests.support.http import assert_error
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")
LAST_USE = datetime(2026, 4, 1, 9, tzinfo=UTC)


async def post(api, *events):
    response = await api.http.post("/api/v1/events/batch", json={"events": list(events)}, headers=api.auth("rory"))
    assert response.status_code == 201, response.text
    return response.json()


def event(account_id, kind, at, **fields):
    return {"kind": kind, "account_id": account_id, "occurred_at": at.isoformat(), **fields}


async def sweep(api, account_id, at):
    response = await api.http.post("/api/v1/detection/run", json={"account_ids": [account_id], "as_of": at.isoformat()},
                                   headers=api.auth("olga"))
    assert response.status_code == 200, response.text
    return [s for s in response.json()["signals"] if s["family"] == "adoption_decay"]


async def test_the_same_inactivity_fires_for_a_credentialed_account_long_before_an_academic_one(api):
    academic = await make_account(api, "det-acad", motion="academic")
    credentialed = await make_account(api, "det-cred", motion="credentialed")
    for account_id in (academic, credentialed):
        await post(api, event(account_id, "product_usage", LAST_USE, active_users=80))
    twelve_days = LAST_USE + timedelta(days=12)
    # an event twelve days later (no product use in between) is evaluated at its own time
    fired = {a: (await post(api, event(a, "support_ticket", twelve_days, ticket_id="T-9")))["signals"] for a in (academic, credentialed)}
    assert fired[academic] == []
    [decay] = fired[credentialed]
    assert decay["family"] == "adoption_decay" and decay["new"] and decay["severity"] == "warning"
    signal = (await api.http.get(f"/api/v1/signals/{decay['signal_id']}", headers=api.auth("casey"))).json()
    assert signal["evidence"]["thresholds"] == {"inactive_days": 10} and signal["evidence"]["measured"] == {"inactive_days": 12}
    assert signal["owners"] == ["casey"]

    assert await sweep(api, academic, LAST_USE + timedelta(days=44)) == []
    [late] = await sweep(api, academic, LAST_USE + timedelta(days=46))
    assert late["new"]
    signal = (await api.http.get(f"/api/v1/signals/{late['signal_id']}", headers=api.auth("casey"))).json()
    assert signal["evidence"]["thresholds"] == {"inactive_days": 45}


async def test_a_condition_pages_once_per_dedup_window(api):
    account_id = await make_account(api, "det-dedup", motion="credentialed")
    await post(api, event(account_id, "product_usage", LAST_USE, active_users=80))
    window = timedelta(days=30)
    _, start = dedup_window("adoption_decay", account_id, LAST_USE + timedelta(days=15), window)
    inside = [max(start, LAST_USE + timedelta(days=11)) + timedelta(hours=h) for h in (0, 1, 30)]
    runs = [await sweep(api, account_id, at) for at in inside]
    assert [r[0]["new"] for r in runs] == [True, False, False]
    assert len({r[0]["signal_id"] for r in runs}) == 1
    [next_window] = await sweep(api, account_id, start + window + timedelta(hours=1))
    assert next_window["new"] and next_window["signal_id"] != runs[0][0]["signal_id"]

    decays = await eventually(lambda: _two(signals_of(api, account_id, "adoption_decay")))
    assert len(decays) == 2

    async def pages():
        notes = (await api.http.get("/api/v1/me/notifications", headers=api.auth("casey"))).json()
        return [n for n in notes if n["subject_id"] in {d["id"] for d in decays} and n["kind"] == "page"]

    await eventually(lambda: _two(pages()))
    assert len(await pages()) == 2

    assert_error(await api.http.post("/api/v1/detection/run", json={"account_ids": ["nowhere"]}, headers=api.auth("olga")),
                 422, "invalid", "nowhere")
    assert_error(await api.http.post("/api/v1/detection/run", json={}, headers=api.auth("casey")), 403, "forbidden")


async def _two(rows):
    rows = await rows
    return rows if len(rows) >= 2 else None


async def test_the_cross_sell_watermark_goes_to_the_ae_with_its_own_play(api):
    account_id = await make_account(api, "det-xsell", arr=120_000)
    result = await post(api, *[{**e, "account_id": account_id} for e in watermark_events()])
    [mark] = result["signals"]
    assert mark["family"] == "cross_sell_watermark" and mark["severity"] == "info" and mark["new"]
    signal = (await api.http.get(f"/api/v1/signals/{mark['signal_id']}", headers=api.auth("alex"))).json()
    assert signal["owners"] == ["alex"] and signal["evidence"]["play_key"] == "cross_sell"
    assert signal["evidence"]["measured"]["program_adoption_pct"] == 45

    risky = await make_account(api, "det-xsell-risk", arr=120_000)
    champion_left = event(risky, "contact_change", datetime.fromisoformat(watermark_events()[0]["occurred_at"]),
                          contact_id="c-1", role="champion", change="left")
    result = await post(api, *[{**e, "account_id": risky} for e in watermark_events()], champion_left)
    assert [s["family"] for s in result["signals"]] == ["champion_departed"]

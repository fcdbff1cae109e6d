"""Events in through the API and the CSV import: validation, all-or-nothing batches, idempotent re-sends."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from cli import app
from tests.support.accounts import make_account
from tests.support.events import baseline
from tests.support.http import assert_error

pytestmark = pytest.mark.asyncio(loop_scope="session")
AT = datetime(2026, 3, 2, 12, tzinfo=UTC)


def usage(account_id, at=AT, **extra):
    return {"kind": "product_usage", "account_id": account_id, "occurred_at": at.isoformat(), "active_users": 120, **extra}


async def stored(api, account_id):
    return (await api.http.get("/api/v1/events", params={"account_id": account_id}, headers=api.auth("maya"))).json()


async def test_one_event_is_stored_scored_and_listed(api):
    account_id = await make_account(api, "ev-one")
    response = await api.http.post("/api/v1/events", json=usage(account_id, seats=300), headers=api.auth("olga"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["stored"] == 1 and body["duplicates"] == 0 and body["scores"][0]["health"] == 70
    [event] = await stored(api, account_id)
    assert event["id"] == body["event_ids"][0] and event["kind"] == "product_usage"
    assert event["payload"] == {"active_users": 120, "seats": 300} and event["occurred_at"].startswith("2026-03-02T12:00:00")
    score = (await api.http.get(f"/api/v1/accounts/{account_id}/score", headers=api.auth("casey"))).json()
    assert score["as_of"].startswith("2026-03-02T12:00:00")


async def test_a_batch_with_one_bad_event_is_refused_whole_naming_its_index_and_field(api):
    account_id = await make_account(api, "ev-bad")
    good = baseline(account_id)
    cases = [
        (2, usage(account_id, active_users=-5), ["events.2", "active_users"]),
        (1, {**usage(account_id), "occurred_at": "2026-03-02T12:00:00"}, ["events.1", "occurred_at", "timezone"]),
        (3, {"kind": "weather", "account_id": account_id, "occurred_at": AT.isoformat()}, ["events.3", "weather"]),
        (0, {"kind": "nps_response", "account_id": account_id, "occurred_at": AT.isoformat(), "score": 11}, ["events.0", "score"]),
        (1, {**usage(account_id), "mood": "sunny"}, ["events.1", "mood"]),
        (1, {"kind": "support_ticket", "account_id": account_id, "occurred_at": AT.isoformat()}, ["events.1", "ticket_id"]),
    ]
    for index, bad, words in cases:
        events = good[:index] + [bad] + good[index:]
        response = await api.http.post("/api/v1/events/batch", json={"events": events}, headers=api.auth("rory"))
        error = assert_error(response, 422, "invalid", *words)
        assert any(p["field"].startswith(f"events.{index}") for p in error["details"])

    ghost = good[:1] + [usage("ghost-account")]
    error = assert_error(await api.http.post("/api/v1/events/batch", json={"events": ghost}, headers=api.auth("rory")),
                         422, "invalid", "event 1", "unknown account 'ghost-account'", "nothing was stored")
    assert error["details"] == [{"index": 1, "field": "account_id", "message": "unknown account 'ghost-account'"}]
    assert_error(await api.http.post("/api/v1/events/batch", json={"events": []}, headers=api.auth("rory")), 422, "invalid", "events")
    assert_error(await api.http.post("/api/v1/events", json=usage(account_id, active_users="many"), headers=api.auth("rory")),
                 422, "invalid", "active_users")

    assert await stored(api, account_id) == []
    assert_error(await api.http.get(f"/api/v1/accounts/{account_id}/score", headers=api.auth("maya")), 404, "not_found", "no events")
    assert (await api.http.get(f"/api/v1/accounts/{account_id}/score/history", headers=api.auth("maya"))).json() == []


async def test_a_resent_external_id_is_stored_once_and_only_event_writers_may_post(api):
    account_id = await make_account(api, "ev-dup")
    event = usage(account_id, external_id="pendo-42")
    first = (await api.http.post("/api/v1/events", json=event, headers=api.auth("rory"))).json()
    again = (await api.http.post("/api/v1/events/batch", json={"events": [event, event]}, headers=api.auth("rory"))).json()
    assert again["stored"] == 0 and again["duplicates"] == 2 and again["event_ids"] == first["event_ids"] * 2
    assert len(await stored(api, account_id)) == 1
    history = (await api.http.get(f"/api/v1/accounts/{account_id}/score/history", headers=api.auth("maya"))).json()
    assert len(history) == 1
    assert_error(await api.http.post("/api/v1/events", json=usage(account_id), headers=api.auth("casey")), 403, "forbidden")
    assert_error(await api.http.post("/api/v1/events", json=usage(account_id)), 401, "unauthorized")


async def test_layer_config_is_versioned_and_validated(api):
    for path in ("signal-definitions", "score-weights", "cost-model"):
        current = (await api.http.get(f"/api/v1/config/{path}", headers=api.auth("casey"))).json()
        assert current["version"] >= 1
        body = {k: v for k, v in current.items() if k not in ("version", "created_at", "created_by")}
        written = await api.http.put(f"/api/v1/config/{path}", json=body, headers=api.auth("rory"))
        assert written.status_code == 200, written.text
        old = (await api.http.get(f"/api/v1/config/{path}/{current['version']}", headers=api.auth("casey"))).json()
        assert old["version"] == current["version"]
        assert_error(await api.http.put(f"/api/v1/config/{path}", json=body, headers=api.auth("casey")), 403, "forbidden")
        assert_error(await api.http.get(f"/api/v1/config/{path}/9999", headers=api.auth("casey")), 404, "not_found")
    definitions = (await api.http.get("/api/v1/config/signal-definitions", headers=api.auth("rory"))).json()
    decay = next(d for d in definitions["definitions"] if d["family"] == "adoption_decay")
    assert decay["motion_overrides"] == {"academic": {"inactive_days": 45}, "credentialed": {"inactive_days": 10}}
    broken = {"definitions": [{**decay, "dedup_window": "30 days"}]}
    assert_error(await api.http.put("/api/v1/config/signal-definitions", json=broken, headers=api.auth("rory")), 422, "invalid", "ISO-8601")
    tiers = {"renewal_risk": {"tiers": {"medium": 80, "high": 60, "critical": 75}}}
    assert_error(await api.http.put("/api/v1/config/score-weights", json=tiers, headers=api.auth("rory")), 422, "invalid", "tiers")
    no_low = {"churn_probability": {"medium": 0.2, "high": 0.5, "critical": 0.8}}
    assert_error(await api.http.put("/api/v1/config/cost-model", json=no_low, headers=api.auth("rory")), 422, "invalid", "low")


async def test_the_nrr_scenario_refuses_unknown_accounts(api):
    assert_error(await api.http.post("/api/v1/scenarios/nrr", json={"account_ids": ["acme", "nowhere"]}, headers=api.auth("maya")),
                 422, "invalid", "nowhere")
    assert_error(await api.http.post("/api/v1/scenarios/nrr", json={"account_ids": []}, headers=api.auth("maya")), 422, "invalid")
    both = (await api.http.post("/api/v1/scenarios/nrr", json={"account_ids": ["acme", "globex"], "expansion_arr": 10_000},
                                headers=api.auth("maya"))).json()
    assert both["lost_arr"] == 275_000 and both["nrr_baseline_pct"] > 100 > both["nrr_if_lost_pct"]


CSV_HEADER = "account_id,kind,occurred_at,external_id,active_users,seats,score,ticket_id\n"


async def test_csv_import_checks_every_row_before_storing_any(api, tmp_path):
    account_id = await make_account(api, "ev-csv")
    day = AT - timedelta(days=3)
    good = tmp_path / "good.csv"
    good.write_text(CSV_HEADER + "".join([
        f"{account_id},product_usage,{day.isoformat()},u-1,200,400,,\n",
        f"{account_id},nps_response,{AT.isoformat()},n-1,,,9,\n",
        f"{account_id},support_ticket,{AT.isoformat()},t-1,,,,T-1\n",
    ]))
    bad = tmp_path / "bad.csv"
    bad.write_text(CSV_HEADER + f"{account_id},product_usage,{day.isoformat()},u-2,200,,,\n"
                   f"{account_id},nps_response,{AT.isoformat()},n-2,,,eleven,\n")
    def pillar(*args):  # in a thread: the command runs its own event loop
        return asyncio.to_thread(CliRunner().invoke, app, list(args))

    refused = await pillar("events", "import", str(bad), "--no-detect")
    assert refused.exit_code == 2 and "line 3: score" in refused.output, refused.output
    assert await stored(api, account_id) == []

    done = await pillar("events", "import", str(good))
    assert done.exit_code == 0 and "imported 3 event(s), 0 already stored" in done.output, done.output
    again = await pillar("events", "import", str(good), "--no-detect")
    assert "imported 0 event(s), 3 already stored" in again.output, again.output
    kinds = sorted(e["kind"] for e in await stored(api, account_id))
    assert kinds == ["nps_response", "product_usage", "support_ticket"]
    score = (await api.http.get(f"/api/v1/accounts/{account_id}/score", headers=api.auth("maya"))).json()
    assert score["as_of"].startswith("2026-03-02T12:00:00")

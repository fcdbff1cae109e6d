"""The demo book `make run` loads (unless PILLAR_DEMO=0): DESIGN.md's reference week told through the API, as a
newcomer's first look at a working book. Nothing is written to the database directly: events go in through
/api/v1/events and are scored and detected there, signals are routed and paged by their workflows, people act
with their own tokens. Every part checks what is already there first, so loading twice adds nothing.

Times are relative to the moment it loads: the bad week ends an hour ago and the renewal is 90 days after it, so
the scores and every "overdue by" are true on any day. The story's events (`baseline`, `bad_week`,
`cross_sell_events`) also reproduce the reference figures in the tests, from `REFERENCE_START`."""

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from plays import PLAYS_DIR, load_library, load_play

REFERENCE_START = datetime(2026, 1, 5, 9, tzinfo=UTC)  # a Monday; the whole week sits inside one 30-day dedup window
BASELINE_WEEKS = 7  # the steady weeks before the bad one
WEEK = timedelta(days=7)
RENEWAL_LEAD = timedelta(days=90)  # "90 days of lead time": the renewal the bad week puts at risk


def _event(account_id: str, kind: str, at: datetime, **fields) -> dict:
    return {"kind": kind, "account_id": account_id, "occurred_at": at.isoformat(), **fields}


def baseline_end(start: datetime) -> datetime:
    return start + BASELINE_WEEKS * WEEK


def week_end(start: datetime) -> datetime:
    return baseline_end(start) + WEEK


def baseline(account_id: str, start: datetime = REFERENCE_START) -> list[dict]:
    """Steady use (400 of 1,000 seats weekly), NPS 8, one support ticket a month, a champion in place."""
    events = [_event(account_id, "contact_change", start, contact_id="champ-1", role="champion", change="joined")]
    events += [_event(account_id, "product_usage", start + w * WEEK, active_users=400, seats=1000, program="motion_a")
               for w in range(BASELINE_WEEKS + 1)]
    events += [
        _event(account_id, "nps_response", start + timedelta(days=20), score=8, contact_id="champ-1"),
        _event(account_id, "support_ticket", start + timedelta(days=10), ticket_id="t-1"),
        _event(account_id, "support_ticket", start + timedelta(days=40), ticket_id="t-2"),
    ]
    return [{**e, "external_id": f"base-{i}"} for i, e in enumerate(events)]


def bad_week(account_id: str, start: datetime = REFERENCE_START) -> list[dict]:
    """Usage falls 35%, the champion changes roles, NPS 8 → 3, support tickets triple in 30 days."""
    day = baseline_end(start)
    events = [
        _event(account_id, "contact_change", day + timedelta(days=1), contact_id="champ-1", role="champion", change="role_changed"),
        _event(account_id, "product_usage", day + timedelta(days=3), active_users=260, seats=1000, program="motion_a"),
        _event(account_id, "nps_response", day + timedelta(days=4), score=3, contact_id="champ-2"),
        _event(account_id, "support_ticket", day + timedelta(days=5), ticket_id="t-3"),
        _event(account_id, "support_ticket", day + timedelta(days=5, hours=2), ticket_id="t-4"),
        _event(account_id, "product_usage", day + timedelta(days=7), active_users=260, seats=1000, program="motion_a"),
    ]
    return [{**e, "external_id": f"week-{i}"} for i, e in enumerate(events)]


def cross_sell_events(account_id: str = "a", at: datetime | None = None, adoption: int = 450, contract_years: int = 3,
                      adjacent: str = "motion_b") -> list[dict]:
    """The cross-sell watermark's conditions: motion-A adoption, a multi-year contract, a buyer in an adjacent program."""
    at = at or baseline_end(REFERENCE_START)
    return [
        {**_event(account_id, "product_usage", at - timedelta(days=1), active_users=adoption, seats=1000, program="motion_a"),
         "external_id": "xsell-usage"},
        {**_event(account_id, "crm_stage_change", at - timedelta(days=2), opportunity_id="r1", stage="closed_won",
                  contract_years=contract_years), "external_id": "xsell-renewal"},
        {**_event(account_id, "contact_change", at - timedelta(days=3), contact_id="dean", role="economic_buyer",
                  change="joined", program=adjacent), "external_id": "xsell-dean"},
    ]


# --- the demo's play library ----------------------------------------------------------------------------------

DEMO_PLAY = "renewal_save"
DEMO_VERSION_OFFSET = 100  # the demo's Renewal Save is the shipped version + 100, so a run says which one it follows


def demo_play_library(directory: Path, first_step_due: str = "PT1M", escalate_after: str = "PT1M") -> Path:
    """The shipped library, with a demo version of the Renewal Save whose first step falls due `first_step_due`
    after it opens and escalates `escalate_after` later: plays start now (a run's due dates come from its
    definition, never backdated), so this is how the board shows an overdue, escalated step minutes after loading.
    Every other play and step is as shipped."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in PLAYS_DIR.glob("*.toml"):
        text = path.read_text()
        if path.stem == DEMO_PLAY:
            text = _demo_version(text, first_step_due, escalate_after)
        (directory / path.name).write_text(text)
    shipped, demo = load_play(PLAYS_DIR / f"{DEMO_PLAY}.toml"), load_library(directory)[DEMO_PLAY]
    if demo.steps[0].due >= shipped.steps[0].due or demo.version != shipped.version + DEMO_VERSION_OFFSET:
        raise RuntimeError(f"{DEMO_PLAY}.toml no longer has the shape the demo version rewrites (version, escalate_after, "
                           "the first step's due): update services/demo_book.py")
    return directory


def _demo_version(text: str, first_step_due: str, escalate_after: str) -> str:
    text = re.sub(r'^version = (\d+)$', lambda m: f"version = {int(m.group(1)) + DEMO_VERSION_OFFSET}", text, count=1, flags=re.M)
    text = re.sub(r'^escalate_after = ".*"$', f'escalate_after = "{escalate_after}"', text, count=1, flags=re.M)
    text = re.sub(r'^due = ".*"$', f'due = "{first_step_due}"', text, count=1, flags=re.M)
    return "# Demo version (make run): the first step falls due within minutes, to show an overdue, escalated step.\n" + text


# --- loading it through the API --------------------------------------------------------------------------------

REFERENCE_ACCOUNT, CROSS_SELL_ACCOUNT, FAILED_STEP_ACCOUNT = "acme", "globex", "initech"
DEMO_CRM_PORT = 8799
DEMO_CRM_URL = f"http://127.0.0.1:{DEMO_CRM_PORT}/crm"  # nothing listens there: the demo's CRM is down
SAVE_FIELDS = {
    "diagnose": {"root_cause": "the champion moved to another role as the spring term started",
                 "health_evidence": "usage down 35%, tickets tripled"},
    "exec_sponsor": {"sponsor_name": "Dean Okafor"},  # and the meeting's date, a week after loading
}
HANDOFF_FIELDS = {
    "buying_criteria": ["proctoring at scale", "LMS grade sync"], "champion_map": {"champion": "Dr. Ruiz", "economic_buyer": "CFO"},
    "procurement_timeline": "PO by the end of the quarter", "known_risks": ["a competitor pilot in one faculty"],
    "open_commitments": ["SSO by Q2"],
}
# The rituals the story meets in besides Monday triage: the VP's 1:1 and the Thursday at-risk review.
DEMO_RITUALS = ("execution_one_on_ones", "at_risk_review")
RITUAL_ITEMS = [
    # ritual, title, owner, closed (outcome) or still open
    ("signal_triage", "Call Acme's admin about the usage drop", "casey", "renewed"),
    ("signal_triage", "Confirm who replaced Acme's champion", "lee", None),
    ("at_risk_review", "Price a save offer for Acme", "alex", "renewed"),
    ("at_risk_review", "Book the executive sponsor call with Acme", "lee", None),
]


@dataclass
class DemoBook:
    """Loads the story with the demo users' tokens; `loaded` says what each part did, in words."""

    http: httpx.AsyncClient
    tokens: dict[str, str]
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    loaded: list[str] = field(default_factory=list)
    added: int = 0  # what this load created (0 when the book was already there)
    cross_sell_signal: str | None = None

    def start(self) -> datetime:
        """The baseline's first day: the bad week ends an hour ago."""
        return self.now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1) - (BASELINE_WEEKS + 1) * WEEK

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def call(self, who: str, method: str, path: str, **options) -> httpx.Response:
        response = await self.http.request(method, f"/api/v1{path}", headers=self.auth(who), **options)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path} as {who}: {response.status_code} {response.text[:300]}")
        return response

    async def get(self, who: str, path: str, **params) -> list | dict:
        return (await self.call(who, "GET", path, params=params)).json()

    async def load(self) -> list[str]:
        for part in (self.reference_week, self.cross_sell, self.handoff, self.failed_step, self.rituals):
            await part()
        return self.loaded

    async def events_in(self, account_id: str, *batches: list[dict]) -> None:
        """Sends the account's events, batch by batch, unless it has some already (each batch is scored once)."""
        if await self.get("maya", "/events", account_id=account_id, limit=1):
            return
        for events in batches:
            await self.call("rory", "POST", "/events/batch", json={"events": events})
            self.added += len(events)

    async def reference_week(self) -> None:
        start, account_id = self.start(), REFERENCE_ACCOUNT
        if not await self.get("maya", "/events", account_id=account_id, limit=1):
            account = await self.get("rory", f"/accounts/{account_id}")
            renewal = (week_end(start) + RENEWAL_LEAD).date().isoformat()
            await self.call("rory", "PUT", f"/accounts/{account_id}", json={**account, "renewal_date": renewal})
        # eight steady weeks (health 72), then the bad week (health 28): two points in the score's history
        await self.events_in(account_id, baseline(account_id, start), bad_week(account_id, start))
        score = await self.get("casey", f"/accounts/{account_id}/score")
        self.loaded.append(f"{account_id}: {score['health']['explanation']}; {score['renewal_risk']['explanation']}")
        signal = await self.signal_of(account_id, "renewal_risk")
        if signal["status"] in ("open", "escalated"):
            await self.call("lee", "POST", f"/signals/{signal['id']}/acknowledge")
            self.added += 1
        detail = await self.get("lee", f"/signals/{signal['id']}")
        if not detail["tasks"]:
            await self.call("lee", "POST", f"/signals/{signal['id']}/tasks",
                            json={"template_key": "renewal_save_play", "owner_id": "casey"})
            self.added += 1
            detail = await self.get("lee", f"/signals/{signal['id']}")
        run_id = detail["tasks"][0]["play_run_id"]
        run = await self.get("maya", f"/play-runs/{run_id}")
        first = run["steps"][0]
        escalated = (f"escalated to {', '.join(first['escalated_to'])}" if first.get("escalated_to")
                     else "escalates to their manager after that")
        self.loaded.append(f"{account_id}: renewal_risk {signal['id']} acknowledged by lee; Renewal Save {run_id} (demo version "
                           f"{run['play_version']}): {first['key']} is {first['status']}, owned by {first['owner_id']}, due "
                           f"{first['due_at'][11:16]} UTC, {escalated}")

    async def signal_of(self, account_id: str, family: str) -> dict:
        async def found():
            rows = await self.get("maya", "/signals", account_id=account_id)
            return next((s for s in rows if s["family"] == family), None)

        return await until(found, f"a {family} signal on {account_id}")

    async def cross_sell(self) -> None:
        account_id = CROSS_SELL_ACCOUNT
        await self.events_in(account_id, cross_sell_events(account_id, self.now - timedelta(hours=1)))
        signal = await self.signal_of(account_id, "cross_sell_watermark")
        self.cross_sell_signal = signal["id"]
        self.loaded.append(f"{account_id}: cross_sell_watermark {signal['id']} routed to {', '.join(signal['owners'])}")

    async def handoff(self) -> None:
        account_id = CROSS_SELL_ACCOUNT
        existing = await self.get("alex", "/handoffs", account_id=account_id)
        if not existing:
            created = (await self.call("alex", "POST", "/handoffs", json={"kind": "ae_to_csm", "account_id": account_id,
                                                                          "to_user_id": "dana", "fields": {
                **HANDOFF_FIELDS, "related_signals": [self.cross_sell_signal]}})).json()
            await self.call("alex", "POST", f"/handoffs/{created['id']}/submit")
            self.added += 1
            existing = [created]
        self.loaded.append(f"{account_id}: handoff {existing[0]['id']} (ae_to_csm) from alex to dana, waiting for dana to accept")

    async def failed_step(self) -> None:
        account_id = FAILED_STEP_ACCOUNT
        runs = await self.get("maya", "/play-runs", account_id=account_id)
        if not runs:
            created = (await self.call("lee", "POST", "/play-runs", json={"play_key": DEMO_PLAY, "account_id": account_id})).json()
            self.added += 1
            meeting = {"meeting_date": (self.now + WEEK).date().isoformat()}
            # exec_sponsor logs the meeting to the CRM, which is down: its action fails for real, and ops retry it
            for step_key, who, fields in (("diagnose", "casey", {}), ("exec_sponsor", "lee", meeting)):
                await self.call(who, "POST", f"/play-runs/{created['id']}/steps/{step_key}/complete",
                                json={"fields": {**SAVE_FIELDS[step_key], **fields}})
            runs = [created]
        run = await self.get("maya", f"/play-runs/{runs[0]['id']}")
        failed = [s for s in run["steps"] if s["status"] == "failed"]
        said = f"step {failed[0]['key']} failed ({failed[0]['failure']['message'][:80]}): ops can retry it" if failed else "no failed step"
        self.loaded.append(f"{account_id}: Renewal Save {run['id']}, {said}")

    async def switch_on_rituals(self) -> None:
        """The shipped config runs Monday triage only (the rollout): the story also needs the rituals it meets in, so
        the book switches them on in a new rituals config version, as revops would."""
        config = await self.get("rory", "/config/rituals")
        wanted = set(DEMO_RITUALS)
        if all(r["enabled"] for r in config["rituals"] if r["key"] in wanted):
            return
        body = {k: v for k, v in config.items() if k not in ("version", "created_at", "created_by")}
        body["rituals"] = [{**r, "enabled": r["enabled"] or r["key"] in wanted} for r in config["rituals"]]
        written = (await self.call("rory", "PUT", "/config/rituals", json=body)).json()
        self.loaded.append(f"rituals config v{written['version']}: switched on {', '.join(DEMO_RITUALS)}")

    async def rituals(self) -> None:
        await self.switch_on_rituals()
        agendas = []
        for ritual_key in dict.fromkeys(r for r, *_ in RITUAL_ITEMS):
            agenda = await self.latest_agenda(ritual_key)
            if agenda is None or agenda["source"] != "workflow":
                [run] = (await self.call("maya", "POST", f"/rituals/{ritual_key}/trigger", json={"motion": "academic"})).json()
                agenda = await until(lambda: self.latest_agenda(ritual_key, run["workflow_id"]), f"the {ritual_key} agenda")
            have = {i["title"] for i in agenda["action_items"]}
            for _, title, owner, outcome in (i for i in RITUAL_ITEMS if i[0] == ritual_key and i[1] not in have):
                item = await until(lambda: self.add_action_item(agenda["id"], title, owner), f"{agenda['id']} to take action items")
                if outcome:
                    await self.call(owner, "POST", f"/action-items/{item['id']}/outcome", json={"outcome": outcome})
                self.added += 1
            agendas.append(agenda["id"])
        overall = (await self.get("maya", "/cadences/metrics"))["overall"]
        self.loaded.append(f"rituals: this week's agendas {', '.join(agendas)} with action items; "
                           f"completion rate {overall['completion_rate_pct']}% over {len(overall['weeks'])} weeks")

    async def latest_agenda(self, ritual_key: str, workflow_id: str | None = None) -> dict | None:
        latest = await self.http.get(f"/api/v1/rituals/{ritual_key}/agendas/latest", params={"motion": "academic"},
                                     headers=self.auth("maya"))
        if latest.status_code != 200 or (workflow_id and latest.json()["workflow_id"] != workflow_id):
            return None
        return latest.json()

    async def add_action_item(self, agenda_id: str, title: str, owner: str) -> dict | None:
        """The item, or None while the run is still building its agenda (it answers 409 until then)."""
        response = await self.http.post(f"/api/v1/agendas/{agenda_id}/action-items", json={"title": title, "owner_id": owner},
                                        headers=self.auth("maya"))
        if response.status_code == 409 and "still being built" in response.text:
            return None
        if response.status_code >= 400:
            raise RuntimeError(f"adding an action item to {agenda_id}: {response.status_code} {response.text[:300]}")
        return response.json()


async def until(probe: Callable[[], Awaitable], what: str, timeout: float = 60.0):
    """The probe's first truthy answer (workflows write their read models a moment after the API answers)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (answer := await probe()):
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(f"the demo book waited {timeout:.0f}s for {what}")
        await asyncio.sleep(0.25)
    return answer


async def load_demo_book(base_url: str, tokens: dict[str, str]) -> DemoBook:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        book = DemoBook(http, tokens)
        await book.load()
        return book

"""Prompts and resources that help an agent use the tools well: the Monday triage as a recipe, the play library and
the outcome vocabulary as documents it can read before it proposes anything."""

import json

import mcp_types as types

from core.errors import PillarError
from models.tasks import FINAL_OUTCOMES, Outcome
from plays import load_library

PROMPTS = [
    types.Prompt(name="prepare_monday_triage", description=(
        "Prepare the Monday signal triage: what is open, what breached its SLA, what the money says, what to propose."),
        arguments=[types.PromptArgument(name="motion", description="Only this motion's accounts (optional)",
                                        required=False)]),
    types.Prompt(name="explain_account_risk", description="Why an account's score is what it is, down to the events.",
                 arguments=[types.PromptArgument(name="account_id", description="The account", required=True)]),
    types.Prompt(name="read_account_calendar", description=(
        "Where an account's year stands (term, exams, licensure or budget window) and what that changes for its signals."),
        arguments=[types.PromptArgument(name="account_id", description="The account", required=True)]),
]

TRIAGE = """Prepare Monday's signal triage{scope}.
1. Call list_signals with status "open", then "escalated": note each signal's family, severity, owners and SLA.
2. For the ten most urgent, call get_signal (timeline: who was paged, what escalated) and get_account_score and
   get_financials for its account (ARR at risk, cost to save vs replace).
3. Call list_play_runs with stuck=true: which play step is overdue, whose, since when.
4. Read the latest triage agenda (get_latest_agenda with ritual_key "signal_triage") and its open action items.
5. Write a one-page brief: the ranked list with one line of why each, and for each the act you would propose
   (acknowledge_signal, reassign_signal, create_task, ...) with your stated reason. Do not call an act tool until the
   user agrees; each becomes a proposal a person approves."""

RISK = """Explain why account {account_id} scores as it does.
Call get_account_score: for health, renewal risk and forecast confidence give each component's value, weight and
contribution. Then call list_events for the account and cite the events behind the largest contributions (their ids
are in each component's evidence). Finish with get_financials: ARR at risk, cost to save vs cost to replace."""


CALENDAR = """Say where account {account_id}'s year stands and what it changes.
Call get_account_calendar: the phases it is in now, the next start of each (the next budget, term or licensure
window), the thresholds its signal families are held to today and the families quiet in this phase. Then call
list_signals for the account and say which open signals the phase explains, and get_financials for what is at stake
before the next budget window opens."""

PER_ACCOUNT = {"explain_account_risk": RISK, "read_account_calendar": CALENDAR}


def prompt(name: str, arguments: dict[str, str]) -> types.GetPromptResult:
    if name == "prepare_monday_triage":
        motion = arguments.get("motion")
        text = TRIAGE.format(scope=f" for the {motion} motion" if motion else "")
    elif name in PER_ACCOUNT:
        if not arguments.get("account_id"):
            raise PillarError("invalid", f"{name} needs account_id")
        text = PER_ACCOUNT[name].format(account_id=arguments["account_id"][:64])
    else:
        raise PillarError("not_found", f"no prompt {name!r}")
    return types.GetPromptResult(messages=[types.PromptMessage(role="user", content=types.TextContent(text=text))])


RESOURCES = [
    types.Resource(uri="pillar://plays", name="play-library", mime_type="application/json",
                   description="The play library in force: steps, owners, dependencies, due dates, required fields"),
    types.Resource(uri="pillar://outcomes", name="outcome-vocabulary", mime_type="application/json",
                   description="The outcomes a task or action item may end with, and which are final"),
]


def read(uri: str) -> types.TextResourceContents:
    if uri == "pillar://plays":
        body = [play.model_dump(mode="json") for play in load_library().values()]
    elif uri == "pillar://outcomes":
        body = {"outcomes": [o.value for o in Outcome], "final": sorted(o.value for o in FINAL_OUTCOMES),
                "needs": {"blocked_waiting_on": "blocked_on"}, "not_an_outcome": ["done"]}
    else:
        raise PillarError("not_found", f"no resource {uri!r}")
    return types.TextResourceContents(uri=uri, mime_type="application/json", text=json.dumps(body))

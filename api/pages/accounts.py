"""The book of accounts with its territory (each owner's load, ARR at risk, SE and executive allocations for the
critical saves), and one account: health and risk with their explanation, the score over time, ARR at risk
and save vs replace, what is open on it (signals, plays, handoffs) with Start a play, and its latest events: the
evidence signals link to."""

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import select

from api.deps import AsyncSessionDep, SessionDep, TemporalDep
from api.pages.svg import score_chart
from api.pages.web import PageUser, done, names, posted_form, refused, render, web_user
from api.visibility import check_signal_in_body, sees
from core.errors import PillarError
from models.plays import PlayRunIn
from models.signals import SignalSummary
from models.tables import Account, SignalRow
from plays import load_library
from services.accounts import book, financials_now
from core.paging import PageRequest
from services.events import latest_score, list_events, score_history
from services.handoffs import list_handoffs
from services.plays import find_play, list_play_runs, start_play_run, startable_plays
from services.territory import allocations, territory_health
from services.visibility import only_visible

router = APIRouter(include_in_schema=False)
EVENTS_SHOWN = 50  # the latest ones: where a signal's evidence links to


@router.get("/accounts")
def accounts_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    return render(request, session, user, "accounts.html", {"lines": book(session, user), "territory": territory_health(session, user),
                                                           "allocations": allocations(session, user)})


@router.get("/accounts/{account_id}", dependencies=[sees("account", "account_id", web_user)])
def account_page(account_id: str, request: Request, session: SessionDep, user: PageUser) -> Response:
    account = session.get(Account, account_id)
    if account is None:
        raise PillarError("not_found", f"no account {account_id!r}")
    open_signals = select(SignalRow).where(SignalRow.account_id == account_id, SignalRow.status != "resolved")
    rows = session.exec(only_visible(open_signals, SignalRow, user)
                        .order_by(SignalRow.created_at.desc()).limit(50))
    history = score_history(session, account_id, 200)
    return render(request, session, user, "account.html", {
        "account": account,
        "score": latest_score(session, account_id),
        "chart": score_chart(history) if history else None,
        "history_count": len(history),
        "financials": financials_now(session, account),
        "signals": [SignalSummary.model_validate(r.state) for r in rows],
        "runs": list_play_runs(session, account_id=account_id, viewer=user).items,
        "handoffs": list_handoffs(session, None, account_id, None, viewer=user).items,
        "library": load_library(),
        "names": names(session),
        "events": list_events(session, account_id, page=PageRequest(limit=EVENTS_SHOWN), viewer=user).items,
        "events_shown": EVENTS_SHOWN,
        "startable": startable_plays(session, account),
    })


@router.post("/accounts/{account_id}/play-runs", dependencies=[sees("account", "account_id", web_user)])
async def start_play(account_id: str, request: Request, session: AsyncSessionDep, user: PageUser,
                     client: TemporalDep) -> Response:
    """Start a play on the account, from one of its open signals or none: the service checks the entry criteria."""
    form = await posted_form(request, user)
    back = f"/accounts/{account_id}"
    try:
        body = PlayRunIn(play_key=form.get("play_key", ""), account_id=account_id, signal_id=form.get("signal_id") or None)
        if body.signal_id:
            await check_signal_in_body(session, user, body.signal_id)
        run = await start_play_run(session, client, body, started_by=user.id)
    except ValidationError:
        return await refused(session, user, PillarError("invalid", "choose a play from the list"), back, "start-play", form)
    except PillarError as error:
        return await refused(session, user, error, back, "start-play", form)
    return await done(session, user, f"{find_play(run.play_key).name} started: its first steps are open.", f"/runs/{run.id}")

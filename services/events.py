"""Events in: store them (all or nothing), rescore the accounts they touch (kept with history), detect signals and
open them through services.signals.open_signal, the path posted signals take."""

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import Session, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from core.db import in_session
from core.errors import PillarError
from core.paging import Page, PageRequest, SortKey, page_of
from models.detection import DetectedSignal, Detection, SignalDefinitions
from models.events import AccountEvent, StoredEvent, payload_of
from models.scoring import AccountScore, ScorePoint, ScoreWeights
from models.signals import SignalIn
from models.tables import Account, AccountScoreRow, EventRow, SignalRow
from services.detection import detect
from services.layer_config import current_definitions, current_weights
from services.scoring import compute_scores
from services.signals import open_signal


class IngestResult(BaseModel):
    event_ids: list[str]
    stored: int
    duplicates: int
    scores: list[ScorePoint]
    signals: list[DetectedSignal] = []


def event_id_for(account_id: str, external_id: str | None) -> str:
    """A source id always names the same event, so a re-sent or re-imported event is stored once."""
    if external_id:
        return "evt-" + hashlib.sha256(f"{account_id}\x00{external_id}".encode()).hexdigest()[:28]
    return "evt-" + uuid.uuid4().hex[:28]


def check_accounts(session: Session, events: Sequence[AccountEvent]) -> dict[str, Account]:
    """Every event's account must exist; else 422 naming the first bad event's index."""
    ids = sorted({e.account_id for e in events})
    accounts = {a.id: a for a in session.exec(select(Account).where(Account.id.in_(ids)))}
    problems = [
        {"index": i, "field": "account_id", "message": f"unknown account {e.account_id!r}"}
        for i, e in enumerate(events) if e.account_id not in accounts
    ]
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise PillarError("invalid", f"event {first['index']}: {first['message']}{more}; nothing was stored", problems)
    return accounts


def store_events(session: Session, events: Sequence[AccountEvent]) -> tuple[list[str], int]:
    """Add the events not already stored (no commit). Returns every event's id and how many were already there."""
    ids = [event_id_for(e.account_id, e.external_id) for e in events]
    existing = set(session.exec(select(EventRow.id).where(EventRow.id.in_(ids))))
    now = datetime.now(UTC)
    added: set[str] = set()
    for event_id, event in zip(ids, events):
        if event_id in existing or event_id in added:
            continue
        added.add(event_id)
        session.add(EventRow(id=event_id, account_id=event.account_id, kind=event.kind, occurred_at=event.occurred_at,
                             received_at=now, external_id=event.external_id, payload=payload_of(event)))
    return ids, len(ids) - len(added)


def list_events(session: Session, account_id: str, kind: str | None = None,
                page: PageRequest = PageRequest()) -> Page[StoredEvent]:
    """An account's events, newest first."""
    query = select(EventRow).where(EventRow.account_id == account_id)
    if kind is not None:
        query = query.where(EventRow.kind == kind)
    order = (SortKey(EventRow.occurred_at, descending=True), SortKey(EventRow.id, descending=True))
    return page_of(session, query, page, "events", order, stored)


def stored(row: EventRow) -> StoredEvent:
    return StoredEvent.model_validate(row, from_attributes=True)


def events_of(session: Session, account_id: str, since: datetime, until: datetime) -> list[StoredEvent]:
    rows = session.exec(
        select(EventRow).where(EventRow.account_id == account_id, EventRow.occurred_at > since, EventRow.occurred_at <= until)
    )
    return [stored(r) for r in rows]


def latest_event_at(session: Session, account_id: str) -> datetime | None:
    value = session.exec(select(func.max(EventRow.occurred_at)).where(EventRow.account_id == account_id)).one()
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def score_point(row: AccountScoreRow) -> ScorePoint:
    return ScorePoint.model_validate(row, from_attributes=True)


def rescore(session: Session, account: Account, as_of: datetime, weights: ScoreWeights):
    """Compute the account's scores at `as_of` and keep them in the history (no commit; an unchanged score is not
    written twice). Returns the score, the facts it read and its history entry."""
    events = events_of(session, account.id, as_of - weights.windows.lookback, as_of)
    score, facts = compute_scores(account.id, account.renewal_date, events, as_of, weights, weights.version)
    last = session.exec(
        select(AccountScoreRow).where(AccountScoreRow.account_id == account.id).order_by(AccountScoreRow.id.desc()).limit(1)
    ).first()
    detail = score.model_dump(mode="json")
    if last is not None and last.as_of == as_of and last.detail == detail:
        return score, facts, score_point(last)
    row = AccountScoreRow(
        account_id=account.id, as_of=as_of, weights_version=weights.version, health=score.health.value,
        renewal_risk=score.renewal_risk.value, risk_tier=score.renewal_risk.tier.value,
        forecast_confidence=score.forecast_confidence.value, pipeline_quality=score.pipeline_quality.value, detail=detail,
    )
    session.add(row)
    session.flush()
    return score, facts, score_point(row)


def open_risk_signals(session: Session, account_id: str, definitions: SignalDefinitions) -> int:
    return session.exec(
        select(func.count()).select_from(SignalRow).where(
            SignalRow.account_id == account_id, SignalRow.family.in_(definitions.risk_families), SignalRow.status != "resolved"
        )
    ).one()


async def open_detected(session: Session | AsyncSession, client: Client, detections: list[Detection],
                        actor: str) -> list[DetectedSignal]:
    """Open each detection as a signal; the dedup key makes a second detection in the same window answer the first."""
    out = []
    for d in detections:
        result = DetectedSignal(family=d.family, severity=d.severity, account_id=d.account_id, dedup_key=d.dedup_key)
        request = SignalIn(family=d.family, severity=d.severity, account_id=d.account_id, dedup_key=d.dedup_key, evidence=d.evidence())
        try:
            created, is_new = await open_signal(session, client, request, created_by=actor)
            result.signal_id, result.new = created.id, is_new
        except PillarError as error:
            result.error = error.message
        out.append(result)
    return out


def score_accounts(session: Session, accounts: list[Account], as_of: datetime | None,
                   detecting: bool = True) -> tuple[list[ScorePoint], list[Detection]]:
    """Rescore each account at `as_of` (default: its latest event), commit, then evaluate the signal definitions."""
    weights, definitions = current_weights(session), current_definitions(session)
    points, pending = [], []
    for account in accounts:
        at = as_of or latest_event_at(session, account.id) or datetime.now(UTC)
        score, facts, point = rescore(session, account, at, weights)
        points.append(point)
        pending.append((account, score, facts))
    session.commit()
    found: list[Detection] = []
    for account, score, facts in pending if detecting else []:
        found += detect(account.id, account.motion, facts, score, weights.windows, definitions,
                        open_risk_signals(session, account.id, definitions))
    return points, found


async def score_and_detect(
    session: Session | AsyncSession, client: Client | None, accounts: list[Account], as_of: datetime | None, actor: str
) -> tuple[list[ScorePoint], list[DetectedSignal]]:
    """Rescore each account, then detect and open signals (no client: rescore only)."""
    points, found = await in_session(session, score_accounts, accounts, as_of, client is not None)
    signals = await open_detected(session, client, found, actor) if client is not None else []
    return points, signals


def store_and_score(session: Session, events: Sequence[AccountEvent], detecting: bool) -> tuple[IngestResult, list[Detection]]:
    """Store a batch (all or nothing) and rescore the accounts it touches; what the scores detect is returned."""
    accounts = check_accounts(session, events)
    ids, duplicates = store_events(session, events)
    touched = [accounts[a] for a in dict.fromkeys(e.account_id for e in events)]
    session.flush()
    points, found = score_accounts(session, touched, None, detecting)
    return IngestResult(event_ids=ids, stored=len(ids) - duplicates, duplicates=duplicates, scores=points), found


async def ingest(session: Session | AsyncSession, client: Client | None, events: Sequence[AccountEvent], actor: str) -> IngestResult:
    """Store a batch (all or nothing), rescore the accounts it touches, detect and open signals."""
    result, found = await in_session(session, store_and_score, events, client is not None)
    if client is not None:
        result.signals = await open_detected(session, client, found, actor)
    return result


def latest_score(session: Session, account_id: str) -> AccountScore | None:
    """The most recently computed score (a sweep at "now" and a late back-fill can arrive in either order)."""
    row = session.exec(
        select(AccountScoreRow).where(AccountScoreRow.account_id == account_id).order_by(AccountScoreRow.id.desc()).limit(1)
    ).first()
    return AccountScore.model_validate(row.detail) if row else None


def score_history(session: Session, account_id: str, limit: int = 500) -> list[ScorePoint]:
    rows = session.exec(
        select(AccountScoreRow).where(AccountScoreRow.account_id == account_id)
        .order_by(AccountScoreRow.as_of.desc(), AccountScoreRow.id.desc()).limit(limit)
    ).all()
    return [score_point(r) for r in reversed(rows)]

"""Events in: store them (all or nothing), rescore the accounts they touch (kept with history), detect signals and
open them through services.signals.open_signal, the path posted signals take.

Detected signals are kept in the outbox (`detected_signals`) in the transaction that stores the events and scores that
fired them, then opened: at once by the request, and whatever failed in between by the detection sweep
(`DetectionSweepWorkflow`, on a Temporal Schedule), so every stored event's signals open, and open once."""

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from pydantic import BaseModel
from sqlalchemy import Text, cast, func, insert
from sqlmodel import Session, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError

from core.db import in_session, in_session_threaded, insert_missing
from core.errors import PillarError
from core.paging import Page, PageRequest, SortKey, page_of
from models.detection import DetectedSignal, Detection, DetectionStatus, SignalDefinitions, SweepResult
from models.events import AccountEvent, StoredEvent, payload_of
from models.scoring import AccountScore, Facts, ScorePoint, ScoreWeights
from models.signals import SignalIn
from models.tables import Account, AccountScoreRow, DetectedSignalRow, EventRow, SignalRow
from models.tables.types import utcnow
from services.account_calendars import current_account_calendars, phase_names
from services.detection import detect
from services.layer_config import current_definitions, current_weights
from services.scoring import compute_scores
from services.signals import open_signal, signal_id_for
from services.visibility import Viewer, only_visible


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
    """Insert the events not already stored (no commit), in one statement. Returns every event's id and how many
    were already there."""
    ids = [event_id_for(e.account_id, e.external_id) for e in events]
    existing = set(session.exec(select(EventRow.id).where(EventRow.id.in_(ids))))
    now = datetime.now(UTC)
    rows: dict[str, dict] = {}
    for event_id, event in zip(ids, events):
        if event_id not in existing and event_id not in rows:
            rows[event_id] = dict(id=event_id, account_id=event.account_id, kind=event.kind, occurred_at=event.occurred_at,
                                  received_at=now, external_id=event.external_id, payload=payload_of(event))
    insert_missing(session, EventRow, list(rows.values()))
    return ids, len(ids) - len(rows)


def list_events(session: Session, account_id: str, kind: str | None = None,
                page: PageRequest = PageRequest(), viewer: Viewer | None = None) -> Page[StoredEvent]:
    """An account's events, newest first (none when the viewer may not see the account)."""
    query = select(EventRow).where(EventRow.account_id == account_id)
    query = only_visible(query, EventRow, viewer)
    if kind is not None:
        query = query.where(EventRow.kind == kind)
    order = (SortKey(EventRow.occurred_at, descending=True), SortKey(EventRow.id, descending=True))
    return page_of(session, query, page, "events", order, stored)


def stored(row: EventRow) -> StoredEvent:
    return StoredEvent.model_validate(row, from_attributes=True)


def events_by_account(session: Session, until: dict[str, datetime], lookback: timedelta) -> dict[str, list[StoredEvent]]:
    """Each account's events in (its `until` − `lookback`, its `until`], in one query."""
    found: dict[str, list[StoredEvent]] = {account_id: [] for account_id in until}
    if not until:
        return found
    rows = session.exec(select(EventRow.id, EventRow.kind, EventRow.account_id, EventRow.occurred_at, EventRow.received_at,
                               EventRow.external_id, EventRow.payload).where(
        EventRow.account_id.in_(list(until)), EventRow.occurred_at > min(until.values()) - lookback,
        EventRow.occurred_at <= max(until.values())))
    for row in rows:
        if until[row.account_id] - lookback < row.occurred_at <= until[row.account_id]:
            found[row.account_id].append(StoredEvent.model_validate(row._asdict()))
    return found


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def latest_events_at(session: Session, account_ids: list[str]) -> dict[str, datetime]:
    """When each account's latest event happened (accounts without events are left out), in one query."""
    rows = session.exec(select(EventRow.account_id, func.max(EventRow.occurred_at))
                        .where(EventRow.account_id.in_(account_ids)).group_by(EventRow.account_id))
    return {account_id: _aware(at) for account_id, at in rows if at is not None}


def last_score_rows(session: Session, account_ids: list[str]) -> dict[str, AccountScoreRow]:
    """Each account's most recently computed score row, in one query."""
    newest = select(func.max(AccountScoreRow.id)).where(AccountScoreRow.account_id.in_(account_ids)).group_by(AccountScoreRow.account_id)
    return {r.account_id: r for r in session.exec(select(AccountScoreRow).where(AccountScoreRow.id.in_(newest)))}


def score_point(row: AccountScoreRow) -> ScorePoint:
    return ScorePoint.model_validate(row, from_attributes=True)


class Rescored(NamedTuple):
    account: Account
    score: AccountScore
    facts: Facts
    point: ScorePoint


def rescore_many(session: Session, as_of: dict[str, datetime], accounts: Sequence[Account], weights: ScoreWeights) -> list[Rescored]:
    """Compute each account's scores at its `as_of` and keep them in the history (no commit; an unchanged score is
    not written twice). Reads the events and the last scores of all the accounts at once: a few queries in all."""
    ids = [a.id for a in accounts]
    history = events_by_account(session, {a: as_of[a] for a in ids}, weights.windows.lookback)
    last = last_score_rows(session, ids)
    computed, written = [], []
    for account in accounts:
        at = as_of[account.id]
        score, facts = compute_scores(account.id, account.renewal_date, history[account.id], at, weights, weights.version)
        detail = score.model_dump(mode="json")
        last_row = last.get(account.id)
        if last_row is not None and last_row.as_of == at and last_row.detail == detail:
            computed.append(Rescored(account, score, facts, score_point(last_row)))
            continue
        row = dict(account_id=account.id, as_of=at, computed_at=utcnow(), weights_version=weights.version,
                   health=score.health.value, renewal_risk=score.renewal_risk.value, risk_tier=score.renewal_risk.tier.value,
                   forecast_confidence=score.forecast_confidence.value, pipeline_quality=score.pipeline_quality.value)
        written.append({**row, "detail": detail})
        computed.append(Rescored(account, score, facts, ScorePoint.model_validate(row)))
    if written:
        session.execute(insert(AccountScoreRow), written)
    return computed


def rescore(session: Session, account: Account, as_of: datetime, weights: ScoreWeights):
    """One account's `rescore_many`. Returns the score, the facts it read and its history entry."""
    [done] = rescore_many(session, {account.id: as_of}, [account], weights)
    return done.score, done.facts, done.point


def open_risk_signals(session: Session, account_ids: list[str], definitions: SignalDefinitions) -> dict[str, int]:
    """How many risk signals each account has open (accounts with none are left out), in one query."""
    return dict(session.exec(
        select(SignalRow.account_id, func.count()).where(
            SignalRow.account_id.in_(account_ids), SignalRow.family.in_(definitions.risk_families), SignalRow.status != "resolved"
        ).group_by(SignalRow.account_id)
    ).all())


def signal_request(detection: Detection) -> SignalIn:
    return SignalIn(family=detection.family, severity=detection.severity, account_id=detection.account_id,
                    dedup_key=detection.dedup_key, evidence=detection.evidence())


ACCOUNTS_PER_READ = 500  # bounds the events held in memory (and the size of IN lists) when a sweep rescores the whole book


def rescore_and_detect(
    session: Session, accounts: Sequence[Account], as_of: datetime | None, detect_signals: bool = True,
    actor: str = "detection",
) -> tuple[list[ScorePoint], list[str]]:
    """Score each account once, at `as_of` (default: its latest event), decide which signals the definitions open
    (unless `detect_signals` is off) and queue them in the outbox, and commit all of it as one. Database work only:
    `open_detected` opens the queued signals; returns their ids."""
    weights = current_weights(session)
    definitions = current_definitions(session) if detect_signals else None
    calendars = current_account_calendars(session) if detect_signals else None
    points: list[ScorePoint] = []
    requests: list[SignalIn] = []
    for chunk in (accounts[i:i + ACCOUNTS_PER_READ] for i in range(0, len(accounts), ACCOUNTS_PER_READ)):
        ids = [a.id for a in chunk]
        if as_of is None:
            latest, now = latest_events_at(session, ids), datetime.now(UTC)
            at = {a: latest.get(a, now) for a in ids}
        else:
            at = dict.fromkeys(ids, as_of)
        done = rescore_many(session, at, chunk, weights)
        points += [d.point for d in done]
        if definitions is not None:
            risks = open_risk_signals(session, ids, definitions)
            for d in done:
                phases = phase_names(calendars, d.account.id, d.account.motion, d.facts.as_of)
                found = detect(d.account.id, d.account.motion, d.facts, d.score, weights.windows, definitions,
                               risks.get(d.account.id, 0), phases)
                requests += [signal_request(f) for f in found]
    queued = queue_detections(session, requests, actor)
    session.commit()
    return points, queued


def queue_detections(session: Session, requests: list[SignalIn], actor: str) -> list[str]:
    """Keep each detected signal in the outbox (no commit), one row per dedup key however often it fires; returns
    their signal ids."""
    rows = {}
    for r in requests:
        signal_id = signal_id_for(r.dedup_key)
        rows[signal_id] = dict(id=signal_id, account_id=r.account_id, family=r.family, dedup_key=r.dedup_key,
                               request=r.model_dump(mode="json"), actor=actor, detected_at=utcnow(),
                               status=DetectionStatus.pending.value, attempts=0)
    insert_missing(session, DetectedSignalRow, list(rows.values()))
    return list(rows)


def store_and_score(session: Session, events: Sequence[AccountEvent], detect_signals: bool = True,
                    actor: str = "detection") -> tuple[IngestResult, list[str]]:
    """An ingest's database work, committed as one: store the batch (all or nothing), score each account it touches
    once (at the account's latest event), and queue the signals to open. The result's `signals` is left empty for
    `open_detected` to fill: it only starts workflows."""
    accounts = check_accounts(session, events)
    ids, duplicates = store_events(session, events)
    touched = [accounts[a] for a in dict.fromkeys(e.account_id for e in events)]
    points, queued = rescore_and_detect(session, touched, None, detect_signals, actor)
    return IngestResult(event_ids=ids, stored=len(ids) - duplicates, duplicates=duplicates, scores=points, signals=[]), queued


def queued_detections(session: Session, ids: list[str]) -> list[DetectedSignalRow]:
    rows = {r.id: r for r in session.exec(select(DetectedSignalRow).where(DetectedSignalRow.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows]


def pending_detections(session: Session, limit: int) -> list[str]:
    """The oldest signals still waiting to open."""
    return list(session.exec(select(DetectedSignalRow.id).where(DetectedSignalRow.status == DetectionStatus.pending.value)
                             .order_by(DetectedSignalRow.detected_at, DetectedSignalRow.id).limit(limit)))


def mark_detection(session: Session, signal_id: str, status: DetectionStatus, error: str | None) -> None:
    row = session.get(DetectedSignalRow, signal_id)
    if row is None or row.status != DetectionStatus.pending.value:
        return  # another opener got there first
    row.status, row.attempts, row.last_error = status.value, row.attempts + 1, error and error[:500]
    if status == DetectionStatus.opened:
        row.opened_at = utcnow()
    session.add(row)


async def open_detected(session: Session | AsyncSession, client: Client, ids: list[str]) -> list[DetectedSignal]:
    """Open each queued signal that is still pending; the dedup key makes a second detection in the same window answer
    the first. Temporal unreachable: the signal stays pending for the sweep. A refusal (no routing rule, nobody in
    the owner role) is kept with its reason and not retried."""
    out = []
    for row in await in_session(session, queued_detections, ids):
        request = SignalIn.model_validate(row.request)
        result = DetectedSignal(family=request.family, severity=request.severity, account_id=request.account_id,
                                dedup_key=request.dedup_key, signal_id=row.id, status=DetectionStatus(row.status),
                                error=row.last_error)
        if result.status == DetectionStatus.pending:
            try:
                created, result.new = await open_signal(session, client, request, created_by=row.actor)
                result.signal_id, result.status, result.error = created.id, DetectionStatus.opened, None
            except PillarError as error:
                if error.code == "unavailable":
                    result.error = f"queued: {error.message}"
                else:
                    result.status, result.error = DetectionStatus.refused, error.message
            except RPCError as error:
                result.error = f"queued: Temporal did not answer ({error.message})"
            await in_session(session, mark_detection, row.id, result.status, result.error)
        out.append(result)
    return out


async def drain_detections(session: Session | AsyncSession, client: Client, batch: int = 200) -> SweepResult:
    """Open every pending detected signal, oldest first, until none is left or Temporal stops answering."""
    done = SweepResult()
    while ids := await in_session(session, pending_detections, batch):
        results = await open_detected(session, client, ids)
        for result in results:
            setattr(done, result.status.value, getattr(done, result.status.value) + 1)
        if any(r.status == DetectionStatus.pending for r in results):
            break  # Temporal is down: the next sweep tries again
    return done


def rescore_book(session: Session, account_ids: list[str] | None, as_of: datetime,
                 detect_signals: bool = True, actor: str = "detection") -> tuple[list[ScorePoint], list[str], int]:
    """`rescore_and_detect` over the named accounts (None: the whole book), refusing unknown ones; and how many."""
    query = select(Account).order_by(Account.id)
    if account_ids is not None:
        query = query.where(Account.id.in_(account_ids))
    accounts = list(session.exec(query))
    unknown = sorted(set(account_ids or []) - {a.id for a in accounts})
    if unknown:
        raise PillarError("invalid", f"unknown account(s): {', '.join(unknown)}", {"field": "account_ids", "unknown": unknown})
    points, queued = rescore_and_detect(session, accounts, as_of, detect_signals, actor)
    return points, queued, len(accounts)


async def ingest(session: Session | AsyncSession, client: Client | None, events: Sequence[AccountEvent],
                 actor: str) -> IngestResult:
    """Store a batch (all or nothing), rescore the accounts it touches, detect and open signals (no client: store
    and rescore only)."""
    result, queued = await in_session_threaded(session, store_and_score, events, client is not None, actor)
    if client is not None:
        result.signals = await open_detected(session, client, queued)
    return result


def latest_score(session: Session, account_id: str) -> AccountScore | None:
    """The most recently computed score (a sweep at "now" and a late back-fill can arrive in either order)."""
    row = session.exec(
        select(AccountScoreRow).where(AccountScoreRow.account_id == account_id).order_by(AccountScoreRow.id.desc()).limit(1)
    ).first()
    return AccountScore.model_validate(row.detail) if row else None


def newest_scores(account_ids: list[str]):
    return select(func.max(AccountScoreRow.id)).where(AccountScoreRow.account_id.in_(account_ids)).group_by(AccountScoreRow.account_id)


def latest_scores(session: Session, account_ids: list[str], model: type[BaseModel] = AccountScore) -> dict:
    """Each account's most recently computed score, in one query (as `latest_score`, for many), parsed as `model`:
    a reader that needs part of a score names a model of that part, and the rest is skipped unparsed."""
    if not account_ids:
        return {}
    rows = session.exec(select(AccountScoreRow.account_id, cast(AccountScoreRow.detail, Text))
                        .where(AccountScoreRow.id.in_(newest_scores(account_ids))))
    return {account_id: model.model_validate_json(detail) for account_id, detail in rows}


def score_history(session: Session, account_id: str, limit: int = 500) -> list[ScorePoint]:
    rows = session.exec(
        select(AccountScoreRow).where(AccountScoreRow.account_id == account_id)
        .order_by(AccountScoreRow.as_of.desc(), AccountScoreRow.id.desc()).limit(limit)
    ).all()
    return [score_point(r) for r in reversed(rows)]

"""A flywheel proposal waiting for a decision, as a month with enough outcomes leaves one: lower the critical tier."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from core import config_store
from core.db import get_engine
from models.tables import FlywheelProposalRow
from services.layer_config import SCORE_WEIGHTS


def a_proposal_to_lower_the_critical_tier(prefix: str, summary: str = "lower critical", plays: int = 12,
                                          bands: list[dict[str, Any]] | None = None) -> tuple[str, int, float]:
    """Its id, and the score-weights version and critical threshold it was computed against."""
    with Session(get_engine()) as session:
        weights = config_store.latest(session, SCORE_WEIGHTS)
        version, critical = weights.version, weights.body["renewal_risk"]["tiers"]["critical"]
        proposal_id = f"{prefix}-{uuid.uuid4().hex[:8]}"
        now = datetime.now(UTC)
        session.add(FlywheelProposalRow(
            id=proposal_id, status="proposed", created_at=now, period_start=now - timedelta(days=90), period_end=now,
            weights_version=version,
            body={"summary": summary, "changes": [{"path": "renewal_risk.tiers.critical", "current": critical,
                                                   "proposed": critical - 5, "reason": "high loses like critical"}],
                  "evidence": {"plays": plays, "tasks": 0, "bands": bands or [], "components": []}, "history": []}))
        session.commit()
    return proposal_id, version, critical

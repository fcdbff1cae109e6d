"""Handoffs on the time-skipping server: the actors, a complete set of fields, the audit trail, starting one."""

from sqlmodel import Session, select

from core.db import get_engine
from core.security import hash_token
from models.common import Actor, Role
from models.handoffs import HandoffIn
from models.tables import HandoffAuditRow, User
from services.handoffs import handoff_handle, start_handoff

ALEX = Actor(id="alex", role=Role.ae)
CORA = Actor(id="cora", role=Role.csm)
COMPLETE = {
    "buying_criteria": ["LMS integration", "SSO"],
    "champion_map": {"champion": "Dr. Ruiz", "economic_buyer": "CFO"},
    "procurement_timeline": "PO by March",
    "known_risks": ["budget freeze"],
    "open_commitments": ["SSO by Q2"],
    "related_signals": ["sig-1"],
}


def audit(handoff_id: str) -> list[HandoffAuditRow]:
    with Session(get_engine()) as session:
        return list(session.exec(select(HandoffAuditRow).where(HandoffAuditRow.handoff_id == handoff_id).order_by(HandoffAuditRow.seq)))


def add_cora() -> None:
    """A second csm under lee, so the ae_to_csm team change is visible on acme."""
    with Session(get_engine()) as session:
        session.add(User(id="cora", name="Cora Cole", role="csm", manager_id="lee", token_hash=hash_token("cora-token")))
        session.commit()


async def start(client, fields: dict, to_user_id: str = "cora"):
    with Session(get_engine()) as session:
        handoff = await start_handoff(
            session, client, HandoffIn(kind="ae_to_csm", account_id="acme", to_user_id=to_user_id, fields=fields), "alex", Role.ae
        )
    return handoff, handoff_handle(client, handoff.id)

"""Territory decisions (Layer III) on the demo book, on SQLite and PostgreSQL: health from the scores, a rebalance
when risk concentrates (approve moves the accounts, or nothing), and allocations for the critical saves."""

import asyncio
from dataclasses import dataclass

import pytest
from pydantic import TypeAdapter
from sqlmodel import Session, select

from core.errors import PillarError
from core.seed import load_default_config, load_demo_directory
from models.common import Role
from models.events import AccountEvent
from models.tables import Account, AccountMember
from services import territory
from services.events import ingest
from tests.support.events import bad_week, baseline

EVENTS = TypeAdapter(list[AccountEvent])


@dataclass(frozen=True)
class Viewer:
    id: str
    role: Role


def demo_book(session: Session, week: bool = True) -> None:
    load_default_config(session)
    load_demo_directory(session, "territory-admin-token-0123")
    events = baseline("acme") + (bad_week("acme") if week else [])
    asyncio.run(ingest(session, None, EVENTS.validate_python(events), actor="test"))


def test_territory_health_is_computed_from_the_scores_and_the_book(any_db):
    with Session(any_db) as session:
        demo_book(session)
        health = territory.territory_health(session)
    assert (health.book_arr, health.arr_at_risk, health.accounts, health.coverage_pct, health.unscored) == (315_000, 180_000, 3, 100, 2)
    casey, dana = health.owners
    assert (casey.owner_id, casey.accounts, casey.arr_at_risk, casey.critical_accounts, casey.health) == ("casey", 3, 180_000, 1, 28)
    assert (casey.load_units, casey.capacity_pct, casey.at_risk_share_pct) == (5, 25, 100)  # Acme's save counts 3, the others 1
    assert (dana.owner_id, dana.accounts, dana.load_units) == ("dana", 0, 0)
    assert health.concentrated_on == "casey" and "casey holds 100% of it (over 50%): risk concentrates" in health.explanation


def test_a_csm_sees_only_their_own_territory(any_db):
    with Session(any_db) as session:
        demo_book(session)
        mine = territory.territory_health(session, Viewer("dana", Role.csm))
        theirs = territory.territory_health(session, Viewer("alex", Role.ae))
    assert [o.owner_id for o in mine.owners] == ["dana"] and mine.accounts == 0 and mine.arr_at_risk == 0
    assert [o.owner_id for o in theirs.owners] == ["casey"] and theirs.accounts == 3  # Alex's accounts, and their CSM


def test_risk_concentrating_proposes_moving_the_healthy_accounts_and_approval_moves_them(any_db):
    with Session(any_db) as session:
        demo_book(session)
        proposal = territory.propose(session, "rory")
        assert proposal.status == "proposed" and proposal.concentrated_on == "casey"
        assert [(m.account_id, m.from_owner, m.to_owner) for m in proposal.moves] == [("initech", "casey", "dana"), ("globex", "casey", "dana")]
        assert "casey holds 100% of the ARR at risk ($180K, 1 save(s) to run)" in proposal.moves[0].why
        assert [(e.owner_id, e.load_before, e.load_after) for e in proposal.expected] == [("casey", 5, 3), ("dana", 0, 2)]
        assert proposal.summary.startswith("move 2 healthy account(s) ($135K ARR) from casey to dana: casey's load 5 → 3 of 20 units")
        assert session.get(Account, "initech").team["csm"] == "casey"  # nothing moves before approval

        approved = territory.approve(session, proposal.id, "kim", "go")
        assert (approved.status, approved.decided_by, approved.note) == ("approved", "kim", "go")
        assert {a: session.get(Account, a).team["csm"] for a in ("acme", "globex", "initech")} == {
            "acme": "casey", "globex": "dana", "initech": "dana"}
        members = session.exec(select(AccountMember.account_id).where(AccountMember.user_id == "dana")).all()
        assert sorted(members) == ["globex", "initech"]  # visibility follows the new owner
        with pytest.raises(PillarError, match="already approved"):
            territory.approve(session, proposal.id, "kim")
        assert territory.list_proposals(session).items[0].id == proposal.id


def test_an_owner_changed_since_the_proposal_refuses_the_whole_approval(any_db):
    with Session(any_db) as session:
        demo_book(session)
        proposal = territory.propose(session, "rory")
        globex = session.get(Account, "globex")
        globex.team = {**globex.team, "csm": "lee"}
        session.add(globex)
        session.commit()
        with pytest.raises(PillarError, match="globex's csm is now lee, not casey") as refused:
            territory.approve(session, proposal.id, "kim")
        assert refused.value.code == "conflict"
        session.rollback()
        assert session.get(Account, "initech").team["csm"] == "casey"  # none of the moves happened
        assert territory.reject(session, proposal.id, "kim", "globex moved").status == "rejected"


def test_no_concentration_no_proposal(any_db):
    with Session(any_db) as session:
        demo_book(session, week=False)
        with pytest.raises(PillarError, match="nothing to rebalance: \\$0 of \\$315K ARR at risk") as refused:
            territory.propose(session, "rory")
    assert refused.value.code == "conflict"


def test_critical_saves_get_an_se_and_an_executive_sponsor(any_db):
    with Session(any_db) as session:
        demo_book(session)
        allocations = territory.allocations(session)
        hidden = territory.allocations(session, Viewer("dana", Role.csm))
    assert [(a.account_id, a.se_id, a.executive_id) for a in allocations] == [("acme", "sid", "kim")]
    assert allocations[0].why == ("critical renewal risk 80 on $180K ARR; sid for the technical recovery (1 critical save(s) with "
                                  "this one); kim (cro) as executive sponsor: ARR at or above $100K")
    assert hidden == []

"""The database layer, run on SQLite and on PostgreSQL: migrations, versioned config, directory, read models."""

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select
from temporalio.testing import ActivityEnvironment

import models.tables  # noqa: F401
from activities.notifications import NotificationActivities
from activities.signals import SignalActivities
from core import config_store
from core.db import session_scope
from core.seed import DEFAULT_ROUTING, load_default_config, load_demo_directory
from models.common import Revision
from models.notifications import NotifyRequest
from models.signals import SignalDetail, SignalStatus
from models.tables import Account, NotificationRow, SignalOwnerRow, SignalRow, User
from services.directory import all_reports, holder_of_role, management_chain, resolve_owners

NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
SIGNALS = SignalActivities(session_scope)


def test_migrations_create_exactly_the_models(any_db):
    with any_db.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_config_versions_append_and_never_change(any_db):
    with Session(any_db) as session:
        first = config_store.append(session, "routing", DEFAULT_ROUTING, created_by="rory")
        second = config_store.append(session, "routing", {"rules": []}, created_by="rory")
        assert (first.version, second.version) == (1, 2)
        assert config_store.latest(session, "routing").version == 2
        assert config_store.get(session, "routing", 1).body == DEFAULT_ROUTING
        assert config_store.get(session, "routing", 3) is None
        assert config_store.latest(session, "other") is None
        load_default_config(session)  # an edited config is never overwritten by the defaults
        assert config_store.latest(session, "routing").version == 2


def test_directory_resolves_roles_managers_and_reports(any_db):
    with Session(any_db) as session:
        load_demo_directory(session, "admin-token-for-tests")
        acme = session.get(Account, "acme")
        assert acme.team["ae"] == "alex" and acme.arr == 180_000
        assert [u.id for u in management_chain(session, "casey")] == ["lee", "maya", "victor"]
        assert holder_of_role(session, acme.team, "csm_lead") == "lee"
        assert holder_of_role(session, acme.team, "vp") == "victor"  # not on the team: found above it
        assert holder_of_role(session, {}, "vp") is None
        assert resolve_owners(session, acme, ["csm_lead", "ae", "manager"]) == (["lee", "alex", "maya"], [])
        assert sorted(all_reports(session, "maya")) == ["alex", "casey", "dana", "lee", "sam", "sid", "sky"]
        with pytest.raises(IntegrityError):
            session.add(User(id="dup", name="Dup", role="ae", token_hash=session.get(User, "alex").token_hash))
            session.commit()


def test_notifications_are_written_once_per_key_and_user(any_db):
    with Session(any_db) as session:
        load_demo_directory(session, "admin-token-for-tests")
    request = NotifyRequest(key="signal-x:page-1", user_ids=["lee", "alex"], kind="page", subject_type="signal",
                            subject_id="x", text="New signal", at=NOW)
    env, notifications = ActivityEnvironment(), NotificationActivities(session_scope, http=None, settings=None)
    env.run(notifications.record_notifications, request)
    env.run(notifications.record_notifications, request)  # a retry
    with Session(any_db) as session:
        rows = session.exec(select(NotificationRow).order_by(NotificationRow.user_id)).all()
        assert [(r.user_id, r.at) for r in rows] == [("alex", NOW), ("lee", NOW)]


def _signal(status: SignalStatus, owners: list[str]) -> SignalDetail:
    return SignalDetail(id="sig-1", family="renewal_risk", severity="critical", account_id="acme", status=status,
                        owners=owners, sla_due_at=NOW + timedelta(hours=4), routing_version=1, created_at=NOW)


def test_the_signal_read_model_ignores_stale_and_repeated_revisions(any_db):
    env = ActivityEnvironment()
    env.run(SIGNALS.save_signal_state, Revision(revision=1, state=_signal(SignalStatus.open, ["lee", "alex"])))
    env.run(SIGNALS.save_signal_state, Revision(revision=3, state=_signal(SignalStatus.escalated, ["casey"])))
    env.run(SIGNALS.save_signal_state, Revision(revision=2, state=_signal(SignalStatus.open, ["lee"])))  # arrives late: ignored
    env.run(SIGNALS.save_signal_state, Revision(revision=3, state=_signal(SignalStatus.escalated, ["casey"])))  # retried: nothing new
    with Session(any_db) as session:
        row = session.get(SignalRow, "sig-1")
        assert row.status == "escalated" and row.owner_ids == ["casey"] and row.sla_due_at == NOW + timedelta(hours=4)
        owners = session.exec(select(SignalOwnerRow.user_id).where(SignalOwnerRow.signal_id == "sig-1")).all()
        assert owners == ["casey"]

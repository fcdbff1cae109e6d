"""The default config Pillar ships, and the small demo directory `make run` loads."""

from datetime import date

from sqlmodel import Session

from core import config_store
from core.security import demo_token, hash_token
from models.calendars import DEFAULT_CALENDARS, CalendarsConfigIn
from models.routing import RoutingConfigIn
from models.tables import Account, User
from services.account_calendars import load_default as load_account_calendars
from services.cadence_baseline import load_baseline_history
from services.layer_config import load_defaults as load_layer_defaults
from services.rituals import load_default_rituals
from services.handoffs import load_default_specs as load_handoff_specs
from services.task_templates import load_default_templates as load_task_templates


def _rule(family, severity, owners, sla, escalation):
    return {
        "family": family,
        "severity": severity,
        "owners": owners,
        "sla": sla,
        "escalation": [{"after": after, "to": to} for after, to in escalation],
    }


DEFAULT_ROUTING = {
    "rules": [
        _rule("renewal_risk", "critical", ["csm_lead", "ae"], "PT4H", [("PT0S", "manager"), ("PT4H", "vp")]),
        _rule("champion_departed", "critical", ["ae"], "PT24H", [("PT0S", "manager"), ("PT12H", "vp")]),
        _rule("adoption_decay", "warning", ["csm"], "PT48H", [("PT0S", "manager"), ("PT24H", "vp")]),
        _rule("expansion_trigger", "warning", ["ae"], "PT72H", [("PT0S", "manager")]),
        _rule("nps_decline", "info", ["csm"], "P7D", [("PT0S", "manager")]),
        _rule("handoff_governance_violation", "warning", ["manager"], "PT24H", [("PT0S", "vp")]),
        _rule("cross_sell_watermark", "info", ["ae"], "P7D", [("PT0S", "manager")]),
        _rule("stalled_deal", "warning", ["ae"], "PT48H", [("PT0S", "manager")]),
        _rule("close_date_drift", "warning", ["ae"], "PT48H", [("PT0S", "manager")]),
    ]
}

DEMO_USERS = [
    # id, name, role, manager
    ("victor", "Victor Vance", "vp", None),
    ("maya", "Maya Moreno", "manager", "victor"),
    ("lee", "Lee Park", "csm_lead", "maya"),
    ("casey", "Casey Chen", "csm", "lee"),
    ("alex", "Alex Adams", "ae", "maya"),
    ("sam", "Sam Singh", "sdr", "maya"),
    ("sky", "Sky Silva", "support", "maya"),
    ("rory", "Rory Reyes", "revops", "victor"),
    ("olga", "Olga Ortiz", "ops", "victor"),
    ("kim", "Kim Castillo", "cro", None),
    ("sid", "Sid Sharma", "se", "maya"),
    ("dana", "Dana Diaz", "csm", "lee"),  # a second CSM, with room: where a territory rebalance can move accounts
]

DEMO_TEAM = {"ae": "alex", "csm": "casey", "csm_lead": "lee", "sdr": "sam", "support": "sky"}

DEMO_ACCOUNTS = [
    # id, name, arr, motion, segment, renewal
    ("acme", "Acme University", 180_000, "academic", "enterprise", date(2027, 3, 31)),
    ("globex", "Globex Certification", 95_000, "credentialed", "mid_market", date(2027, 1, 15)),
    ("initech", "Initech Learning", 40_000, "academic", "smb", date(2027, 6, 30)),
]


def load_default_config(session: Session) -> None:
    """Write version 1 of each config that has none yet (never overwrites an edited config)."""
    config_store.seed(session, config_store.ROUTING, RoutingConfigIn.model_validate(DEFAULT_ROUTING).model_dump(mode="json"))
    load_layer_defaults(session)
    load_handoff_specs(session)
    load_task_templates(session)
    load_default_rituals(session)
    load_account_calendars(session)
    config_store.seed(session, config_store.CALENDARS,
                      CalendarsConfigIn.model_validate(DEFAULT_CALENDARS).model_dump(mode="json"))


def load_demo_directory(session: Session, admin_token: str) -> dict[str, str]:
    """Create the demo users and accounts if missing; return each demo user's token."""
    tokens = {}
    for user_id, name, role, manager_id in DEMO_USERS:
        tokens[user_id] = demo_token(admin_token, user_id)
        if session.get(User, user_id) is None:
            session.add(User(id=user_id, name=name, role=role, manager_id=manager_id, token_hash=hash_token(tokens[user_id])))
            session.flush()
    for account_id, name, arr, motion, segment, renewal in DEMO_ACCOUNTS:
        if session.get(Account, account_id) is None:
            session.add(
                Account(id=account_id, name=name, arr=arr, motion=motion, segment=segment, renewal_date=renewal, team=DEMO_TEAM)
            )
    session.commit()
    load_baseline_history(session)  # the rituals' action items from before Pillar: the completion-rate baseline
    return tokens

"""Issue 19 item 5: a page reaches each channel of its person (inbox, Slack, email, the signed webhook) once; quiet
hours hold warning and info pages on a durable timer until they end while critical ones go through; the delivery log
records every attempt. Receivers are real: an HTTP server and an SMTP server (aiosmtpd) on this machine."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import Session, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notifications import NotificationActivities
from core.db import get_engine, session_scope
from core.outbound import FencedTransport, fenced_client
from core.settings import get_settings
from core.temporal import run_update
from models.channels import ChannelsIn, QuietHours
from models.notifications import Notification, WebhookDelivery
from models.signals import AcknowledgeInput, SignalIn, SignalStatus
from models.tables import DeliveryRow
from models.tasks import OutcomeIn, TaskIn
from services.channels import set_channels
from services.signals import open_signal, signal_handle
from services.tasks import add_task, set_outcome
from tests.support.db import actor
from tests.support.histories import record_history
from tests.support.receivers import http_receiver, smtp_receiver
from tests.support.stack import seed
from tests.support.waiting import eventually
from worker import Activities, build_worker
from workflows.signal import SignalWorkflow


def smtp_settings(port: int):
    return get_settings().model_copy(update={"pillar_smtp_host": "127.0.0.1", "pillar_smtp_port": port,
                                             "pillar_smtp_starttls": False, "public_url": "https://pillar.example.com"})


def log(signal_id: str, user_id: str) -> dict[str, DeliveryRow]:
    with Session(get_engine()) as session:
        rows = session.exec(select(DeliveryRow).where(DeliveryRow.signal_id == signal_id, DeliveryRow.user_id == user_id))
        return {row.channel: row for row in rows}


def page(channel: str, url: str, subject_id: str = "sig-1") -> WebhookDelivery:
    return WebhookDelivery(url=url, user_id="casey", channel=channel, notification=Notification(
        id=f"signal-{subject_id}:page-1:run:casey", at=datetime(2026, 12, 1, 9, tzinfo=UTC), kind="page",
        subject_type="signal", subject_id=subject_id, text="New warning signal adoption_decay on Globex\n<Certification>"))


async def test_quiet_hours_hold_a_warning_page_until_they_end_and_a_critical_page_goes_through(ts_env, sqlite_db):
    seed()
    now = await ts_env.get_current_time()
    quiet = QuietHours(start=(now - timedelta(hours=1)).time(), end=(now + timedelta(hours=3)).time(), zone="UTC")
    with http_receiver() as slack, smtp_receiver() as smtp:
        with Session(get_engine()) as session:
            for user_id in ("casey", "lee"):
                set_channels(session, user_id, ChannelsIn(slack_webhook_url=slack.url(f"/slack/{user_id}"),
                                                          email=f"{user_id}@example.com", quiet_hours=quiet), user_id)
        settings = smtp_settings(smtp.port)
        http = fenced_client(settings)
        activities = Activities.build(ts_env.client, http, settings=lambda: settings)
        async with build_worker(ts_env.client, activities=activities, workflow_failure_exception_types=[Exception],
                                max_cached_workflows=0):
            with Session(get_engine()) as session:
                warning, _ = await open_signal(session, ts_env.client, SignalIn(
                    family="adoption_decay", severity="warning", account_id="globex"), "test")  # casey, the csm
                critical, _ = await open_signal(session, ts_env.client, SignalIn(
                    family="renewal_risk", severity="critical", account_id="acme"), "test")  # lee and alex
            await eventually(lambda: slack.bodies("/slack/lee"), what="the critical page on Slack, in quiet hours")
            await eventually(lambda: any(m["X-Envelope-To"] == "lee@example.com" for m in smtp.messages))
            assert log(critical.id, "lee")["slack"].deferred_until is None

            held = await eventually(lambda: len(log(warning.id, "casey")) == 3 and log(warning.id, "casey"))
            quiet_end = quiet.end_after(now)
            assert {c: (r.status, r.deferred_until) for c, r in held.items()} == {
                "inbox": ("delivered", None), "slack": ("deferred", quiet_end), "email": ("deferred", quiet_end)}
            assert not slack.bodies("/slack/casey")

            await ts_env.sleep(timedelta(hours=3, minutes=1))  # the deferral is a workflow timer: it skips
            [sent] = await eventually(lambda: slack.bodies("/slack/casey"), what="the held page after quiet hours")
            assert f"https://pillar.example.com/signals/{warning.id}" in sent["text"] and sent["blocks"]
            await eventually(lambda: any(m["X-Envelope-To"] == "casey@example.com" for m in smtp.messages))
            delivered = await eventually(lambda: all(r.status == "delivered" for r in log(warning.id, "casey").values())
                                         and log(warning.id, "casey"))
            assert delivered["slack"].deferred_until == quiet_end and delivered["slack"].attempts == 1
            assert delivered["email"].deferred_until == quiet_end and delivered["email"].delivered_at

            handle = signal_handle(ts_env.client, warning.id)
            with Session(get_engine()) as session:
                who = actor("casey", "csm")
                await run_update(handle, SignalWorkflow.acknowledge, AcknowledgeInput(actor=who))
                task = await add_task(session, ts_env.client, warning.id, TaskIn(template_key="adoption_enablement"), who)
                await set_outcome(session, ts_env.client, task.id, OutcomeIn(outcome="renewed"), who)
            assert (await handle.result()).status == SignalStatus.resolved
            await record_history(handle, "signal_page_held_by_quiet_hours_then_sent_to_slack_and_email")
            await signal_handle(ts_env.client, critical.id).terminate("test over")
        await http.aclose()


async def test_a_dead_slack_channel_gives_up_after_its_bound_and_the_escalation_goes_through_quiet_hours(ts_env, sqlite_db):
    seed()
    now = await ts_env.get_current_time()
    quiet = QuietHours(start=(now - timedelta(hours=1)).time(), end=(now + timedelta(hours=8)).time(), zone="UTC")
    with http_receiver(statuses=[503] * 20) as dead, http_receiver() as slack:
        with Session(get_engine()) as session:
            set_channels(session, "lee", ChannelsIn(slack_webhook_url=dead.url("/slack/lee")), "lee")
            set_channels(session, "maya", ChannelsIn(slack_webhook_url=slack.url("/slack/maya"), quiet_hours=quiet), "maya")
        settings = smtp_settings(1)
        http = fenced_client(settings)
        async with build_worker(ts_env.client, activities=Activities.build(ts_env.client, http, settings=lambda: settings),
                                workflow_failure_exception_types=[Exception]):
            with Session(get_engine()) as session:
                critical, _ = await open_signal(session, ts_env.client, SignalIn(
                    family="renewal_risk", severity="critical", account_id="acme"), "test")  # lee and alex; SLA PT4H
            await eventually(lambda: dead.refused, what="lee's Slack refusing the page")
            await ts_env.sleep(timedelta(hours=4, minutes=1))  # the SLA lapses: level 1, Lee's manager Maya
            [escalation] = await eventually(lambda: slack.bodies("/slack/maya"), what="the escalation, in Maya's quiet hours")
            assert "Escalation level 1" in escalation["text"]
            state = await signal_handle(ts_env.client, critical.id).query(SignalWorkflow.state)
            assert state.status == SignalStatus.escalated and state.escalated_to == ["maya"]
            gave_up = await eventually(lambda: log(critical.id, "lee")["slack"].status == "failed" and log(critical.id, "lee")["slack"])
            assert gave_up.attempts == 8 and gave_up.last_error == "HTTP 503" and dead.refused == 8  # WEBHOOK_RETRY's bound
            assert log(critical.id, "maya")["slack"].deferred_until is None
            await signal_handle(ts_env.client, critical.id).terminate("test over")
        await http.aclose()


async def test_an_email_page_retried_after_it_went_through_is_not_sent_twice(any_db):
    with smtp_receiver() as smtp:
        settings = smtp_settings(smtp.port)
        activities = NotificationActivities(session_scope, httpx.AsyncClient(), lambda: settings)
        delivery = page("email", "casey@example.com")
        await ActivityEnvironment().run(activities.deliver_page, delivery)
        await ActivityEnvironment().run(activities.deliver_page, delivery)  # Temporal retrying after a lost answer
    [message] = smtp.messages
    assert message["X-Envelope-To"] == "casey@example.com"
    assert message["Subject"] == "[Pillar] New warning signal adoption_decay on Globex <Certification>"
    assert "https://pillar.example.com/signals/sig-1" in message.get_payload()[0].get_payload()
    row = log("sig-1", "casey")["email"]
    assert (row.status, row.attempts, row.last_error) == ("delivered", 1, None) and row.delivered_at


async def test_a_refused_slack_post_is_logged_without_its_secret_url_and_retried(any_db):
    with http_receiver(statuses=[500]) as slack:
        url = slack.url("/services/T000/B000/secret-part")
        settings = smtp_settings(1)
        async with httpx.AsyncClient(transport=FencedTransport(allow_loopback=True)) as http:
            activities = NotificationActivities(session_scope, http, lambda: settings)
            with pytest.raises(httpx.HTTPStatusError):
                await ActivityEnvironment().run(activities.deliver_page, page("slack", url))
            failed = log("sig-1", "casey")["slack"]
            assert (failed.status, failed.attempts, failed.last_error) == ("retrying", 1, "HTTP 500")
            await ActivityEnvironment().run(activities.deliver_page, page("slack", url))
        [body] = slack.bodies("/services/T000/B000/secret-part")
    assert set(body) == {"text", "blocks"} and "&lt;Certification&gt;" in body["text"]
    assert body["blocks"][1]["elements"][0]["url"] == "https://pillar.example.com/signals/sig-1"
    row = log("sig-1", "casey")["slack"]
    assert (row.status, row.attempts, row.last_error) == ("delivered", 2, None)


@pytest.mark.parametrize("host", ["127.0.0.1", "169.254.169.254", "10.0.0.5"])
async def test_a_slack_url_reaching_an_internal_address_fails_for_good_where_production_fences_it(sqlite_db, host):
    with http_receiver() as slack:
        url = slack.url("/services/T000/B000/secret-part").replace("127.0.0.1", host)
        settings = smtp_settings(1)
        async with httpx.AsyncClient(transport=FencedTransport(allow_loopback=False)) as http:  # production's fence
            activities = NotificationActivities(session_scope, http, lambda: settings)
            with pytest.raises(ApplicationError) as refused:
                await ActivityEnvironment().run(activities.deliver_page, page("slack", url))
        assert not slack.received
    assert refused.value.non_retryable and refused.value.type == "OutboundRefused"
    row = log("sig-1", "casey")["slack"]
    assert row.status == "failed" and "not a public address" in row.last_error and "secret-part" not in row.last_error


def test_a_page_no_workflow_sends_is_logged_in_the_inbox_alone(sqlite_db):
    """An activity's own page (a handoff displacing a team member) has nobody to send it: no pending entries."""
    from activities.notifications import write_notifications
    from models.notifications import NotifyRequest

    seed()
    request = NotifyRequest(key="displaced-1", user_ids=["casey"], kind="team_change", subject_type="signal",
                            subject_id="sig-9", text="You left the team", at=datetime(2026, 12, 1, 9, tzinfo=UTC))
    with Session(get_engine()) as session:
        set_channels(session, "casey", ChannelsIn(slack_webhook_url="https://hooks.example.com/casey"), "casey")
        assert write_notifications(session, request, sends=False) == ([], 1)
        session.commit()
    assert {c: r.status for c, r in log("sig-9", "casey").items()} == {"inbox": "delivered"}

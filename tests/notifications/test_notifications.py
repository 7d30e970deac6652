"""Notifications: raised from events by the rules table for the audience's users, read state, e-mail through the port."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import marketplace.notifications.tasks  # noqa: F401  (registers the notification jobs)
from marketplace.accounts.models import OrganizationKind, Role, User
from marketplace.events.jobs import event_job_payload
from marketplace.events.models import Job, OutboxEvent
from marketplace.events.service import EventRecorder
from marketplace.events.worker import Worker, WorkerConfig
from marketplace.kit.ids import uuid7
from marketplace.notifications.models import Notification, NotificationKind
from marketplace.notifications.ports import EmailMessage, LogEmailSender, get_email_sender, set_email_sender
from marketplace.notifications.rules import DISPATCH_KIND, EventView, NotificationRule
from marketplace.notifications.service import EMAIL_KIND, dispatch
from tests.factories import Actor, Factory

KINDS = frozenset({DISPATCH_KIND, EMAIL_KIND})
API = "/api/v1/notifications"


class Outbox:
    """A recording e-mail sender."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


@pytest.fixture
def mails() -> Iterator[Outbox]:
    box = Outbox()
    set_email_sender(box)
    yield box
    set_email_sender(None)


async def run_worker(maker: async_sessionmaker[AsyncSession]) -> None:
    await Worker(maker, WorkerConfig(kinds=KINDS)).run_until_idle()


async def verify(client: httpx.AsyncClient, platform: Actor, org_id: uuid.UUID, **decision: str) -> None:
    response = await client.post(
        f"/api/v1/platform/organizations/{org_id}/verification", json=decision, headers=platform.headers
    )
    assert response.status_code == 200, response.text


async def test_verification_notifies_members_and_up_of_the_organisation_and_mails_them(
    client: httpx.AsyncClient,
    factory: Factory,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    mails: Outbox,
) -> None:
    owner = await factory.actor(role=Role.owner)
    org = owner.organization
    admin = await factory.actor(org, role=Role.admin)
    member = await factory.actor(org, role=Role.member)
    viewer = await factory.actor(org, role=Role.viewer)
    gone = await factory.actor(org, role=Role.member)
    await session.execute(sa.update(User).where(User.id == gone.user.id).values(is_active=False))  # type: ignore[arg-type]
    stranger = await factory.actor()
    platform = await factory.actor(kind=OrganizationKind.platform, role=Role.admin)
    await verify(client, platform, org.id, status="verified")
    await run_worker(sessionmaker)

    for actor in (owner, admin, member):
        page = (await client.get(API, headers=actor.headers)).json()
        assert page["unread_count"] == 1
        [item] = page["items"]
        assert item["kind"] == "organization_verified" and item["title"] == "机构认证已通过"
        assert item["subject_type"] == "organization" and item["subject_id"] == str(org.id)
        assert item["data"]["verification_status"] == "verified" and item["read_at"] is None
    for actor in (viewer, stranger, platform):
        assert (await client.get(API, headers=actor.headers)).json()["items"] == []
    ours = {a.user.email for a in (owner, admin, member, viewer, gone, stranger, platform)}
    sent = [m for m in mails.sent if m.to in ours]  # (the worker may also run other tests' leftover jobs)
    assert sorted(m.to for m in sent) == sorted(a.user.email for a in (owner, admin, member))
    assert all(m.subject == "机构认证已通过" for m in sent)

    await run_worker(sessionmaker)  # nothing twice
    assert len([m for m in mails.sent if m.to in ours]) == 3
    count = await session.execute(
        sa.select(sa.func.count()).select_from(Notification).where(Notification.organization_id == org.id)  # type: ignore[arg-type]
    )
    assert count.scalar_one() == 3


async def test_rejection_says_why(
    client: httpx.AsyncClient,
    factory: Factory,
    sessionmaker: async_sessionmaker[AsyncSession],
    mails: Outbox,
) -> None:
    owner = await factory.actor()
    platform = await factory.actor(kind=OrganizationKind.platform, role=Role.admin)
    await verify(client, platform, owner.organization.id, status="rejected", note="营业执照已过期")
    await run_worker(sessionmaker)
    [item] = (await client.get(API, headers=owner.headers)).json()["items"]
    assert item["kind"] == "organization_rejected" and "营业执照已过期" in item["body"]
    assert [m.text for m in mails.sent if m.to == owner.user.email] == [item["body"]]


async def test_read_state(client: httpx.AsyncClient, factory: Factory, session: AsyncSession) -> None:
    me = await factory.actor(role=Role.member)
    colleague = await factory.actor(me.organization, role=Role.member)
    ids = sorted(uuid7() for _ in range(3))  # ids made within one millisecond are not ordered by themselves
    for n in range(3):
        session.add(
            Notification(
                id=ids[n],
                user_id=me.user.id,
                organization_id=me.organization.id,
                kind=NotificationKind.new_match,
                title=f"新的匹配 {n}",
            )
        )
    theirs = Notification(
        user_id=colleague.user.id, organization_id=me.organization.id, kind=NotificationKind.outbid, title="出价被超过"
    )
    session.add(theirs)
    await session.flush()
    page = (await client.get(f"{API}?limit=2", headers=me.headers)).json()
    assert [i["title"] for i in page["items"]] == ["新的匹配 2", "新的匹配 1"] and page["unread_count"] == 3
    rest = (await client.get(f"{API}?limit=2&cursor={page['next_cursor']}", headers=me.headers)).json()
    assert [i["title"] for i in rest["items"]] == ["新的匹配 0"] and rest["next_cursor"] is None

    first_id = page["items"][0]["id"]
    read = await client.post(f"{API}/{first_id}/read", headers=me.headers)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    again = await client.post(f"{API}/{first_id}/read", headers=me.headers)
    assert again.json()["read_at"] == read.json()["read_at"]  # idempotent
    unread = (await client.get(f"{API}?unread=true", headers=me.headers)).json()
    assert [i["title"] for i in unread["items"]] == ["新的匹配 1", "新的匹配 0"] and unread["unread_count"] == 2
    done = (await client.get(f"{API}?unread=false", headers=me.headers)).json()
    assert [i["id"] for i in done["items"]] == [first_id]

    assert (await client.post(f"{API}/{theirs.id}/read", headers=me.headers)).status_code == 404
    assert (await client.post(f"{API}/{uuid.uuid4()}/read", headers=me.headers)).status_code == 404
    marked = await client.post(f"{API}/read-all", headers=me.headers)
    assert marked.status_code == 200 and marked.json() == {"marked": 2}
    assert (await client.get(API, headers=me.headers)).json()["unread_count"] == 0
    assert (await client.get(API, headers=colleague.headers)).json()["unread_count"] == 1  # theirs untouched
    assert (await client.get(API)).status_code == 401
    assert (await client.post(f"{API}/read-all")).status_code == 401


async def test_webhook_endpoint_disabled_goes_to_admins_only(
    factory: Factory, session: AsyncSession, mails: Outbox
) -> None:
    owner = await factory.actor(role=Role.owner)
    member = await factory.actor(owner.organization, role=Role.member)
    event = EventRecorder(session).emit(
        type="webhook_endpoint.disabled",
        organization_id=owner.organization.id,
        subject_type="webhook_endpoint",
        subject_id=uuid.uuid4(),
        payload={"url": "https://erp.example.com/hook", "detail": "a delivery failed all 9 attempts"},
    )
    await session.flush()
    job = Job(kind=DISPATCH_KIND, payload=event_job_payload(event), run_at=datetime.now(UTC))
    await dispatch(session, job)
    await dispatch(session, job)  # a rerun adds nothing
    rows = (await session.execute(sa.select(Notification).where(Notification.event_id == event.id))).scalars().all()  # type: ignore[arg-type]
    assert [r.user_id for r in rows] == [owner.user.id]
    assert "erp.example.com" in rows[0].body and rows[0].kind is NotificationKind.webhook_endpoint_disabled
    assert member.user.id not in {r.user_id for r in rows}


def test_rules_never_reach_outside_the_audience() -> None:
    inside, outside = uuid.uuid4(), uuid.uuid4()
    view = EventView(
        id=uuid.uuid4(),
        type="offer.received",
        organization_id=inside,
        audience=(inside,),
        subject_type="offer",
        subject_id="1",
        payload={},
        created_at=datetime.now(UTC),
    )
    rule = NotificationRule(
        event_type="offer.received",
        kind=NotificationKind.offer_received,
        title=lambda e: "收到新的报价",
        recipients=lambda e: [outside, inside, inside],
    )
    assert rule.organizations(view) == [inside]
    default = NotificationRule(event_type="x", kind=NotificationKind.outbid, title=lambda e: "t")
    assert default.organizations(view) == [inside]


async def test_log_only_sender_is_the_default() -> None:
    set_email_sender(None)
    sender = get_email_sender()
    assert isinstance(sender, LogEmailSender)
    await sender.send(EmailMessage(to="a@example.com", subject="主题", text="正文"))


async def test_events_without_rules_raise_nothing(
    factory: Factory, session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    owner = await factory.actor()
    event = EventRecorder(session).emit(
        type="listing.updated",
        organization_id=owner.organization.id,
        subject_type="listing",
        subject_id="1",
        payload={},
    )
    await session.flush()
    await dispatch(session, Job(kind=DISPATCH_KIND, payload=event_job_payload(event), run_at=datetime.now(UTC)))
    raised = sa.select(sa.func.count()).select_from(Notification).where(Notification.event_id == event.id)  # type: ignore[arg-type]
    assert (await session.execute(raised)).scalar_one() == 0
    assert isinstance(event, OutboxEvent)

"""A stateful property test of the money flows: random deals, payments (offline transfers, duplicated and
reordered Stripe webhooks), milestone settlements (release, refund, split), cancellations, completions with
broker commissions, auction deposits and payouts. After every step the ledger must hold its invariants.

It drives the payments service (what the deal engine's ports call) on real PostgreSQL, in one transaction per
example that is rolled back; the budget is kept small so it runs in seconds."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from marketplace.accounts.models import OrganizationKind, Role
from marketplace.config import Settings, to_asyncpg_url
from marketplace.db.engine import make_engine
from marketplace.deals.models import (
    Auction,
    AuctionRegistration,
    Deal,
    DealBroker,
    DealMilestone,
    DealOrigin,
    DepositStatus,
    MilestoneStatus,
)
from marketplace.deals.process import State
from marketplace.kit.time import utcnow
from marketplace.payments.models import LedgerAccount, Payable, PayableKind, PayoutPurpose
from marketplace.payments.service import PaymentsService
from tests.factories import Factory

LOOP: asyncio.AbstractEventLoop | None = None
ENGINE: AsyncEngine | None = None


def run(coro: Any) -> Any:
    assert LOOP is not None
    return LOOP.run_until_complete(coro)


class MoneyMachine(RuleBasedStateMachine):
    """The model: deals with milestones, what was sent for each payable, deposits, pending webhook events."""

    def __init__(self) -> None:
        super().__init__()
        assert ENGINE is not None
        self.conn: AsyncConnection = run(ENGINE.connect())
        self.trans = run(self.conn.begin())
        maker = async_sessionmaker(bind=self.conn, expire_on_commit=False, join_transaction_mode="create_savepoint")
        self.session: AsyncSession = maker()
        self.service = PaymentsService(self.session)
        self.deals: list[dict[str, Any]] = []
        self.sent: dict[uuid.UUID, int] = {}  # payable id -> money sent for it (unique transfers only)
        self.events: list[dict[str, Any]] = []  # Stripe events delivered (and possibly redelivered)
        self.deposits: list[dict[str, Any]] = []
        self.counter = 0

    def teardown(self) -> None:
        run(self.session.close())
        run(self.trans.rollback())
        run(self.conn.close())

    @initialize()
    def world(self) -> None:
        async def build() -> None:
            factory = Factory(self.session)
            self.seller = await factory.organization(kind=OrganizationKind.institute)
            self.broker = await factory.actor(kind=OrganizationKind.broker_agency, role=Role.member)
            self.listing_id = uuid.uuid4()
            await self.session.execute(
                sa.text(
                    "INSERT INTO listings (id, organization_id, status, title_zh, keywords, field_codes, trl, "
                    "achievement_type, inventors, trade_modes, pricing_kind, region_code, holder_state_funded, "
                    "nda_version, version, created_at, updated_at, start_price_fen, increment_fen, deposit_fen) "
                    "VALUES (:id, :org, 'published', '性质测试', '{}', '{}', 5, 'applied_technology', '{}', "
                    "'{transfer}', 'auction', '440300', false, 1, 1, now(), now(), 100, 1, 0)"
                ),
                {"id": self.listing_id, "org": self.seller.id},
            )
            self.auction = Auction(
                listing_id=self.listing_id,
                seller_organization_id=self.seller.id,
                trade_mode="transfer",
                starts_at=utcnow(),
                ends_at=utcnow() + timedelta(hours=1),
                scheduled_ends_at=utcnow() + timedelta(hours=1),
                start_price_fen=100,
                increment_fen=1,
                deposit_fen=50_000,
            )
            self.session.add(self.auction)
            await self.session.flush()

        run(build())

    def _next(self) -> int:
        self.counter += 1
        return self.counter

    # ------------------------------------------------------------ deals

    @rule(
        parts=st.lists(st.integers(min_value=1, max_value=200_000_000), min_size=1, max_size=3),
        broker_side=st.sampled_from([None, "buyer", "seller"]),
    )
    def new_deal(self, parts: list[int], broker_side: str | None) -> None:
        async def go() -> None:
            buyer = await Factory(self.session).organization(kind=OrganizationKind.enterprise)
            deal = Deal(
                listing_id=self.listing_id,
                buyer_organization_id=buyer.id,
                seller_organization_id=self.seller.id,
                origin=DealOrigin.auction,
                state=State.performing,
                price_fen=sum(parts),
            )
            self.session.add(deal)
            await self.session.flush()
            milestones = [
                DealMilestone(deal_id=deal.id, position=i, title=f"第{i + 1}期", amount_fen=a)
                for i, a in enumerate(parts)
            ]
            self.session.add_all(milestones)
            brokers = []
            if broker_side:
                brokers.append(
                    DealBroker(
                        deal_id=deal.id,
                        side=broker_side,
                        broker_user_id=self.broker.user.id,
                        agency_organization_id=self.broker.organization.id,
                        commission_bps=100,
                    )
                )
                self.session.add_all(brokers)
            await self.session.flush()
            await self.service.fix_terms(deal, milestones)
            self.deals.append({"deal": deal, "milestones": milestones, "brokers": brokers, "completed": False})

        run(go())

    def _payable(self, milestone: DealMilestone) -> Payable:
        payable = run(self.service.repo.payable_for(PayableKind.milestone, milestone.id))
        assert payable is not None
        return payable

    @precondition(lambda self: self.deals)
    @rule(data=st.data(), duplicate=st.booleans())
    def transfer(self, data: st.DataObject, duplicate: bool) -> None:
        deal = data.draw(st.sampled_from(self.deals))
        milestone = data.draw(st.sampled_from(deal["milestones"]))
        payable = self._payable(milestone)
        remaining = max(1, payable.due_fen - payable.received_fen)
        amount = data.draw(
            st.one_of(
                st.just(remaining),  # exact
                st.integers(min_value=1, max_value=remaining),  # partial (or exact)
                st.integers(min_value=remaining + 1, max_value=remaining + 10_000),  # over-payment
            )
        )
        external = f"BANK-{self._next()}"
        for _ in range(2 if duplicate else 1):  # the same bank record twice is recorded once
            run(
                self.service.record_receipt(
                    None, provider="offline", external_id=external, reference=payable.reference, amount_fen=amount
                )
            )
        self.sent[payable.id] = self.sent.get(payable.id, 0) + amount

    @precondition(lambda self: self.deals)
    @rule(data=st.data())
    def pay_the_rest(self, data: st.DataObject) -> None:
        deal = data.draw(st.sampled_from(self.deals))
        milestone = data.draw(st.sampled_from(deal["milestones"]))
        payable = self._payable(milestone)
        remaining = payable.due_fen - payable.received_fen
        if remaining > 0:
            external = f"BANK-{self._next()}"
            run(
                self.service.record_receipt(
                    None, provider="offline", external_id=external, reference=payable.reference, amount_fen=remaining
                )
            )
            self.sent[payable.id] = self.sent.get(payable.id, 0) + remaining

    @precondition(lambda self: self.deals)
    @rule(data=st.data())
    def stripe_payment(self, data: st.DataObject) -> None:
        deal = data.draw(st.sampled_from(self.deals))
        milestone = data.draw(st.sampled_from(deal["milestones"]))
        payable = self._payable(milestone)
        remaining = max(1, payable.due_fen - payable.received_fen)
        amount = data.draw(st.one_of(st.just(remaining), st.integers(min_value=1, max_value=remaining + 1_000)))
        intent = {"id": f"pi_{self._next()}", "amount": amount, "metadata": {"payable_id": str(payable.id)}}
        event = {"id": f"evt_{self._next()}", "type": "payment_intent.succeeded", "data": {"object": intent}}
        run(self.service.store_stripe_event(event))
        self.events.append({"event": event, "payable": payable.id, "amount": amount, "counted": False})

    @precondition(lambda self: self.events)
    @rule(data=st.data())
    def redeliver(self, data: st.DataObject) -> None:
        event = data.draw(st.sampled_from(self.events))
        assert run(self.service.store_stripe_event(event["event"])) is False

    @precondition(lambda self: any(not e["counted"] for e in self.events))
    @rule(data=st.data())
    def process_events(self, data: st.DataObject) -> None:
        pending = [e for e in self.events if not e["counted"]]
        order = data.draw(st.permutations(pending))
        for e in order:
            row = run(
                self.service.repo.session.execute(
                    sa.text("SELECT id FROM provider_events WHERE provider = 'stripe' AND event_id = :e"),
                    {"e": e["event"]["id"]},
                )
            ).scalar_one()
            for _ in range(data.draw(st.integers(min_value=1, max_value=2))):  # a job may run twice
                run(self.service.process_stripe_event(row))
            e["counted"] = True
            self.sent[e["payable"]] = self.sent.get(e["payable"], 0) + e["amount"]

    @precondition(lambda self: any(m.released_fen is None for d in self.deals for m in d["milestones"]))
    @rule(data=st.data(), how=st.sampled_from(["release", "refund", "split"]))
    def settle(self, data: st.DataObject, how: str) -> None:
        open_ones = [(d, m) for d in self.deals for m in d["milestones"] if m.released_fen is None]
        deal, milestone = data.draw(st.sampled_from(open_ones))
        release = {
            "release": milestone.amount_fen,
            "refund": 0,
            "split": data.draw(st.integers(min_value=0, max_value=milestone.amount_fen)),
        }[how]
        self._settle(deal, milestone, release)

    def _settle(self, deal: dict[str, Any], milestone: DealMilestone, release: int) -> None:
        # What the deal engine's _release does before calling the ports.
        milestone.released_fen, milestone.refunded_fen = release, milestone.amount_fen - release
        milestone.status = MilestoneStatus.split_
        run(self.service.settle_milestone(deal["deal"], milestone))
        if all(m.released_fen is not None for m in deal["milestones"]) and not deal["completed"]:
            deal["completed"] = True
            run(self.service.deal_completed(deal["deal"], deal["brokers"]))

    @precondition(lambda self: any(not d["completed"] for d in self.deals))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        deal = data.draw(st.sampled_from([d for d in self.deals if not d["completed"]]))
        for m in deal["milestones"]:
            if m.released_fen is None:
                self._settle(deal, m, 0)

    # ------------------------------------------------------------ deposits

    @rule()
    def register(self) -> None:
        async def go() -> None:
            bidder = await Factory(self.session).organization(kind=OrganizationKind.enterprise)
            self.auction.registration_count += 1
            reg = AuctionRegistration(
                auction_id=self.auction.id,
                organization_id=bidder.id,
                bidder_number=self.auction.registration_count,
                deposit_fen=self.auction.deposit_fen,
                deposit_status=DepositStatus.pending,
            )
            self.session.add(reg)
            await self.session.flush()
            reference = await self.service.request_deposit(reg)
            self.deposits.append({"registration": reg, "reference": reference, "settled": False})

        run(go())

    @precondition(lambda self: self.deposits)
    @rule(data=st.data())
    def pay_deposit(self, data: st.DataObject) -> None:
        dep = data.draw(st.sampled_from(self.deposits))
        amount = data.draw(st.integers(min_value=1, max_value=60_000))
        run(
            self.service.record_receipt(
                None,
                provider="offline",
                external_id=f"DEP-{self._next()}",
                reference=dep["reference"],
                amount_fen=amount,
            )
        )

    @precondition(lambda self: any(not d["settled"] for d in self.deposits))
    @rule(data=st.data(), keep=st.booleans())
    def end_deposit(self, data: st.DataObject, keep: bool) -> None:
        dep = data.draw(st.sampled_from([d for d in self.deposits if not d["settled"]]))
        if keep:
            run(self.service.forfeit_deposit(dep["registration"], None))
        else:
            run(self.service.release_deposit(dep["registration"]))
        dep["settled"] = True

    # ------------------------------------------------------------ payouts

    @rule(data=st.data())
    def payout(self, data: st.DataObject) -> None:
        rows = run(
            self.session.execute(
                sa.select(LedgerAccount.organization_id, LedgerAccount.kind, LedgerAccount.balance_fen).where(  # type: ignore[call-overload]
                    LedgerAccount.kind.in_(["available", "commission"]),
                    LedgerAccount.balance_fen > 0,  # type: ignore[attr-defined]
                )
            )
        ).all()
        if not rows:
            return
        org, kind, balance = data.draw(st.sampled_from(rows))
        amount = data.draw(st.integers(min_value=1, max_value=balance))
        purpose = PayoutPurpose.commission if kind == "commission" else PayoutPurpose.proceeds
        run(
            self.service.record_payout(
                None,
                provider="offline",
                external_id=f"OUT-{self._next()}",
                organization_id=org,
                purpose=purpose,
                amount_fen=amount,
            )
        )

    # ------------------------------------------------------------ invariants

    @invariant()
    def ledger_holds(self) -> None:
        async def check() -> None:
            s = self.session
            # The deferred balance trigger fires now for everything posted so far (it raises if any is off).
            await s.execute(sa.text("SET CONSTRAINTS ALL IMMEDIATE"))
            await s.execute(sa.text("SET CONSTRAINTS ALL DEFERRED"))
            assert await self.service.repo.unbalanced_transactions() == []
            totals = (
                await s.execute(sa.text("SELECT currency, sum(balance_fen) FROM ledger_accounts GROUP BY 1"))
            ).all()
            assert all(total == 0 for _, total in totals), totals
            negative = await s.scalar(
                sa.text(
                    "SELECT count(*) FROM ledger_accounts WHERE kind IN ('available', 'held', 'escrow', 'commission') "
                    "AND balance_fen < 0"
                )
            )
            assert negative == 0
            assert await self.service.repo.drifted_accounts() == []
            sums = {
                row[0]: (int(row[1]), int(row[2]))
                for row in await s.execute(
                    sa.text("SELECT payable_id, sum(amount_fen), sum(excess_fen) FROM provider_receipts GROUP BY 1")
                )
            }
            for d in self.deals:
                deal = d["deal"]
                accounted = await self.service.repo.balance(await self.service.ledger.escrow(deal.id))
                received = 0
                for p in await self.service.repo.milestone_payables(deal.id):
                    recorded, excess = sums.get(p.id, (0, 0))
                    # every fen sent for this payable was recorded once: applied to it, or credited as excess
                    assert recorded == self.sent.get(p.id, 0)
                    assert p.received_fen + excess == recorded
                    owed, _, _ = self.service.owed(p)
                    # what the buyer paid is seller proceeds + fees (released), refunded, or still in escrow
                    accounted += (owed if p.released_fen else 0) + p.refunded_fen
                    received += p.received_fen
                    if p.settled_release_fen is not None and p.received_fen >= owed and owed > 0:
                        assert p.released_fen == p.settled_release_fen  # fully paid and settled: released
                assert received == accounted, (received, accounted)

        run(check())


def test_money_flows_keep_the_ledger_sound(database_url: str) -> None:
    global LOOP, ENGINE
    LOOP = asyncio.new_event_loop()
    ENGINE = make_engine(Settings(database_url=database_url), url=to_asyncpg_url(database_url))
    try:
        run_state_machine_as_test(
            MoneyMachine,
            settings=settings(
                max_examples=15,
                stateful_step_count=25,
                deadline=None,
                database=None,  # examples depend on the database's state: do not replay them across runs
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
    finally:
        LOOP.run_until_complete(ENGINE.dispose())
        LOOP.close()
        LOOP, ENGINE = None, None

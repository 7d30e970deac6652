"""HTTP routes of the payments domain: fee schedules and quotes, payables, transfers, payouts, statements."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

import marketplace.payments.catalog  # noqa: F401  (registers the event types)
from marketplace.deals.service import DealsService
from marketplace.kit.errors import InvalidParameter
from marketplace.payments import views
from marketplace.payments.schemas import (
    BalancesRead,
    ConnectInput,
    ConnectRead,
    DealMoneyRead,
    FeeQuoteRead,
    FeeScheduleInput,
    FeeScheduleList,
    FeeScheduleRead,
    PayableList,
    PayoutInput,
    PayoutRead,
    ReceiptRead,
    ReconciliationRead,
    StatementRead,
    StripeIntentRead,
    StripePayoutInput,
    TransferInput,
    WebhookAck,
)
from marketplace.payments.service import OFFLINE, PaymentsService
from marketplace.payments.stripe_provider import verify_webhook
from marketplace.web import policy
from marketplace.web.deps import Caller, DbSession
from marketplace.web.openapi import errors_for, json_or_csv

OrgParam = Annotated[
    uuid.UUID | None,
    QueryParameter(
        name="organization_id", description="Whose money (default: the caller's own; the platform may name any)."
    ),
]
# An ISO 8601 date or date-time (a date means its midnight UTC); numbers are not read as Unix times.
ISO = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$"


def _instant(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or not re.match(ISO, value):
        raise InvalidParameter.query(name, "not an ISO 8601 date or date-time")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


FormatParam = Annotated[str, QueryParameter(name="format", pattern=r"^(json|csv)$", description="json or csv")]


class FeeController(Controller):
    """Fee schedules (versioned data set by the platform) and fee quotes."""

    tags = ["payments"]  # noqa: RUF012

    @get(
        "/fee-schedules",
        operation_id="listFeeSchedules",
        summary="List fee schedule versions",
        description="Newest first; the first is in force for contracts confirmed from now on.",
        opt=policy.PUBLIC.opt(),
        responses=errors_for(),
    )
    async def list_schedules(self, session: DbSession) -> FeeScheduleList:
        """Versions."""
        rows = await PaymentsService(session).repo.schedules()
        return FeeScheduleList(items=[FeeScheduleRead.model_validate(r) for r in rows])

    @post(
        "/fee-schedules",
        operation_id="publishFeeSchedule",
        summary="Publish a new fee schedule version",
        description="Progressive bands applied marginally, a minimum and an optional cap per side, the default "
        "broker commission and the auction deposit rule. Deals confirmed earlier keep their version.",
        status_code=HTTP_201_CREATED,
        opt=policy.PLATFORM_ADMIN.opt(),
        responses=errors_for(401, 403, 422),
    )
    async def publish_schedule(
        self, session: DbSession, principal: Caller, data: JSONBody[FeeScheduleInput]
    ) -> FeeScheduleRead:
        """Publish."""
        row = await PaymentsService(session).publish_schedule(principal, data)
        return FeeScheduleRead.model_validate(row)

    @get(
        "/fee-quote",
        operation_id="quoteFees",
        summary="Quote the fees on an amount",
        description="Each side's fee band by band (exact fractions of a fen), the minimum or cap applied and the "
        "total rounded half-up once; the default broker commission. Under the schedule in force or `version`.",
        opt=policy.PUBLIC.opt(),
        responses=errors_for(404),
    )
    async def quote(
        self,
        session: DbSession,
        amount_fen: Annotated[int, QueryParameter(gt=0, le=10**15, description="The deal amount in fen.")],
        mode: Annotated[
            str | None, QueryParameter(max_length=30, description="The trade mode (echoed; fees do not vary by it).")
        ] = None,
        version: Annotated[
            int | None, QueryParameter(ge=1, le=2_147_483_647, description="A schedule version.")
        ] = None,
    ) -> FeeQuoteRead:
        """Quote."""
        return views.quote_read(await PaymentsService(session).quote(amount_fen, mode=mode, version=version))


class MoneyController(Controller):
    """Payables and payment instructions, received transfers and payouts, balances, statements, reconciliation."""

    path = "/money"
    tags = ["payments"]  # noqa: RUF012

    @get(
        "/payables",
        operation_id="listPayables",
        summary="List payment instructions",
        description="What an organisation is asked to pay (deposits, milestones with the buyer's fee, "
        "commissions), each with the reference code its bank transfer must quote.",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(401, 404),
    )
    async def list_payables(
        self, session: DbSession, principal: Caller, organization_id: OrgParam = None
    ) -> PayableList:
        """Payables."""
        service = PaymentsService(session)
        org = await service.visible_organization(principal, organization_id)
        return PayableList(items=views.payables_read(await service.repo.payables(payer_organization_id=org)))

    @post(
        "/transfers",
        operation_id="recordTransfer",
        summary="Record a received bank transfer",
        description="Applies the amount to the payable of the reference: partial leaves the rest due, exact "
        "pays it, an over-payment's excess is credited to the payer's available balance (and paid back by a "
        "payout). The same external_id records once.",
        status_code=HTTP_201_CREATED,
        opt=policy.PLATFORM_MEMBER.opt(),
        responses=errors_for(401, 403, 409, 422),
    )
    async def record_transfer(
        self, session: DbSession, principal: Caller, data: JSONBody[TransferInput]
    ) -> ReceiptRead:
        """Record a transfer."""
        receipt = await PaymentsService(session).record_receipt(
            principal,
            provider=OFFLINE,
            external_id=data.external_id,
            reference=data.reference,
            amount_fen=data.amount_fen,
            received_at=data.received_at,
        )
        return ReceiptRead.model_validate(receipt)

    @post(
        "/payouts",
        operation_id="recordPayout",
        summary="Record a payout made",
        description="Seller proceeds or refunds (from available) or broker commission (from commission "
        "payable), paid by bank transfer: debits the account, credits offline clearing. Never more than held.",
        status_code=HTTP_201_CREATED,
        opt=policy.PLATFORM_MEMBER.opt(),
        responses=errors_for(401, 403, 404, 409, 422),
    )
    async def record_payout(self, session: DbSession, principal: Caller, data: JSONBody[PayoutInput]) -> PayoutRead:
        """Record a payout."""
        payout = await PaymentsService(session).record_payout(
            principal,
            provider=OFFLINE,
            external_id=data.external_id,
            organization_id=data.organization_id,
            purpose=data.purpose,
            amount_fen=data.amount_fen,
            paid_at=data.paid_at,
        )
        return PayoutRead.model_validate(payout)

    @get(
        "/balances",
        operation_id="getBalances",
        summary="Get an organisation's balances",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(401, 404),
    )
    async def balances(self, session: DbSession, principal: Caller, organization_id: OrgParam = None) -> BalancesRead:
        """Balances."""
        service = PaymentsService(session)
        org = await service.visible_organization(principal, organization_id)
        return BalancesRead.model_validate({"organization_id": org, "accounts": await service.balances(org)})

    @get(
        "/statement",
        operation_id="getStatement",
        summary="Get an organisation's statement",
        description="Per account: opening balance at `start`, every movement up to `end`, closing balance. "
        "`format=json` (default) or `csv` (UTF-8 with BOM).",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(401, 404),
        operation_class=json_or_csv(),
    )
    async def statement(
        self,
        session: DbSession,
        principal: Caller,
        organization_id: OrgParam = None,
        start: Annotated[str | None, QueryParameter(description="Period start (inclusive).", pattern=ISO)] = None,
        end: Annotated[str | None, QueryParameter(description="Period end (exclusive).", pattern=ISO)] = None,
        export_format: FormatParam = "json",
    ) -> Response[Any]:
        """Statement."""
        service = PaymentsService(session)
        org = await service.visible_organization(principal, organization_id)
        data = await service.statement(org, start=_instant("start", start), end=_instant("end", end))
        if export_format == "csv":
            return Response(
                content=views.statement_csv(data),
                media_type="text/csv",  # Litestar adds charset=utf-8 to text types
                headers={"Content-Disposition": f'attachment; filename="statement-{org}.csv"'},
            )
        return Response(content=StatementRead.model_validate(data))

    @get(
        "/reconciliation",
        operation_id="getReconciliation",
        summary="Reconcile provider records with the ledger",
        description="Every received transfer, payout and provider event against its ledger posting, plus "
        "unbalanced transactions and drifted balances: each mismatch listed. `format=csv` for a download.",
        opt=policy.PLATFORM.opt(),
        responses=errors_for(401, 403),
        operation_class=json_or_csv(),
    )
    async def reconciliation(
        self, session: DbSession, principal: Caller, export_format: FormatParam = "json"
    ) -> Response[Any]:
        """Reconciliation."""
        data = await PaymentsService(session).reconcile()
        if export_format == "csv":
            return Response(
                content=views.to_csv(views.MISMATCH_FIELDS, data["mismatches"]),
                media_type="text/csv",  # Litestar adds charset=utf-8 to text types
                headers={"Content-Disposition": 'attachment; filename="reconciliation.csv"'},
            )
        return Response(content=ReconciliationRead.model_validate(data))


class DealMoneyController(Controller):
    """A deal's money: fee terms, payables, escrow."""

    path = "/deals"
    tags = ["payments"]  # noqa: RUF012

    @get(
        "/{deal_id:uuid}/money",
        operation_id="getDealMoney",
        summary="Get a deal's fee terms, payables and escrow",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(401, 404),
    )
    async def deal_money(self, session: DbSession, principal: Caller, deal_id: FromPath[uuid.UUID]) -> DealMoneyRead:
        """Deal money."""
        deal, _ = await DealsService(session).visible_deal(principal, deal_id)
        data = await PaymentsService(session).deal_money(deal)
        data["payables"] = views.payables_read(data["payables"])
        return DealMoneyRead.model_validate(data)


class StripeController(Controller):
    """The Stripe provider (when STRIPE_API_KEY is set): PaymentIntents, payouts, Connect, incoming webhooks."""

    path = "/money/stripe"
    tags = ["payments"]  # noqa: RUF012

    @post(
        "/payables/{payable_id:uuid}/intent",
        operation_id="createStripePaymentIntent",
        summary="Pay a payable by card: create its PaymentIntent",
        description="For what the payable still needs; the same intent for the same payable and amount "
        "(idempotency key derived from the payable). Money counts when Stripe's payment_intent.succeeded "
        "webhook has been processed.",
        status_code=HTTP_201_CREATED,
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 404, 409),
    )
    async def intent(self, session: DbSession, principal: Caller, payable_id: FromPath[uuid.UUID]) -> StripeIntentRead:
        """PaymentIntent."""
        payable, secret = await PaymentsService(session).stripe_intent(principal, payable_id)
        assert payable.provider_ref is not None
        return StripeIntentRead(
            payable_id=payable.id,
            payment_intent_id=payable.provider_ref,
            client_secret=secret,
            amount_fen=payable.due_fen - payable.received_fen,
        )

    @post(
        "/payouts",
        operation_id="createStripePayout",
        summary="Pay out through Stripe",
        description="Debits the organisation now; a job then refunds the card or transfers to the connected "
        "account, with an idempotency key derived from the payout's id. Fees stay with the platform: only "
        "the net available money is transferred.",
        status_code=HTTP_201_CREATED,
        opt=policy.PLATFORM_MEMBER.opt(),
        responses=errors_for(401, 403, 404, 409, 422),
    )
    async def payout(self, session: DbSession, principal: Caller, data: JSONBody[StripePayoutInput]) -> PayoutRead:
        """Stripe payout."""
        return PayoutRead.model_validate(await PaymentsService(session).stripe_payout(principal, data))

    @post(
        "/connect",
        operation_id="createStripeConnectLink",
        summary="Onboard to Stripe Connect",
        description="Creates the organisation's Express account once and returns a one-time onboarding link.",
        status_code=HTTP_201_CREATED,
        opt=policy.ADMIN.opt(),
        responses=errors_for(401, 403, 409, 422),
    )
    async def connect(self, session: DbSession, principal: Caller, data: JSONBody[ConnectInput]) -> ConnectRead:
        """Connect link."""
        account, url = await PaymentsService(session).connect_link(
            principal, refresh_url=data.refresh_url, return_url=data.return_url
        )
        return ConnectRead(account_id=account, url=url)

    @post(
        "/webhook",
        operation_id="receiveStripeWebhook",
        status_code=HTTP_200_OK,
        summary="Receive a Stripe webhook",
        description="Verifies the Stripe-Signature header (with STRIPE_WEBHOOK_TOLERANCE_SECONDS), stores the "
        "event once by its id and queues a job to apply it. Duplicates and any order are safe.",
        opt=policy.PUBLIC.opt(),
        responses=errors_for(409),
    )
    async def webhook(self, request: Request[Any, Any, Any], session: DbSession) -> WebhookAck:
        """Webhook."""
        event = verify_webhook(await request.body(), request.headers.get("stripe-signature"))
        stored = await PaymentsService(session).store_stripe_event(event)
        return WebhookAck(duplicate=not stored)


CONTROLLERS = [FeeController, MoneyController, DealMoneyController, StripeController]

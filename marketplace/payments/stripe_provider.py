"""The Stripe provider: PaymentIntents for payables, refunds, Connect accounts, links and transfers.

Every call carries an idempotency key derived from our own ids, so a retried job or request never makes a
second PaymentIntent, refund or transfer. The library is synchronous: calls run in a worker thread.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import stripe

from marketplace.payments.config import PaymentsSettings, payments_settings
from marketplace.payments.errors import InvalidWebhook, ProviderNotConfigured
from marketplace.payments.models import Payable

STRIPE = "stripe"
_REUSABLE = frozenset({"requires_payment_method", "requires_confirmation", "requires_action"})


class StripeProvider:
    """Calls to Stripe with the configured key (and API base, for a local Stripe-like server)."""

    def __init__(self, settings: PaymentsSettings | None = None) -> None:
        self.settings = settings or payments_settings()
        if not self.settings.stripe_api_key:
            raise ProviderNotConfigured("set STRIPE_API_KEY to use the stripe provider")
        self.api_key = self.settings.stripe_api_key
        if self.settings.stripe_api_base:
            stripe.api_base = self.settings.stripe_api_base

    async def _call(self, fn: Any, **params: Any) -> Any:
        return await asyncio.to_thread(fn, api_key=self.api_key, **params)

    async def payment_intent(self, payable: Payable) -> tuple[str, str | None]:
        """A PaymentIntent for what a payable still needs; the same one for the same payable and state."""
        remaining = payable.due_fen - payable.received_fen
        if payable.provider_ref and payable.provider_ref.startswith("pi_"):
            # Reuse the open intent (also where a server does not keep idempotency keys).
            known = await self._call(stripe.PaymentIntent.retrieve, id=payable.provider_ref)
            if known.status in _REUSABLE and known.amount == remaining:
                return str(known.id), known.client_secret
        intent = await self._call(
            stripe.PaymentIntent.create,
            amount=remaining,
            currency=payable.currency.lower(),
            payment_method_types=["card"],
            metadata={"payable_id": str(payable.id), "reference": payable.reference},
            idempotency_key=f"payable:{payable.id}:{payable.received_fen}",
        )
        return str(intent.id), intent.client_secret

    async def refund(self, *, payout_id: uuid.UUID, payment_intent_id: str, amount_fen: int) -> str:
        """Refund part of a PaymentIntent to the card that paid it."""
        refund = await self._call(
            stripe.Refund.create,
            payment_intent=payment_intent_id,
            amount=amount_fen,
            metadata={"payout_id": str(payout_id)},
            idempotency_key=f"payout:{payout_id}",
        )
        return str(refund.id)

    async def transfer(self, *, payout_id: uuid.UUID, account_id: str, amount_fen: int, currency: str) -> str:
        """Send money to a connected account (the platform's fee stays: only the net is transferred)."""
        transfer = await self._call(
            stripe.Transfer.create,
            amount=amount_fen,
            currency=currency.lower(),
            destination=account_id,
            metadata={"payout_id": str(payout_id)},
            idempotency_key=f"payout:{payout_id}",
        )
        return str(transfer.id)

    async def connected_account(self, organization_id: uuid.UUID) -> str:
        """Create an organisation's Express account (once: the key is the organisation's id)."""
        account = await self._call(
            stripe.Account.create,
            type="express",
            metadata={"organization_id": str(organization_id)},
            idempotency_key=f"account:{organization_id}",
        )
        return str(account.id)

    async def onboarding_link(self, account_id: str, *, refresh_url: str, return_url: str) -> str:
        """A one-time onboarding link for a connected account."""
        link = await self._call(
            stripe.AccountLink.create,
            account=account_id,
            refresh_url=refresh_url,
            return_url=return_url,
            type="account_onboarding",
        )
        return str(link.url)


def verify_webhook(payload: bytes, signature: str | None, settings: PaymentsSettings | None = None) -> dict[str, Any]:
    """The event of a Stripe webhook whose signature verifies within the tolerance (else InvalidWebhook)."""
    settings = settings or payments_settings()
    if not settings.stripe_webhook_secret:
        raise ProviderNotConfigured("set STRIPE_WEBHOOK_SECRET to receive Stripe webhooks")
    try:
        event = stripe.Webhook.construct_event(
            payload,
            signature or "",
            settings.stripe_webhook_secret,
            tolerance=settings.stripe_webhook_tolerance_seconds,
        )
    except stripe.SignatureVerificationError as exc:
        raise InvalidWebhook("the Stripe-Signature header does not verify") from exc
    except ValueError as exc:
        raise InvalidWebhook("the body is not a Stripe event") from exc
    data = event.to_dict()
    if not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str):
        raise InvalidWebhook("the body is not a Stripe event")
    return dict(data)

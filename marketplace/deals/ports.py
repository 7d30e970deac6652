"""Where money leaves the deal flow: the payments port and the deposit gateway.

Deals never move money. The engine calls these ports at the transitions that should move it, inside the
transition's transaction (so a ledger written by the payments domain commits or rolls back with the
deal). The no-op classes below are kept for reference and for running without payments; the app installs the
ledger's (marketplace/payments/ports.py) with install_defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.deals.models import AuctionRegistration, Deal, DealBroker, DealMilestone


class PaymentsPort(Protocol):
    """What payments hears from the deal flow."""

    async def on_contract_confirmed(
        self, session: AsyncSession, *, deal: Deal, milestones: list[DealMilestone]
    ) -> None:
        """Both parties confirmed: the payment plan is fixed (escrow may be requested per milestone)."""

    async def on_milestone_released(
        self, session: AsyncSession, *, deal: Deal, milestone: DealMilestone, amount_fen: int
    ) -> None:
        """Release this much of a milestone to the seller (accepted, auto-accepted, or a dispute's release part)."""

    async def on_refund(self, session: AsyncSession, *, deal: Deal, milestone: DealMilestone, amount_fen: int) -> None:
        """Refund this much of a milestone to the buyer (a dispute's refund part, or a cancelled deal)."""

    async def on_deal_completed(self, session: AsyncSession, *, deal: Deal, brokers: list[DealBroker]) -> None:
        """Every milestone is settled: brokers' commissions fall due."""


class DepositGateway(Protocol):
    """How auction deposits (保证金) are requested and settled."""

    async def request(self, session: AsyncSession, *, registration: AuctionRegistration) -> str | None:
        """A bidder registered: ask for the deposit; return a reference to show the bidder (or None)."""

    async def release(self, session: AsyncSession, *, registration: AuctionRegistration) -> None:
        """Give a held deposit back (lost, withdrawn, cancelled)."""

    async def forfeit(self, session: AsyncSession, *, registration: AuctionRegistration, deal: Deal | None) -> None:
        """Keep a held deposit (the winner did not confirm in time, or walked away)."""

    async def apply_to_price(self, session: AsyncSession, *, registration: AuctionRegistration, deal: Deal) -> None:
        """Count a held deposit toward the winning price (the winner confirmed the contract)."""


class NoPayments:
    """The default: money is handled outside the service (offline), nothing is recorded here."""

    async def on_contract_confirmed(
        self, session: AsyncSession, *, deal: Deal, milestones: list[DealMilestone]
    ) -> None:
        """Nothing to do."""

    async def on_milestone_released(
        self, session: AsyncSession, *, deal: Deal, milestone: DealMilestone, amount_fen: int
    ) -> None:
        """Nothing to do."""

    async def on_refund(self, session: AsyncSession, *, deal: Deal, milestone: DealMilestone, amount_fen: int) -> None:
        """Nothing to do."""

    async def on_deal_completed(self, session: AsyncSession, *, deal: Deal, brokers: list[DealBroker]) -> None:
        """Nothing to do."""


class OfflineDeposits:
    """The default: deposits are paid by bank transfer and marked received by the platform (confirm_deposit)."""

    async def request(self, session: AsyncSession, *, registration: AuctionRegistration) -> str | None:
        """The bidder pays by transfer quoting its registration id."""
        return None

    async def release(self, session: AsyncSession, *, registration: AuctionRegistration) -> None:
        """Nothing to do."""

    async def forfeit(self, session: AsyncSession, *, registration: AuctionRegistration, deal: Deal | None) -> None:
        """Nothing to do."""

    async def apply_to_price(self, session: AsyncSession, *, registration: AuctionRegistration, deal: Deal) -> None:
        """Nothing to do."""


@dataclass
class RecordingPorts:
    """Both ports, recording every call (for tests and for checking a payments integration)."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def _record(self, name: str, **kwargs: Any) -> None:
        self.calls.append((name, kwargs))

    def named(self, name: str) -> list[dict[str, Any]]:
        """The recorded calls of one method."""
        return [kw for n, kw in self.calls if n == name]

    async def on_contract_confirmed(
        self, session: AsyncSession, *, deal: Deal, milestones: list[DealMilestone]
    ) -> None:
        """Record."""
        self._record("on_contract_confirmed", deal_id=deal.id, milestones=[m.id for m in milestones])

    async def on_milestone_released(
        self, session: AsyncSession, *, deal: Deal, milestone: DealMilestone, amount_fen: int
    ) -> None:
        """Record."""
        self._record("on_milestone_released", deal_id=deal.id, milestone_id=milestone.id, amount_fen=amount_fen)

    async def on_refund(self, session: AsyncSession, *, deal: Deal, milestone: DealMilestone, amount_fen: int) -> None:
        """Record."""
        self._record("on_refund", deal_id=deal.id, milestone_id=milestone.id, amount_fen=amount_fen)

    async def on_deal_completed(self, session: AsyncSession, *, deal: Deal, brokers: list[DealBroker]) -> None:
        """Record."""
        self._record("on_deal_completed", deal_id=deal.id, brokers=[b.id for b in brokers])

    async def request(self, session: AsyncSession, *, registration: AuctionRegistration) -> str | None:
        """Record."""
        self._record("request", registration_id=registration.id, amount_fen=registration.deposit_fen)
        return f"DEP-{registration.bidder_number}"

    async def release(self, session: AsyncSession, *, registration: AuctionRegistration) -> None:
        """Record."""
        self._record("release", registration_id=registration.id, amount_fen=registration.deposit_fen)

    async def forfeit(self, session: AsyncSession, *, registration: AuctionRegistration, deal: Deal | None) -> None:
        """Record."""
        self._record("forfeit", registration_id=registration.id, amount_fen=registration.deposit_fen)

    async def apply_to_price(self, session: AsyncSession, *, registration: AuctionRegistration, deal: Deal) -> None:
        """Record."""
        self._record("apply_to_price", registration_id=registration.id, deal_id=deal.id)


_default_payments: PaymentsPort = NoPayments()
_default_deposits: DepositGateway = OfflineDeposits()
_payments: PaymentsPort = _default_payments
_deposits: DepositGateway = _default_deposits


def payments() -> PaymentsPort:
    """The payments port in force."""
    return _payments


def deposits() -> DepositGateway:
    """The deposit gateway in force."""
    return _deposits


def use_payments(port: PaymentsPort | None) -> None:
    """Put a payments port in force (None: back to the default)."""
    global _payments
    _payments = port or _default_payments


def use_deposits(gateway: DepositGateway | None) -> None:
    """Put a deposit gateway in force (None: back to the default)."""
    global _deposits
    _deposits = gateway or _default_deposits


def install_defaults(port: PaymentsPort, gateway: DepositGateway) -> None:
    """Make these the defaults and put them in force (the payments domain installs the ledger's)."""
    global _default_payments, _default_deposits
    _default_payments, _default_deposits = port, gateway
    use_payments(None)
    use_deposits(None)

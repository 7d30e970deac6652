"""The deal flow's payments port and deposit gateway, posting to the ledger (installed by the app)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.deals.models import AuctionRegistration, Deal, DealBroker, DealMilestone
from marketplace.deals.ports import install_defaults
from marketplace.payments.service import PaymentsService


class LedgerPayments:
    """PaymentsPort: fees fixed at confirmation, milestone money through escrow, commissions at completion."""

    async def on_contract_confirmed(
        self, session: AsyncSession, *, deal: Deal, milestones: list[DealMilestone]
    ) -> None:
        """Keep the schedule in force and ask for each milestone's money."""
        await PaymentsService(session).fix_terms(deal, milestones)

    async def on_milestone_released(
        self, session: AsyncSession, *, deal: Deal, milestone: DealMilestone, amount_fen: int
    ) -> None:
        """Release the milestone's money to the seller (as soon as it is fully paid in)."""
        await PaymentsService(session).settle_milestone(deal, milestone)

    async def on_refund(self, session: AsyncSession, *, deal: Deal, milestone: DealMilestone, amount_fen: int) -> None:
        """Refund the milestone's refunded part (and its share of the buyer's fee) to the buyer."""
        await PaymentsService(session).settle_milestone(deal, milestone)

    async def on_deal_completed(self, session: AsyncSession, *, deal: Deal, brokers: list[DealBroker]) -> None:
        """Brokers' commissions fall due."""
        await PaymentsService(session).deal_completed(deal, brokers)


class LedgerDeposits:
    """DepositGateway: deposits paid against a reference into held, then released, forfeited or applied."""

    async def request(self, session: AsyncSession, *, registration: AuctionRegistration) -> str | None:
        """A deposit payable; its reference code is shown to the bidder."""
        return await PaymentsService(session).request_deposit(registration)

    async def release(self, session: AsyncSession, *, registration: AuctionRegistration) -> None:
        """Held deposit back to the bidder's available money."""
        await PaymentsService(session).release_deposit(registration)

    async def forfeit(self, session: AsyncSession, *, registration: AuctionRegistration, deal: Deal | None) -> None:
        """Held deposit to the seller or the platform, per the schedule's deposit rule."""
        await PaymentsService(session).forfeit_deposit(registration, deal)

    async def apply_to_price(self, session: AsyncSession, *, registration: AuctionRegistration, deal: Deal) -> None:
        """Held deposit into the deal's escrow toward the price."""
        await PaymentsService(session).apply_deposit(registration, deal)


def install() -> None:
    """Make the ledger the deal flow's payments port and deposit gateway."""
    install_defaults(LedgerPayments(), LedgerDeposits())

"""Response bodies from rows, shaped by what the caller may see (bidders' identities, objectors, the reserve)."""

from __future__ import annotations

import csv
import io
import uuid
from typing import TYPE_CHECKING, Any

from marketplace.accounts.principal import Principal
from marketplace.deals.models import (
    Auction,
    AuctionBid,
    AuctionRegistration,
    AuctionState,
    ContractType,
    DealContract,
    DealNotice,
    DealObjection,
)
from marketplace.deals.process import DEADLINES, GUARDS, TRANSITIONS, Actor, Subject, states_of, transition
from marketplace.deals.schemas import (
    AuctionRead,
    BidRead,
    BrokerRead,
    ContractRead,
    DeadlineRead,
    DealRead,
    MilestoneRead,
    NextTransition,
    NoticePublic,
    NoticeRead,
    ObjectionRead,
    OfferRead,
    ProcessRead,
    ProcessState,
    ProcessTransition,
    RegistrationRead,
)

if TYPE_CHECKING:
    from marketplace.deals.service import DealBundle

REGISTRATION_FIELDS = (
    "deal_id",
    "contract_id",
    "contract_type",
    "contract_type_label",
    "subject_name",
    "buyer_name",
    "buyer_credit_code",
    "seller_name",
    "seller_credit_code",
    "amount_fen",
    "technology_fen",
    "amount_yuan",
    "technology_yuan",
    "term_months",
    "territory",
    "signed_on",
)


def contract_read(contract: DealContract) -> ContractRead:
    """A contract record."""
    return ContractRead.model_validate(
        {
            **{k: getattr(contract, k) for k in ContractRead.model_fields if hasattr(contract, k)},
            "contract_type_label": ContractType(contract.contract_type).label,
        }
    )


def objection_read(objection: DealObjection, *, show_objector: bool) -> ObjectionRead:
    """An objection; the objector is named to the platform and to its own organisation only."""
    body = ObjectionRead.model_validate(objection)
    return body if show_objector else body.model_copy(update={"organization_id": None})


def notice_public(notice: DealNotice, counts: tuple[int, int]) -> NoticePublic:
    """A notice as anyone sees it."""
    return NoticePublic.model_validate(
        {
            **{k: getattr(notice, k) for k in NoticePublic.model_fields if hasattr(notice, k)},
            "objections_pending": counts[0],
            "objections_total": counts[1],
        }
    )


def deal_read(bundle: DealBundle, principal: Principal | None) -> DealRead:
    """A deal for its reader."""
    deal = bundle.deal
    platform = principal is not None and principal.is_platform
    notice = None
    if bundle.notice is not None:
        public = notice_public(bundle.notice, bundle.objection_counts)
        notice = NoticeRead(
            **public.model_dump(),
            objections=[
                objection_read(
                    o,
                    show_objector=platform
                    or (principal is not None and o.organization_id == principal.organization_id),
                )
                for o in bundle.objections
            ],
        )
    return DealRead.model_validate(
        {
            **{k: getattr(deal, k) for k in DealRead.model_fields if hasattr(deal, k)},
            "listing_title": bundle.listing.title_zh if bundle.listing is not None else "",
            "confidential_access": bundle.confidential_access,
            "my_roles": sorted(bundle.standing.roles, key=lambda a: a.value),
            "next_transitions": [NextTransition.model_validate(t) for t in bundle.next_transitions],
            "deadlines": [DeadlineRead.model_validate(d) for d in bundle.deadlines],
            "open_offer": OfferRead.model_validate(bundle.open_offer) if bundle.open_offer is not None else None,
            "contract": contract_read(bundle.contract) if bundle.contract is not None else None,
            "milestones": [MilestoneRead.model_validate(m) for m in bundle.milestones],
            "brokers": [BrokerRead.model_validate(b) for b in bundle.brokers],
            "notice": notice,
        }
    )


def registration_read(
    registration: AuctionRegistration, *, bid_count: int, show_organization: bool
) -> RegistrationRead:
    """A registration; the bidder's organisation only to itself and the platform."""
    return RegistrationRead(
        id=registration.id,
        auction_id=registration.auction_id,
        organization_id=registration.organization_id if show_organization else None,
        bidder_number=registration.bidder_number,
        deposit_fen=registration.deposit_fen,
        deposit_status=registration.deposit_status,
        deposit_reference=registration.deposit_reference if show_organization else None,
        bid_count=bid_count,
        created_at=registration.created_at,
    )


def bid_read(bid: AuctionBid, organization_id: uuid.UUID | None = None) -> BidRead:
    """A bid (with the bidder's organisation for the platform)."""
    return BidRead(
        id=bid.id,
        seq=bid.seq,
        bidder_number=bid.bidder_number,
        amount_fen=bid.amount_fen,
        placed_at=bid.placed_at,
        extended_to=bid.extended_to,
        organization_id=organization_id,
    )


def auction_read(
    auction: Auction,
    principal: Principal | None,
    *,
    high_bidder_number: int | None,
    my_registration: RegistrationRead | None = None,
) -> AuctionRead:
    """An auction; the reserve only to the seller and the platform, and whether it was met after the close."""
    insider = principal is not None and (
        principal.is_platform or principal.organization_id == auction.seller_organization_id
    )
    finished = auction.status in (AuctionState.closed, AuctionState.unsold)
    return AuctionRead(
        id=auction.id,
        listing_id=auction.listing_id,
        seller_organization_id=auction.seller_organization_id,
        status=auction.status,
        trade_mode=auction.trade_mode,
        starts_at=auction.starts_at,
        ends_at=auction.ends_at,
        scheduled_ends_at=auction.scheduled_ends_at,
        extension_minutes=auction.extension_minutes,
        start_price_fen=auction.start_price_fen,
        increment_fen=auction.increment_fen,
        deposit_fen=auction.deposit_fen,
        reserve_fen=auction.reserve_fen if insider else None,
        high_bid_fen=auction.high_bid_fen,
        high_bidder_number=high_bidder_number,
        next_minimum_bid_fen=auction.start_price_fen
        if auction.high_bid_fen is None
        else auction.high_bid_fen + auction.increment_fen,
        bid_count=auction.bid_count,
        registration_count=auction.registration_count,
        reserve_met=(auction.status == AuctionState.closed) if finished else None,
        version=auction.version,
        closed_at=auction.closed_at,
        my_registration=my_registration,
    )


def registration_csv(data: dict[str, Any]) -> str:
    """One deal's registration data as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(REGISTRATION_FIELDS)
    row = []
    for name in REGISTRATION_FIELDS:
        value = data.get(name)
        row.append("" if value is None else value.value if isinstance(value, ContractType) else str(value))
    writer.writerow(row)
    return "\ufeff" + out.getvalue()


def process_read() -> ProcessRead:
    """The process table as JSON."""

    def targets(name: str) -> list[dict[str, Any]]:
        t = transition(name)
        return [{"to": b.to, "when": b.when, "starts": list(b.starts), "cancels": list(b.cancels)} for b in t.branches]

    subjects: tuple[Subject, ...] = ("deal", "auction")
    return ProcessRead(
        states=[
            ProcessState(
                name=s.name,
                subject=s.subject,
                description=s.description,
                terminal=s.terminal,
                idle_expires=s.idle_expires,
            )
            for subject in subjects
            for s in states_of(subject)
        ],
        transitions=[
            ProcessTransition(
                name=t.name,
                subject=t.subject,
                event_type=t.event_type,
                sources=list(t.sources),
                targets=targets(t.name),
                actors=sorted(t.actors, key=lambda a: list(Actor).index(a)),
                guards=list(t.guards),
                starts=list(t.starts),
                cancels=list(t.cancels),
                versioned=t.versioned,
                summary=t.summary,
                consequence=t.consequence,
            )
            for t in TRANSITIONS
        ],
        guards={g.name: g.description for g in GUARDS.values()},
        deadlines=[{"name": d.name, "subject": d.subject, "fires": d.fires, "due": d.due} for d in DEADLINES],
    )

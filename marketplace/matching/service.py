"""Matching rules: who sees which matches, feedback, saved searches, broker clients, pipeline, fan-out."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts.models import OrganizationKind
from marketplace.accounts.principal import Principal
from marketplace.demands.models import Demand, DemandStatus
from marketplace.demands.service import effective_status, today_at
from marketplace.events.service import EventRecorder
from marketplace.kit.errors import FieldProblem, InvalidInput
from marketplace.kit.time import utcnow
from marketplace.listings.models import Listing, ListingStatus
from marketplace.matching import errors
from marketplace.matching.matcher import (
    BOILERPLATE,
    DemandMatch,
    ListingMatch,
    Matcher,
    demand_facts_of,
    listing_facts_of,
)
from marketplace.matching.models import BrokerClient, MatchFeedback, SavedSearch, Verdict
from marketplace.matching.repository import MatchingRepository
from marketplace.matching.schemas import FeedbackInput, SavedSearchCreate, SavedSearchUpdate
from marketplace.matching.scoring import ALL_CONSTRAINTS, Constraint
from marketplace.search_api.documents import listing_document
from marketplace.search_api.repository import SearchRepository
from search.postgres import PostgresSearchBackend, tsquery_of
from search.prepare import prepare_query
from search.settings import LISTINGS
from search.text import get_default_analyzer

MAX_SAVED_SEARCHES = 100
PIPELINE_DEMANDS = 30
MATCH_FOUND = "match.found"
MATCH_INTERESTED = "match.interested"


def parse_relax(values: Iterable[str]) -> frozenset[Constraint]:
    """The constraints a caller relaxes: names, comma-separated or repeated; `all` relaxes every one."""
    out: set[Constraint] = set()
    for value in values:
        for part in value.split(","):
            name = part.strip()
            if not name:
                continue
            if name == "all":
                out |= ALL_CONSTRAINTS
                continue
            try:
                out.add(Constraint(name))
            except ValueError as exc:
                choices = ", ".join(["all", *(c.value for c in Constraint)])
                detail = f"{name!r} is not one of {choices}"
                raise InvalidInput(
                    detail, errors=[FieldProblem(detail=detail, parameter="relax", location="query")]
                ) from exc
    return frozenset(out)


def every_word_tsquery(text: str) -> str | None:
    """A saved search's text as a tsquery: every word (or one of its synonyms or dictionary parts) present."""
    prepared = prepare_query(text, get_default_analyzer(), prefix=False)
    parts = []
    for group in prepared.groups:
        whole = [a for a in group.alternatives if not a.partial]
        if whole:
            parts.append("(" + tsquery_of(whole) + ")")
    return " & ".join(parts) if parts else None


def demand_profile_tsquery(title: str) -> str | None:
    """A demand's distinctive title words as a tsquery that any one of them satisfies."""
    prepared = prepare_query(title, get_default_analyzer(), prefix=False)
    parts = []
    for group in prepared.groups:
        if group.text in BOILERPLATE:
            continue
        whole = [a for a in group.alternatives if not a.partial and all(len(t) > 1 for t in a.tokens)]
        if whole:
            parts.append(tsquery_of(whole))
    return " | ".join(f"({p})" for p in parts) if parts else None


@dataclass(frozen=True, slots=True)
class FannedOut:
    """What one fan-out found: new pairs per organisation."""

    listing_id: uuid.UUID
    organizations: int
    pairs: int


class MatchingService:
    """Matches, feedback, saved searches, broker clients and the broker pipeline."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = MatchingRepository(session)
        self.events = EventRecorder(session)

    @staticmethod
    def today() -> date:
        """Today in China (demand deadlines are China calendar days)."""
        return today_at(utcnow())

    # -- who may see what -------------------------------------------------------------------------

    async def _demand_for_reader(self, principal: Principal, demand_id: uuid.UUID) -> Demand:
        """The demand, if the caller is its enterprise, a broker agency acting for it, or the platform."""
        demand = await self.repo.demand(demand_id)
        if demand is None:
            raise errors.DemandNotFound()
        if principal.is_platform or demand.organization_id == principal.organization_id:
            return demand
        if principal.organization_kind is OrganizationKind.broker_agency and await self.repo.represents(
            principal.organization_id, demand.organization_id
        ):
            return demand
        raise errors.DemandNotFound()

    async def _own_listing(self, principal: Principal, listing_id: uuid.UUID) -> Listing:
        listing = await self.repo.listing(listing_id)
        if listing is None or not (principal.is_platform or listing.organization_id == principal.organization_id):
            raise errors.ListingNotFound()
        return listing

    # -- matches ----------------------------------------------------------------------------------

    async def listings_for_demand(
        self, principal: Principal, demand_id: uuid.UUID, *, relax: frozenset[Constraint], limit: int
    ) -> tuple[Demand, list[ListingMatch], dict[str, MatchFeedback]]:
        """Published listings recommended for a demand (dismissed ones left out), with feedback so far."""
        demand = await self._demand_for_reader(principal, demand_id)
        return (demand, *await self._listings_for(demand, relax=relax, limit=limit))

    async def _listings_for(
        self, demand: Demand, *, relax: frozenset[Constraint], limit: int
    ) -> tuple[list[ListingMatch], dict[str, MatchFeedback]]:
        feedback = await self.repo.feedback_for_demand(demand.id)
        dismissed = [lid for lid, f in feedback.items() if f.verdict == Verdict.not_relevant]
        matches = await Matcher(self.session).listings_for(
            demand_facts_of(demand),
            index=LISTINGS,
            relax=relax,
            limit=limit,
            exclude_ids=dismissed,
            exclude_holder=str(demand.organization_id),
        )
        return matches, feedback

    async def demands_for_listing(
        self, principal: Principal, listing_id: uuid.UUID, *, relax: frozenset[Constraint], limit: int
    ) -> tuple[Listing, list[DemandMatch], int]:
        """Open demands a listing fits, and how many organisations' saved searches it fits: for its holder only."""
        listing = await self._own_listing(principal, listing_id)
        row = await SearchRepository(self.session).listing(listing.id)
        holder_name = row[1] if row else None
        matches = await Matcher(self.session).demands_for(
            listing_facts_of(listing, holder_name),
            keywords=listing.keywords or (),
            summary=listing.summary or "",
            today=self.today(),
            relax=relax,
            limit=limit,
        )
        return listing, matches, await self.repo.saved_search_organizations(listing.id)

    # -- feedback ---------------------------------------------------------------------------------

    async def give_feedback(
        self, principal: Principal, demand_id: uuid.UUID, listing_id: uuid.UUID, data: FeedbackInput
    ) -> MatchFeedback:
        """Record (or change) the enterprise's verdict on a recommended listing."""
        demand = await self.repo.demand(demand_id)
        if demand is None or demand.organization_id != principal.organization_id:
            raise errors.DemandNotFound()
        listing = await self.repo.listing(listing_id)
        if listing is None or listing.status != ListingStatus.published:
            raise errors.ListingNotFound()
        row = await self.repo.feedback(demand_id, listing_id)
        before = row.verdict if row is not None else None
        if row is None:
            row = MatchFeedback(
                demand_id=demand_id,
                listing_id=listing_id,
                organization_id=demand.organization_id,
                user_id=principal.user_id,
                verdict=data.verdict,
                reason=data.reason,
                note=data.note,
            )
            self.repo.add(row)
        else:
            row.verdict, row.reason, row.note, row.user_id = data.verdict, data.reason, data.note, principal.user_id
            row.updated_at = utcnow()
        await self.repo.flush()
        self.events.audit(
            actor=principal,
            organization_id=demand.organization_id,
            action="match.feedback",
            target_type="demand",
            target_id=demand_id,
            diff={"listing_id": str(listing_id), "verdict": [before, data.verdict.value], "reason": data.reason},
        )
        if data.verdict is Verdict.interested and before != Verdict.interested:
            agencies = await self.repo.agencies_of(demand.organization_id)
            self.events.emit(
                type=MATCH_INTERESTED,
                organization_id=demand.organization_id,
                subject_type="listing",
                subject_id=listing_id,
                payload={
                    "listing_id": listing_id,
                    "demand_id": demand_id,
                    "demand_title": demand.title,
                    "enterprise_organization_id": demand.organization_id,
                    "listing_organization_id": listing.organization_id,
                },
                audience=[listing.organization_id, *agencies],
            )
        return row

    async def interest_in_listing(
        self, principal: Principal, listing_id: uuid.UUID
    ) -> list[tuple[MatchFeedback, Demand, str | None]]:
        """Enterprises interested in a listing (through their demands): for its holder and the platform."""
        listing = await self._own_listing(principal, listing_id)
        return await self.repo.interest_in_listing(listing.id)

    # -- saved searches ---------------------------------------------------------------------------

    def _check_saver(self, principal: Principal) -> None:
        if principal.organization_kind not in (OrganizationKind.enterprise, OrganizationKind.broker_agency):
            raise errors.SavedSearchesNotAllowed("saved searches are kept by enterprises and broker agencies")

    @staticmethod
    def _check_ranges(values: dict[str, Any]) -> None:
        lo, hi = values.get("trl_min"), values.get("trl_max")
        if lo is not None and hi is not None and lo > hi:
            raise InvalidInput.field("/trl_min", "must not be greater than trl_max")
        lo, hi = values.get("price_min_fen"), values.get("price_max_fen")
        if lo is not None and hi is not None and lo > hi:
            raise InvalidInput.field("/price_min_fen", "must not be greater than price_max_fen")

    @staticmethod
    def _region_prefix(region: str | None) -> str | None:
        if region is None:
            return None
        prefix = region
        while len(prefix) > 2 and prefix.endswith("00"):
            prefix = prefix[:-2]
        return prefix

    async def saved_searches(self, principal: Principal) -> list[SavedSearch]:
        """The caller's organisation's saved searches."""
        return await self.repo.saved_searches_of(principal.organization_id)

    async def saved_search(self, principal: Principal, search_id: uuid.UUID) -> SavedSearch:
        """One of the caller's organisation's saved searches."""
        row = await self.repo.saved_search(search_id)
        if row is None or row.organization_id != principal.organization_id:
            raise errors.SavedSearchNotFound()
        return row

    async def create_saved_search(self, principal: Principal, data: SavedSearchCreate) -> SavedSearch:
        """Keep a search (its text analysed once, for fan-out)."""
        self._check_saver(principal)
        values = data.model_dump()
        self._check_ranges(values)
        if await self.repo.count_saved_searches(principal.organization_id) >= MAX_SAVED_SEARCHES:
            raise errors.TooManySavedSearches(f"an organisation keeps at most {MAX_SAVED_SEARCHES} saved searches")
        row = SavedSearch(
            organization_id=principal.organization_id,
            user_id=principal.user_id,
            name=data.name,
            query=data.q,
            field_codes=list(data.field_codes),
            trl_min=data.trl_min,
            trl_max=data.trl_max,
            trade_modes=[m.value for m in data.trade_modes],
            ip_types=[t.value for t in data.ip_types],
            price_min_fen=data.price_min_fen,
            price_max_fen=data.price_max_fen,
            region_prefix=self._region_prefix(data.region),
            notify=data.notify,
        )
        self.repo.add(row)
        await self.repo.flush()
        await self.repo.set_match_query(row.id, every_word_tsquery(data.q))
        self.events.audit(
            actor=principal,
            organization_id=principal.organization_id,
            action="saved_search.created",
            target_type="saved_search",
            target_id=row.id,
            diff={"name": data.name, "q": data.q},
        )
        return row

    async def update_saved_search(
        self, principal: Principal, search_id: uuid.UUID, data: SavedSearchUpdate
    ) -> SavedSearch:
        """Change a saved search."""
        row = await self.saved_search(principal, search_id)
        changes = data.model_dump(exclude_unset=True)
        for key in ("name", "q", "field_codes", "trade_modes", "ip_types", "notify"):
            if key in changes and changes[key] is None:
                raise InvalidInput.field(f"/{key}", "may be changed but not cleared to null")
        merged = {
            "trl_min": changes.get("trl_min", row.trl_min),
            "trl_max": changes.get("trl_max", row.trl_max),
            "price_min_fen": changes.get("price_min_fen", row.price_min_fen),
            "price_max_fen": changes.get("price_max_fen", row.price_max_fen),
        }
        self._check_ranges(merged)
        if "name" in changes:
            row.name = changes["name"]
        if "q" in changes:
            row.query = changes["q"]
        if "field_codes" in changes:
            row.field_codes = list(changes["field_codes"])
        if "trade_modes" in changes:
            row.trade_modes = [str(m) for m in changes["trade_modes"]]
        if "ip_types" in changes:
            row.ip_types = [str(t) for t in changes["ip_types"]]
        for key in ("trl_min", "trl_max", "price_min_fen", "price_max_fen", "notify"):
            if key in changes:
                setattr(row, key, changes[key])
        if "region" in changes:
            row.region_prefix = self._region_prefix(changes["region"])
        row.updated_at = utcnow()
        await self.repo.flush()
        if "q" in changes:
            await self.repo.set_match_query(row.id, every_word_tsquery(row.query))
        self.events.audit(
            actor=principal,
            organization_id=principal.organization_id,
            action="saved_search.updated",
            target_type="saved_search",
            target_id=row.id,
            diff={k: str(v) for k, v in changes.items()},
        )
        return row

    async def delete_saved_search(self, principal: Principal, search_id: uuid.UUID) -> None:
        """Forget a saved search."""
        row = await self.saved_search(principal, search_id)
        await self.repo.delete(row)
        self.events.audit(
            actor=principal,
            organization_id=principal.organization_id,
            action="saved_search.deleted",
            target_type="saved_search",
            target_id=search_id,
        )

    # -- broker clients and pipeline --------------------------------------------------------------

    async def name_broker(self, principal: Principal, agency_id: uuid.UUID) -> BrokerClient:
        """An enterprise names a broker agency to act for it."""
        if principal.organization_kind is not OrganizationKind.enterprise:
            raise errors.NotAnEnterprise("enterprises name the broker agencies acting for them")
        if not await self.repo.is_agency(agency_id):
            raise InvalidInput.field("/agency_organization_id", "no broker agency with this id")
        if await self.repo.broker_client_pair(principal.organization_id, agency_id) is not None:
            raise errors.BrokerClientExists("this broker agency acts for you already")
        row = BrokerClient(
            enterprise_organization_id=principal.organization_id,
            agency_organization_id=agency_id,
            created_by_user_id=principal.user_id,
        )
        self.repo.add(row)
        await self.repo.flush()
        self.events.audit(
            actor=principal,
            organization_id=principal.organization_id,
            action="broker_client.created",
            target_type="broker_client",
            target_id=row.id,
            diff={"agency_organization_id": str(agency_id)},
        )
        return row

    async def broker_clients(self, principal: Principal) -> list[tuple[BrokerClient, str, str]]:
        """Relations the caller's organisation is on either side of."""
        return await self.repo.broker_clients_of(principal.organization_id)

    async def broker_client(self, principal: Principal, client_id: uuid.UUID) -> tuple[BrokerClient, str, str]:
        """One relation the caller's organisation is on."""
        for row in await self.repo.broker_clients_of(principal.organization_id):
            if row[0].id == client_id:
                return row
        raise errors.BrokerClientNotFound()

    async def end_broker_client(self, principal: Principal, client_id: uuid.UUID) -> None:
        """Either side ends the relation."""
        row, _, _ = await self.broker_client(principal, client_id)
        await self.repo.delete(row)
        self.events.audit(
            actor=principal,
            organization_id=principal.organization_id,
            action="broker_client.deleted",
            target_type="broker_client",
            target_id=client_id,
        )

    async def pipeline(
        self, principal: Principal, *, per_demand: int
    ) -> list[tuple[Demand, list[ListingMatch], dict[str, MatchFeedback]]]:
        """For each open demand of the enterprises the agency acts for: its top matches."""
        if principal.organization_kind is not OrganizationKind.broker_agency:
            return []  # only broker agencies act for clients
        clients = await self.repo.represented_enterprises(principal.organization_id)
        demands = await self.repo.open_demands_of(clients, today=self.today())
        out = []
        for demand in demands[:PIPELINE_DEMANDS]:
            matches, feedback = await self._listings_for(demand, relax=frozenset(), limit=per_demand)
            out.append((demand, matches, feedback))
        return out

    async def introduction_target(self, principal: Principal, demand_id: uuid.UUID, listing_id: uuid.UUID) -> Demand:
        """Check a broker may introduce this listing for this client demand; the demand."""
        if principal.organization_kind is not OrganizationKind.broker_agency:
            raise errors.NotABrokerAgency("introductions are made by broker agencies")
        demand = await self._demand_for_reader(principal, demand_id)
        if effective_status(demand, self.today()) is not DemandStatus.open:
            raise InvalidInput.field("/demand_id", "the demand is not open")
        listing = await self.repo.listing(listing_id)
        if listing is None or listing.status != ListingStatus.published:
            raise InvalidInput.field("/listing_id", "no published listing with this id")
        return demand

    # -- profiles and fan-out (worker) ------------------------------------------------------------

    async def refresh_profile(self, demand_id: uuid.UUID) -> bool:
        """Keep a demand's match profile in step (open demands only); whether it has one now."""
        demand = await self.repo.demand(demand_id)
        if demand is None or effective_status(demand, self.today()) is not DemandStatus.open:
            await self.repo.delete_profile(demand_id)
            return False
        tsq = demand_profile_tsquery(demand.title)
        if tsq is None:
            await self.repo.delete_profile(demand_id)
            return False
        parents = sorted({c.split(".", 1)[0] for c in demand.field_codes or ()})
        await self.repo.upsert_profile(demand.id, tsq, parents)
        return True

    async def fan_out(self, listing_id: uuid.UUID) -> FannedOut:
        """Announce a published listing to every saved search and open demand it newly fits (once per pair)."""
        row = await SearchRepository(self.session).listing(listing_id)
        if row is None or row[0].status != ListingStatus.published or row[0].published_at is None:
            return FannedOut(listing_id, 0, 0)
        listing, holder_name, ip_types = row
        doc = listing_document(listing, holder_name=holder_name, ip_types=ip_types)
        # The listing's tokens as the search index holds them (computed here, so the order of the
        # indexing job and this one does not matter).
        prepared = PostgresSearchBackend(self.session).prepare(LISTINGS, [doc])
        low, high = doc.price_range
        facts = {
            "tsv": prepared.rows[0]["tsv"],
            "holder": listing.organization_id,
            "fields": list(doc.expanded_field_codes),
            "trl": listing.trl,
            "modes": list(doc.trade_modes),
            "ip_types": list(doc.ip_types),
            "price_min": low,
            "price_max": high,
            "regions": list(doc.region_prefixes),
        }
        found = await self.repo.fan_out(listing_id=listing.id, facts=facts, today=self.today())
        pairs = 0
        for organization_id, targets in found:
            pairs += len(targets)
            self.events.emit(
                type=MATCH_FOUND,
                organization_id=organization_id,
                subject_type="listing",
                subject_id=listing.id,
                payload={
                    "listing_id": listing.id,
                    "listing_title": listing.title_zh,
                    "listing_organization_id": listing.organization_id,
                    "demand_ids": [t for kind, t in targets if kind == "demand"],
                    "saved_search_ids": [t for kind, t in targets if kind == "saved_search"],
                },
            )
        return FannedOut(listing.id, len(found), pairs)

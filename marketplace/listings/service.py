"""The rules of the listings domain: ownership, lifecycle, revisions, NDAs, attachments, watches, bulk import."""

from __future__ import annotations

import asyncio
import enum
import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts.models import OrganizationKind
from marketplace.accounts.principal import Principal
from marketplace.events.service import EventRecorder, diff_of
from marketplace.kit.errors import FieldProblem, InvalidInput
from marketplace.kit.etag import check_if_match
from marketplace.kit.ids import uuid7
from marketplace.kit.time import utcnow
from marketplace.kit.uow import after_rollback
from marketplace.listings import bulk, errors
from marketplace.listings.attachments import (
    ATTACHMENT_MAX_BYTES,
    MAX_ATTACHMENTS_PER_LISTING,
    clean_filename,
    inspect_file,
)
from marketplace.listings.models import (
    ACTIVE_STATUSES,
    PATENT_TYPES,
    IPLegalStatus,
    Listing,
    ListingAttachment,
    ListingIPAsset,
    ListingRevision,
    ListingStatus,
    ListingWatch,
    NdaAcceptance,
    RevisionStatus,
)
from marketplace.listings.repository import ListingFilters, ListingsRepository
from marketplace.listings.schemas import AMOUNT_FIELDS, IPAssetInput, ListingCreate, ListingUpdate, PricingInput
from marketplace.storage import Storage, StoredObjectMissing

OWNER_KINDS = frozenset({OrganizationKind.institute, OrganizationKind.enterprise})
# Facts the public sees: on a published listing, changes to these wait for the platform's review.
PUBLIC_FACTS = (
    "title_zh",
    "title_en",
    "summary",
    "description",
    "keywords",
    "field_codes",
    "trl",
    "achievement_type",
    "inventors",
    "ip_assets",
    "trade_modes",
    "pricing",
    "region_code",
    "holder_state_funded",
)
# Changed directly, even on a published listing.
DIRECT_FIELDS = ("contact_name", "contact_phone", "contact_email", "confidential_description", "nda_text")
EDITABLE_FIELDS = PUBLIC_FACTS + DIRECT_FIELDS
NOT_NULL_FIELDS = frozenset(
    {
        "title_zh",
        "field_codes",
        "trl",
        "achievement_type",
        "trade_modes",
        "pricing",
        "region_code",
        "holder_state_funded",
        "keywords",
        "inventors",
        "ip_assets",
    }
)
# Never written into audit diffs or event payloads.
CONFIDENTIAL_FIELDS = frozenset({"confidential_description"})
COPY_CHUNK = 2000


class Access(enum.IntEnum):
    """How much of a listing a caller may see."""

    public = 1
    confidential = 2
    full = 3


@dataclass(frozen=True, slots=True)
class ListingBundle:
    """A listing with what its read needs, and how much of it the caller may see."""

    listing: Listing
    assets: Sequence[ListingIPAsset]
    access: Access
    pending_revision: ListingRevision | None
    has_confidential: bool


@dataclass(frozen=True, slots=True)
class ImportOwner:
    """Whose listings an import creates, and who is doing it."""

    organization_id: uuid.UUID
    kind: OrganizationKind
    verified: bool
    actor: Principal | None = None


ProgressCallback = Callable[[str, int, int], None]


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _pricing_of(listing: Listing) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": str(listing.pricing_kind)}
    for name in AMOUNT_FIELDS:
        out[name] = getattr(listing, name)
    return out


def _asset_json(asset: ListingIPAsset) -> dict[str, Any]:
    return {
        "type": str(asset.type),
        "number": asset.number,
        "title": asset.title,
        "holder": asset.holder,
        "filing_date": _jsonable(asset.filing_date),
        "grant_date": _jsonable(asset.grant_date),
        "expiry_date": _jsonable(asset.expiry_date),
        "legal_status": str(asset.legal_status),
    }


def snapshot(listing: Listing, assets: Iterable[ListingIPAsset]) -> dict[str, Any]:
    """The editable facts of a listing in JSON form (the shape revisions and diffs use)."""
    out: dict[str, Any] = {}
    for name in EDITABLE_FIELDS:
        if name == "pricing":
            out[name] = _pricing_of(listing)
        elif name == "ip_assets":
            out[name] = [_asset_json(a) for a in assets]
        else:
            out[name] = _jsonable(getattr(listing, name))
    return out


def _redacted(diff: dict[str, Any]) -> dict[str, Any]:
    return {k: (["[redacted]", "[redacted]"] if k in CONFIDENTIAL_FIELDS else v) for k, v in diff.items()}


def _asset_rows(listing_id: uuid.UUID, assets: Sequence[IPAssetInput], *, active: bool) -> list[ListingIPAsset]:
    return [
        ListingIPAsset(
            listing_id=listing_id,
            position=i,
            type=a.type,
            number=a.number,
            title=a.title,
            holder=a.holder,
            filing_date=a.filing_date,
            grant_date=a.grant_date,
            expiry_date=a.expiry_date,
            legal_status=a.legal_status,
            active=active,
        )
        for i, a in enumerate(assets)
    ]


def _granted_patents(assets: Iterable[IPAssetInput | ListingIPAsset]) -> dict[str, int]:
    """Granted patent numbers -> their position in the list."""
    out: dict[str, int] = {}
    for i, a in enumerate(assets):
        if a.number and a.legal_status == IPLegalStatus.granted and a.type in PATENT_TYPES:
            out.setdefault(a.number, i)
    return out


def _listing_columns(listing_id: uuid.UUID, data: ListingCreate) -> dict[str, Any]:
    """The listing table's columns for a validated create."""
    pricing = data.pricing
    values: dict[str, Any] = {
        "id": listing_id,
        "title_zh": data.title_zh,
        "title_en": data.title_en,
        "summary": data.summary,
        "description": data.description,
        "keywords": list(data.keywords),
        "field_codes": list(data.field_codes),
        "trl": data.trl,
        "achievement_type": data.achievement_type.value,
        "inventors": list(data.inventors),
        "trade_modes": [m.value for m in data.trade_modes],
        "pricing_kind": pricing.kind.value,
        "region_code": data.region_code,
        "holder_state_funded": data.holder_state_funded,
        "contact_name": data.contact_name,
        "contact_phone": data.contact_phone,
        "contact_email": str(data.contact_email) if data.contact_email else None,
        "confidential_description": data.confidential_description,
        "nda_text": data.nda_text,
        "nda_version": 1 if data.nda_text else 0,
    }
    for name in AMOUNT_FIELDS:
        values[name] = getattr(pricing, name)
    return values


def import_rows(
    owner: ImportOwner, rows: Sequence[ListingCreate], *, status: ListingStatus
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Table rows (listings, IP assets) for validated imports, ready for a bulk load."""
    now = utcnow()
    active = status in ACTIVE_STATUSES
    user_id = owner.actor.user_id if owner.actor else None
    listing_rows: list[dict[str, Any]] = []
    asset_rows: list[dict[str, Any]] = []
    # UUIDv7s made in the same millisecond are not ordered; sorting keeps the file's order as id order.
    ids = sorted(uuid7() for _ in rows)
    for listing_id, data in zip(ids, rows, strict=True):
        values = _listing_columns(listing_id, data)
        values.update(
            organization_id=owner.organization_id,
            created_by_user_id=user_id,
            status=status.value,
            version=1,
            created_at=now,
            updated_at=now,
            submitted_at=now if status == ListingStatus.submitted else None,
        )
        listing_rows.append(values)
        for i, a in enumerate(data.ip_assets):
            asset_rows.append(
                {
                    "id": uuid7(),
                    "listing_id": listing_id,
                    "position": i,
                    "type": a.type.value,
                    "number": a.number,
                    "title": a.title,
                    "holder": a.holder,
                    "filing_date": a.filing_date,
                    "grant_date": a.grant_date,
                    "expiry_date": a.expiry_date,
                    "legal_status": a.legal_status.value,
                    "active": active,
                }
            )
    return listing_rows, asset_rows


class ListingsService:
    """Listings: create, read by access tier, edit (directly or through review), lifecycle, NDAs, files, watches."""

    def __init__(self, session: AsyncSession) -> None:
        self.repo = ListingsRepository(session)
        self.events = EventRecorder(session)

    # reading

    async def _access(self, principal: Principal | None, listing: Listing) -> Access | None:
        """What the caller may see of a listing (None: not even that it exists)."""
        if principal is not None and (principal.is_platform or principal.organization_id == listing.organization_id):
            return Access.full
        if listing.status != ListingStatus.published:
            return None
        if (
            principal is not None
            and listing.nda_text
            and listing.nda_version > 0
            and await self.repo.has_accepted_nda(listing.id, principal.organization_id, listing.nda_version)
        ):
            return Access.confidential
        return Access.public

    async def _bundle(self, listing: Listing, access: Access) -> ListingBundle:
        assets = await self.repo.assets_of(listing.id)
        revision = await self.repo.pending_revision(listing.id) if access is Access.full else None
        has_confidential = bool(listing.confidential_description) or await self.repo.has_confidential_attachments(
            listing.id
        )
        return ListingBundle(listing, assets, access, revision, has_confidential)

    async def _visible(self, principal: Principal | None, listing_id: uuid.UUID) -> tuple[Listing, Access]:
        listing = await self.repo.get(listing_id)
        if listing is None:
            raise errors.ListingNotFound()
        access = await self._access(principal, listing)
        if access is None:
            raise errors.ListingNotFound()
        return listing, access

    async def get(self, principal: Principal | None, listing_id: uuid.UUID) -> ListingBundle:
        """A listing as the caller may see it (404 when they may not see it at all)."""
        listing, access = await self._visible(principal, listing_id)
        return await self._bundle(listing, access)

    async def browse(
        self, filters: ListingFilters, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> Sequence[Listing]:
        """Published listings, filtered, newest first."""
        return await self.repo.list_published(filters, after=after, limit=limit)

    async def list_own(
        self, principal: Principal, *, status: ListingStatus | None, after: uuid.UUID | None, limit: int
    ) -> Sequence[Listing]:
        """The caller's organisation's listings in any state."""
        return await self.repo.list_for_organization(principal.organization_id, status=status, after=after, limit=limit)

    async def review_queue(
        self, *, status: ListingStatus | None, pending_revision: bool, after: uuid.UUID | None, limit: int
    ) -> Sequence[Listing]:
        """What the platform has to look at."""
        return await self.repo.list_for_review(
            status=status, pending_revision=pending_revision, after=after, limit=limit
        )

    # writing

    async def create(self, principal: Principal, data: ListingCreate) -> ListingBundle:
        """A new draft listing of the caller's organisation."""
        if principal.organization_kind not in OWNER_KINDS:
            raise errors.ListingOwnerKindNotAllowed("only institutes and enterprises hold listings")
        listing = Listing(
            **_listing_columns(uuid7(), data),
            organization_id=principal.organization_id,
            created_by_user_id=principal.user_id,
            status=ListingStatus.draft,
        )
        await self.repo.add(listing)
        assets = _asset_rows(listing.id, data.ip_assets, active=False)
        if assets:
            await self.repo.replace_assets(listing.id, assets)
        self._record(
            principal,
            listing,
            "listing.created",
            diff={"status": [None, listing.status], "title_zh": [None, listing.title_zh]},
        )
        return await self._bundle(listing, Access.full)

    async def _owned_for_update(self, principal: Principal, listing_id: uuid.UUID) -> Listing:
        listing = await self.repo.get_for_update(listing_id)
        if listing is None:
            raise errors.ListingNotFound()
        if listing.organization_id != principal.organization_id:
            if principal.is_platform or listing.status == ListingStatus.published:
                raise errors.NotListingOwner("only the listing's own organisation may change it")
            raise errors.ListingNotFound()
        return listing

    async def _for_review(self, listing_id: uuid.UUID) -> Listing:
        listing = await self.repo.get_for_update(listing_id)
        if listing is None:
            raise errors.ListingNotFound()
        return listing

    async def update(
        self, principal: Principal, listing_id: uuid.UUID, data: ListingUpdate, *, if_match: str | None
    ) -> ListingBundle:
        """Change a listing; on a published one, public facts become a revision for the platform to review."""
        listing = await self._owned_for_update(principal, listing_id)
        check_if_match(if_match, current=listing.version)
        if listing.status in (ListingStatus.withdrawn, ListingStatus.closed):
            raise errors.ListingNotEditable(f"a {listing.status} listing cannot be changed")
        fields = set(data.model_fields_set)
        for name in sorted(fields & NOT_NULL_FIELDS):
            if getattr(data, name) is None:
                raise InvalidInput.field(f"/{name}", "cannot be null")
        if listing.status == ListingStatus.published:
            direct = fields & set(DIRECT_FIELDS)
            proposed = fields & set(PUBLIC_FACTS)
        else:
            direct, proposed = fields, set()
        assets = await self.repo.assets_of(listing.id)
        before = snapshot(listing, assets)
        changed = await self._apply(listing, data, direct, current_assets=assets)
        revision = None
        revision_changed = False
        if proposed:
            revision, revision_changed = await self._propose(principal, listing, data, proposed, before)
        if not changed and not revision_changed:
            return await self._bundle(listing, Access.full)
        listing.version += 1
        await self.repo.flush()
        if changed:
            after = snapshot(listing, await self.repo.assets_of(listing.id))
            diff = _redacted(diff_of({k: before[k] for k in changed}, {k: after[k] for k in changed}))
            self._record(principal, listing, "listing.updated", diff=diff, payload={"fields": sorted(changed)})
        if revision_changed and revision is not None and revision.status == RevisionStatus.cancelled:
            self.events.audit(
                actor=principal,
                organization_id=listing.organization_id,
                action="listing.revision_cancelled",
                target_type="listing",
                target_id=listing.id,
                diff={"revision": [str(revision.id), None]},
            )
        elif revision_changed and revision is not None:
            self._record(
                principal,
                listing,
                "listing.revision_proposed",
                diff={"revision": [None, str(revision.id)], "fields": [None, sorted(revision.changes)]},
                payload={"revision_id": revision.id, "fields": sorted(revision.changes)},
            )
        return await self._bundle(listing, Access.full)

    async def _apply(
        self,
        listing: Listing,
        data: ListingUpdate,
        fields: Collection[str],
        *,
        current_assets: Sequence[ListingIPAsset],
    ) -> set[str]:
        """Write the given fields of data onto the listing; return the names that really changed."""
        before = snapshot(listing, current_assets)
        changed: set[str] = set()
        for name in fields:
            value = getattr(data, name)
            if name == "pricing":
                pricing: PricingInput = value
                listing.pricing_kind = pricing.kind.value  # type: ignore[assignment]
                for amount in AMOUNT_FIELDS:
                    setattr(listing, amount, getattr(pricing, amount))
            elif name == "ip_assets":
                if _jsonable([a.model_dump() for a in value]) != before["ip_assets"]:
                    await self._replace_assets(listing, value)
                    changed.add(name)
                continue
            elif name == "nda_text":
                if value != listing.nda_text:
                    listing.nda_text = value
                    listing.nda_version += 1  # everyone re-accepts a changed NDA
            elif name in ("trade_modes", "achievement_type"):
                setattr(listing, name, _jsonable(value))
            elif name == "contact_email":
                listing.contact_email = str(value) if value is not None else None
            else:
                setattr(listing, name, value)
            if _jsonable(snapshot(listing, [])[name]) != before[name]:
                changed.add(name)
        return changed

    async def _replace_assets(self, listing: Listing, assets: Sequence[IPAssetInput]) -> None:
        active = listing.status in ACTIVE_STATUSES
        if active:
            await self._check_patents_free(listing.id, assets)
        await self.repo.replace_assets(listing.id, _asset_rows(listing.id, assets, active=active))

    async def _check_patents_free(
        self, listing_id: uuid.UUID, assets: Sequence[IPAssetInput | ListingIPAsset], *, pointer: str = "/ip_assets"
    ) -> None:
        granted = _granted_patents(assets)
        taken = await self.repo.active_patent_numbers(granted, exclude_listing_id=listing_id)
        if taken:
            raise errors.PatentAlreadyListed(
                f"already on another active listing: {', '.join(sorted(taken))}",
                errors=[
                    FieldProblem(detail="already on another active listing", pointer=f"{pointer}/{granted[n]}/number")
                    for n in sorted(taken)
                ],
            )

    async def _propose(
        self,
        principal: Principal,
        listing: Listing,
        data: ListingUpdate,
        fields: Collection[str],
        current: dict[str, Any],
    ) -> tuple[ListingRevision | None, bool]:
        """Merge proposed public-fact changes into the pending revision; return it and whether it changed."""
        proposed = data.model_dump(mode="json", include=set(fields))
        if "ip_assets" in proposed:
            await self._check_patents_free(listing.id, data.ip_assets or [])
        revision = await self.repo.pending_revision(listing.id)
        merged = {**(revision.changes if revision else {}), **proposed}
        merged = {k: v for k, v in merged.items() if v != current.get(k)}
        if revision is None:
            if not merged:
                return None, False
            revision = ListingRevision(listing_id=listing.id, changes=merged, proposed_by_user_id=principal.user_id)
            await self.repo.add(revision)
            return revision, True
        if merged == revision.changes:
            return revision, False
        if not merged:  # the owner took every proposed change back
            revision.status = RevisionStatus.cancelled
            revision.decided_at = utcnow()
        revision.changes = merged
        revision.proposed_by_user_id = principal.user_id
        await self.repo.flush()
        return revision, True

    # lifecycle

    async def submit(self, principal: Principal, listing_id: uuid.UUID, *, if_match: str | None) -> ListingBundle:
        """Send a draft (or a rejected or withdrawn listing) to the platform for review."""
        listing = await self._owned_for_update(principal, listing_id)
        check_if_match(if_match, current=listing.version)
        if listing.status not in (ListingStatus.draft, ListingStatus.rejected, ListingStatus.withdrawn):
            raise errors.ListingNotSubmittable(f"a {listing.status} listing cannot be submitted")
        if not principal.organization_verified:
            raise errors.OrganizationNotVerified(
                "the platform verifies an organisation before its listings go to review"
            )
        assets = await self.repo.assets_of(listing.id)
        await self._check_patents_free(listing.id, assets)
        await self.repo.set_assets_active(listing.id, active=True)
        before = listing.status
        listing.status = ListingStatus.submitted
        listing.submitted_at = utcnow()
        listing.review_note = None
        return await self._transitioned(principal, listing, before, "listing.submitted")

    async def approve(self, principal: Principal, listing_id: uuid.UUID, *, if_match: str | None) -> ListingBundle:
        """The platform publishes a submitted listing."""
        listing = await self._for_review(listing_id)
        check_if_match(if_match, current=listing.version)
        if listing.status != ListingStatus.submitted:
            raise errors.ListingNotUnderReview(f"the listing is {listing.status}, not submitted")
        before = listing.status
        listing.status = ListingStatus.published
        listing.published_at = utcnow()
        listing.review_note = None
        return await self._transitioned(principal, listing, before, "listing.published")

    async def reject(
        self, principal: Principal, listing_id: uuid.UUID, *, reason: str, if_match: str | None
    ) -> ListingBundle:
        """The platform sends a submitted listing back with its reason."""
        listing = await self._for_review(listing_id)
        check_if_match(if_match, current=listing.version)
        if listing.status != ListingStatus.submitted:
            raise errors.ListingNotUnderReview(f"the listing is {listing.status}, not submitted")
        await self.repo.set_assets_active(listing.id, active=False)
        before = listing.status
        listing.status = ListingStatus.rejected
        listing.review_note = reason
        return await self._transitioned(principal, listing, before, "listing.rejected", extra={"reason": reason})

    async def withdraw(self, principal: Principal, listing_id: uuid.UUID, *, if_match: str | None) -> ListingBundle:
        """The owner takes a submitted or published listing off the market (it can be submitted again)."""
        listing = await self._owned_for_update(principal, listing_id)
        check_if_match(if_match, current=listing.version)
        if listing.status not in ACTIVE_STATUSES:
            raise errors.ListingNotWithdrawable(f"a {listing.status} listing cannot be withdrawn")
        await self.repo.set_assets_active(listing.id, active=False)
        await self._cancel_revision(listing)
        before = listing.status
        listing.status = ListingStatus.withdrawn
        listing.withdrawn_at = utcnow()
        return await self._transitioned(principal, listing, before, "listing.withdrawn")

    async def close(self, principal: Principal, listing_id: uuid.UUID, *, if_match: str | None) -> ListingBundle:
        """The owner closes a listing for good."""
        listing = await self._owned_for_update(principal, listing_id)
        check_if_match(if_match, current=listing.version)
        if listing.status == ListingStatus.closed:
            raise errors.ListingAlreadyClosed()
        await self.repo.set_assets_active(listing.id, active=False)
        await self._cancel_revision(listing)
        before = listing.status
        listing.status = ListingStatus.closed
        listing.closed_at = utcnow()
        return await self._transitioned(principal, listing, before, "listing.closed")

    async def _cancel_revision(self, listing: Listing) -> None:
        revision = await self.repo.pending_revision(listing.id)
        if revision is not None:
            revision.status = RevisionStatus.cancelled
            revision.decided_at = utcnow()

    async def _transitioned(
        self,
        principal: Principal,
        listing: Listing,
        before: str,
        event: str,
        *,
        extra: dict[str, Any] | None = None,
    ) -> ListingBundle:
        listing.version += 1
        await self.repo.flush()
        diff: dict[str, Any] = {"status": [before, listing.status]}
        if extra:
            diff.update({k: [None, v] for k, v in extra.items()})
        self._record(principal, listing, event, diff=diff, payload=extra)
        return await self._bundle(listing, Access.full)

    async def approve_revision(
        self, principal: Principal, listing_id: uuid.UUID, *, if_match: str | None
    ) -> ListingBundle:
        """The platform accepts the pending changes of a published listing."""
        listing = await self._for_review(listing_id)
        check_if_match(if_match, current=listing.version)
        revision = await self.repo.pending_revision(listing.id)
        if revision is None:
            raise errors.NoPendingRevision()
        data = ListingUpdate.model_validate(revision.changes)
        if "ip_assets" in revision.changes:
            await self._check_patents_free(listing.id, data.ip_assets or [])
        assets = await self.repo.assets_of(listing.id)
        before = snapshot(listing, assets)
        changed = await self._apply(listing, data, set(revision.changes), current_assets=assets)
        revision.status = RevisionStatus.approved
        revision.decided_at = utcnow()
        revision.decided_by_user_id = principal.user_id
        listing.version += 1
        await self.repo.flush()
        after = snapshot(listing, await self.repo.assets_of(listing.id))
        diff = _redacted(diff_of({k: before[k] for k in changed}, {k: after[k] for k in changed}))
        diff["revision"] = [None, str(revision.id)]
        self._record(
            principal,
            listing,
            "listing.updated",
            diff=diff,
            payload={"fields": sorted(changed), "revision_id": revision.id},
        )
        return await self._bundle(listing, Access.full)

    async def reject_revision(
        self, principal: Principal, listing_id: uuid.UUID, *, reason: str, if_match: str | None
    ) -> ListingBundle:
        """The platform turns the pending changes down; the published version stays."""
        listing = await self._for_review(listing_id)
        check_if_match(if_match, current=listing.version)
        revision = await self.repo.pending_revision(listing.id)
        if revision is None:
            raise errors.NoPendingRevision()
        revision.status = RevisionStatus.rejected
        revision.reason = reason
        revision.decided_at = utcnow()
        revision.decided_by_user_id = principal.user_id
        listing.version += 1
        await self.repo.flush()
        self._record(
            principal,
            listing,
            "listing.revision_rejected",
            diff={"revision": [None, str(revision.id)], "reason": [None, reason]},
            payload={"revision_id": revision.id, "reason": reason},
        )
        return await self._bundle(listing, Access.full)

    # NDA

    async def accept_nda(self, principal: Principal, listing_id: uuid.UUID, *, nda_version: int) -> NdaAcceptance:
        """The caller's organisation accepts the listing's current NDA."""
        listing, _access = await self._visible(principal, listing_id)
        if listing.organization_id == principal.organization_id:
            raise errors.NdaNotOffered("an organisation does not sign its own listing's NDA")
        if not listing.nda_text or listing.nda_version < 1:
            raise errors.NdaNotOffered("this listing offers no NDA")
        if nda_version != listing.nda_version:
            raise errors.NdaVersionMismatch(
                f"the NDA is now at version {listing.nda_version}; read it again before accepting",
                errors=[FieldProblem(detail=f"current version is {listing.nda_version}", pointer="/nda_version")],
                extra={"current_nda_version": listing.nda_version},
            )
        acceptance, created = await self.repo.accept_nda(
            listing_id=listing.id, org_id=principal.organization_id, user_id=principal.user_id, version=nda_version
        )
        if created:
            self.events.audit(
                actor=principal,
                organization_id=listing.organization_id,
                action="listing.nda_accepted",
                target_type="listing",
                target_id=listing.id,
                diff={"organization_id": [None, str(principal.organization_id)], "nda_version": [None, nda_version]},
            )
            self.events.emit(
                type="listing.nda_accepted",
                organization_id=listing.organization_id,
                subject_type="listing",
                subject_id=listing.id,
                payload={"id": listing.id, "accepted_by": principal.organization_id, "nda_version": nda_version},
                audience=[principal.organization_id],
            )
        return acceptance

    async def list_nda_acceptances(
        self, principal: Principal, listing_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
    ) -> Sequence[NdaAcceptance]:
        """Who accepted the NDA: for the owning organisation and the platform."""
        listing, access = await self._visible(principal, listing_id)
        if access is not Access.full:
            raise errors.NotListingOwner("only the listing's organisation sees who accepted its NDA")
        return await self.repo.list_nda_acceptances(listing.id, after=after, limit=limit)

    # attachments

    async def add_attachment(
        self,
        principal: Principal,
        listing_id: uuid.UUID,
        *,
        filename: str | None,
        content: IO[bytes],
        confidential: bool,
        storage: Storage,
    ) -> ListingAttachment:
        """Store a file for a listing after checking what it really is (read in chunks, never whole)."""
        listing = await self._owned_for_update(principal, listing_id)
        if listing.status in (ListingStatus.withdrawn, ListingStatus.closed):
            raise errors.ListingNotEditable(f"a {listing.status} listing takes no new files")
        facts = await asyncio.to_thread(inspect_file, content)
        if facts.size > ATTACHMENT_MAX_BYTES:
            raise errors.AttachmentTooLarge(f"attachments may be at most {ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB")
        if not facts.size:
            raise InvalidInput.field("/file", "the file is empty")
        kind = facts.kind
        if kind is None:
            raise errors.UnsupportedAttachmentType(
                "accepted are PDF, PNG, JPEG, DOCX, XLSX, PPTX, DOC and XLS (judged by content, not name)",
                errors=[FieldProblem(detail="not an accepted file type", pointer="/file")],
            )
        if await self.repo.count_attachments(listing.id) >= MAX_ATTACHMENTS_PER_LISTING:
            raise errors.TooManyAttachments(f"a listing holds at most {MAX_ATTACHMENTS_PER_LISTING} files")
        attachment = ListingAttachment(
            listing_id=listing.id,
            filename=clean_filename(filename, kind),
            content_type=kind.media_type,
            size_bytes=facts.size,
            sha256=facts.sha256,
            confidential=confidential,
            storage_key="",
            uploaded_by_user_id=principal.user_id,
        )
        attachment.storage_key = f"listings/{listing.id}/{attachment.id}"
        await storage.put_file(attachment.storage_key, content, content_type=kind.media_type)
        stored_key = attachment.storage_key
        after_rollback(self.repo.session, lambda: storage.delete(stored_key))  # no orphan file if this fails later
        await self.repo.add(attachment)
        self.events.audit(
            actor=principal,
            organization_id=listing.organization_id,
            action="listing.attachment_added",
            target_type="listing",
            target_id=listing.id,
            diff={"attachment": [None, str(attachment.id)], "confidential": [None, confidential]},
        )
        self.events.emit(
            type="listing.attachment_added",
            organization_id=listing.organization_id,
            subject_type="listing",
            subject_id=listing.id,
            payload={"id": listing.id, "attachment_id": attachment.id, "confidential": confidential},
        )
        return attachment

    async def list_attachments(
        self, principal: Principal | None, listing_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
    ) -> Sequence[ListingAttachment]:
        """The files the caller may see: public ones, and confidential ones with NDA access."""
        listing, access = await self._visible(principal, listing_id)
        return await self.repo.list_attachments(
            listing.id, include_confidential=access >= Access.confidential, after=after, limit=limit
        )

    async def read_attachment(
        self, principal: Principal | None, listing_id: uuid.UUID, attachment_id: uuid.UUID, *, storage: Storage
    ) -> tuple[ListingAttachment, bytes]:
        """A file and its bytes, when the caller may see the part of the listing it belongs to."""
        listing, access = await self._visible(principal, listing_id)
        attachment = await self.repo.get_attachment(listing.id, attachment_id)
        if attachment is None or (attachment.confidential and access < Access.confidential):
            raise errors.AttachmentNotFound()
        try:
            content = await storage.get(attachment.storage_key)
        except StoredObjectMissing as exc:
            raise errors.AttachmentNotFound("the file is recorded but its content is missing") from exc
        return attachment, content

    async def delete_attachment(self, principal: Principal, listing_id: uuid.UUID, attachment_id: uuid.UUID) -> str:
        """Remove a file's record; return its storage key (the bytes go once the transaction commits)."""
        listing = await self._owned_for_update(principal, listing_id)
        attachment = await self.repo.get_attachment(listing.id, attachment_id)
        if attachment is None:
            raise errors.AttachmentNotFound()
        key = attachment.storage_key
        await self.repo.delete(attachment)
        self.events.audit(
            actor=principal,
            organization_id=listing.organization_id,
            action="listing.attachment_deleted",
            target_type="listing",
            target_id=listing.id,
            diff={"attachment": [str(attachment_id), None]},
        )
        return key

    # watches

    async def watch(self, principal: Principal, listing_id: uuid.UUID) -> ListingWatch:
        """Add a listing the caller may see to their watchlist (idempotent)."""
        listing, _access = await self._visible(principal, listing_id)
        watch, created = await self.repo.watch(
            user_id=principal.user_id, org_id=principal.organization_id, listing_id=listing.id
        )
        if created:
            self.events.audit(
                actor=principal,
                organization_id=principal.organization_id,
                action="listing.watched",
                target_type="listing",
                target_id=listing.id,
            )
        return watch

    async def unwatch(self, principal: Principal, listing_id: uuid.UUID) -> None:
        """Take a listing off the caller's watchlist (idempotent)."""
        if await self.repo.unwatch(user_id=principal.user_id, listing_id=listing_id):
            self.events.audit(
                actor=principal,
                organization_id=principal.organization_id,
                action="listing.unwatched",
                target_type="listing",
                target_id=listing_id,
            )

    async def watchlist(
        self, principal: Principal, *, after: uuid.UUID | None, limit: int
    ) -> Sequence[tuple[ListingWatch, Listing]]:
        """The caller's watched listings that are still visible to them."""
        return await self.repo.watchlist(
            user_id=principal.user_id, org_id=principal.organization_id, after=after, limit=limit
        )

    # export and import

    async def export(self, principal: Principal, fmt: str) -> str:
        """Every listing of the caller's organisation as CSV or JSON lines (the import format)."""
        listings = await self.repo.all_of_organization(principal.organization_id)
        assets = await self.repo.assets_of_many([li.id for li in listings])
        return bulk.write((bulk.listing_record(li, assets[li.id]) for li in listings), fmt)

    async def import_listings(
        self,
        owner: ImportOwner,
        content: bytes,
        fmt: str,
        *,
        submit: bool = False,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Validate every row, then bulk-load all of them or none; return how many were imported."""
        if owner.kind not in OWNER_KINDS:
            raise errors.ListingOwnerKindNotAllowed("only institutes and enterprises hold listings")
        if submit and not owner.verified:
            raise errors.OrganizationNotVerified(
                "the platform verifies an organisation before its listings go to review"
            )
        parsed = bulk.parse(content, fmt)
        problems: list[bulk.RowProblem] = list(parsed.problems)
        valid: list[tuple[int, ListingCreate]] = []
        total = len(parsed.rows)
        for i, raw in enumerate(parsed.rows, start=1):
            listing, row_problems = bulk.to_listing(raw)
            if listing is None:
                problems.extend(row_problems)
            else:
                valid.append((raw.number, listing))
            if progress is not None and (i % 250 == 0 or i == total):
                progress("validate", i, total)
        if submit:
            problems.extend(await self._import_patent_problems(valid))
        if problems:
            raise self._import_error(problems)
        if not valid:
            raise self._import_error([bulk.RowProblem(0, "file", "the file has no rows")])
        return await self._bulk_insert(owner, [data for _n, data in valid], submit=submit, progress=progress)

    async def _import_patent_problems(self, rows: Sequence[tuple[int, ListingCreate]]) -> list[bulk.RowProblem]:
        """Submitted imports make their patents active: no granted patent twice, in the file or on the market."""
        problems: list[bulk.RowProblem] = []
        first_row: dict[str, int] = {}
        for number, data in rows:
            for patent in _granted_patents(data.ip_assets):
                if patent in first_row:
                    problems.append(
                        bulk.RowProblem(number, "ip_assets", f"{patent} is also in row {first_row[patent]}")
                    )
                else:
                    first_row[patent] = number
        taken = await self.repo.active_patent_numbers(first_row)
        for patent in sorted(taken):
            problems.append(
                bulk.RowProblem(first_row[patent], "ip_assets", f"{patent} is already on an active listing")
            )
        return problems

    @staticmethod
    def _import_error(problems: Sequence[bulk.RowProblem]) -> errors.ImportRejected:
        ordered = sorted(problems, key=lambda p: (p.row, p.field))
        shown = ordered[: bulk.MAX_REPORTED_PROBLEMS]
        rows = sorted({p.row for p in ordered if p.row > 0})
        detail = (
            f"{len(rows)} row(s) have problems; nothing was imported"
            if rows
            else "the file cannot be read; nothing was imported"
        )
        return errors.ImportRejected(
            detail,
            errors=[FieldProblem(detail=p.problem, pointer=f"/rows/{p.row}/{p.field}") for p in shown],
            extra={"rows": [p.as_dict() for p in shown], "problem_count": len(ordered)},
        )

    async def _bulk_insert(
        self,
        owner: ImportOwner,
        rows: Sequence[ListingCreate],
        *,
        submit: bool,
        progress: ProgressCallback | None,
    ) -> int:
        status = ListingStatus.submitted if submit else ListingStatus.draft
        listing_rows, asset_rows = import_rows(owner, rows, status=status)
        await self.insert_rows(listing_rows, asset_rows, progress=progress)
        for values in listing_rows:
            self.events.audit(
                actor=owner.actor,
                organization_id=owner.organization_id,
                action="listing.created",
                target_type="listing",
                target_id=values["id"],
                diff={"status": [None, status.value], "title_zh": [None, values["title_zh"]], "via": [None, "import"]},
            )
            self.events.emit(
                type="listing.created",
                organization_id=owner.organization_id,
                subject_type="listing",
                subject_id=values["id"],
                payload={
                    "id": values["id"],
                    "organization_id": owner.organization_id,
                    "status": status.value,
                    "version": 1,
                    "via": "import",
                },
            )
        await self.repo.flush()
        if progress is not None:
            progress("events", len(listing_rows), len(listing_rows))
        return len(listing_rows)

    async def insert_rows(
        self,
        listing_rows: Sequence[dict[str, Any]],
        asset_rows: Sequence[dict[str, Any]],
        *,
        progress: ProgressCallback | None = None,
    ) -> None:
        """Load listing and asset rows with COPY, in chunks so progress can be shown."""
        listing_table = Listing.__table__  # type: ignore[attr-defined]
        asset_table = ListingIPAsset.__table__  # type: ignore[attr-defined]
        await self.repo.flush()
        total = len(listing_rows)
        for start in range(0, total, COPY_CHUNK):
            chunk = listing_rows[start : start + COPY_CHUNK]
            await self.repo.copy_rows(listing_table, chunk, columns=list(chunk[0]))
            if progress is not None:
                progress("insert", min(start + COPY_CHUNK, total), total)
        if asset_rows:
            await self.repo.copy_rows(asset_table, asset_rows, columns=list(asset_rows[0]))

    # events

    def _record(
        self,
        principal: Principal | None,
        listing: Listing,
        action: str,
        *,
        diff: dict[str, Any],
        payload: dict[str, Any] | None = None,
    ) -> None:
        """Audit and emit one change of a listing, in the current transaction (never with confidential values)."""
        self.events.record_change(
            actor=principal, subject_type="listing", subject=listing, action=action, diff=diff, payload=payload
        )

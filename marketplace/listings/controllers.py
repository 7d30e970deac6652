"""HTTP routes of the listings domain: thin, one service call each."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.datastructures import ResponseHeader
from litestar.enums import RequestEncodingType
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, RequestBody, Schema
from litestar.params import Body, FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from marketplace.kit.errors import FieldProblem, InvalidInput
from marketplace.kit.etag import IfMatchHeader, etag
from marketplace.kit.pagination import (
    CursorParam,
    LimitParam,
    decode_cursor,
    decode_id_cursor,
    encode_cursor,
    page_by_id,
)
from marketplace.kit.uow import after_commit
from marketplace.listings import bulk, errors, views
from marketplace.listings.attachments import ATTACHMENT_MAX_BYTES
from marketplace.listings.models import ListingStatus, PricingKind, TradeMode
from marketplace.listings.repository import ListingFilters
from marketplace.listings.schemas import (
    AttachmentDeleted,
    AttachmentPage,
    AttachmentRead,
    AttachmentUpload,
    ImportResult,
    ListingCreate,
    ListingPage,
    ListingUpdate,
    ListingView,
    NdaAcceptanceCreate,
    NdaAcceptancePage,
    NdaAcceptanceRead,
    RejectionInput,
    Unwatched,
    WatchlistPage,
    WatchRead,
)
from marketplace.listings.service import ImportOwner, ListingBundle, ListingsService
from marketplace.reference.fields import children, get_field
from marketplace.storage import get_storage
from marketplace.web import policy
from marketplace.web.deps import Caller, DbSession, MaybeCaller
from marketplace.web.openapi import created_id_links, errors_for, operation

IMPORT_MAX_BYTES = 64 * 1024 * 1024
_ETAG_HEADER = [ResponseHeader(name="ETag", description='The listing\'s version, e.g. W/"3".', documentation_only=True)]

# The import handler reads the raw body itself, so its body is documented by hand.
IMPORT_BODY = RequestBody(
    required=True,
    description="The file: CSV (UTF-8) or JSON lines, as the body or as the `file` part of a multipart form.",
    content={
        "text/csv": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING)),
        "application/x-ndjson": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING)),
        "multipart/form-data": OpenAPIMediaType(
            schema=Schema(
                type=OpenAPIType.OBJECT,
                required=["file"],
                properties={"file": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)},
            )
        ),
    },
)

ListingId = FromPath[uuid.UUID]
AttachmentId = FromPath[uuid.UUID]


def _etagged(bundle: ListingBundle, *, status_code: int = HTTP_200_OK) -> Response[ListingView]:
    return Response(content=views.view(bundle), status_code=status_code, headers={"ETag": etag(bundle.listing.version)})


def _bad_query(name: str, detail: str) -> errors.InvalidFilter:
    return errors.InvalidFilter(detail, errors=[FieldProblem(detail=detail, parameter=name, location="query")])


def _field_filter(code: str | None) -> list[str] | None:
    """A field code and, for a top-level code, its second-level codes."""
    if code is None:
        return None
    field = get_field(code)
    if field is None:
        raise _bad_query("field_code", f"unknown field code {code!r}")
    return [field.code, *(c.code for c in children(field.code))] if field.is_top_level else [field.code]


def _published_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    values = decode_cursor(cursor)
    if values is None:
        return None
    try:
        return datetime.fromisoformat(str(values[0])), uuid.UUID(str(values[1]))
    except (ValueError, IndexError) as exc:
        raise _bad_query("cursor", "cursor is not one this service issued") from exc


class ListingController(Controller):
    """Technology results (科技成果): create, browse, read, change, lifecycle, NDA, files, watch."""

    path = "/listings"
    tags = ["listings"]  # noqa: RUF012

    @post(
        "/",
        operation_id="createListing",
        operation_class=operation(
            links=created_id_links(
                "listing_id",
                "getListing",
                "updateListing",
                "submitListing",
                "withdrawListing",
                "closeListing",
                "listListingAttachments",
                "listListingNdaAcceptances",
                etag=("updateListing", "submitListing", "withdrawListing", "closeListing"),
            )
        ),
        summary="Create a listing (draft)",
        description="Institutes and enterprises only; the listing starts as a draft of the caller's organisation.",
        status_code=HTTP_201_CREATED,
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 409, 422),
        response_headers=_ETAG_HEADER,
    )
    async def create(
        self, session: DbSession, principal: Caller, data: JSONBody[ListingCreate]
    ) -> Response[ListingView]:
        """Create."""
        bundle = await ListingsService(session).create(principal, data)
        return _etagged(bundle, status_code=HTTP_201_CREATED)

    @get(
        "/",
        operation_id="browseListings",
        summary="Browse published listings",
        description="Anyone, signed in or not. Newest published first; filters combine with AND.",
        opt=policy.PUBLIC.opt(),
        responses=errors_for(400),
    )
    async def browse(
        self,
        session: DbSession,
        field_code: Annotated[
            str | None,
            QueryParameter(max_length=10, description="A field code; a top-level code includes its children."),
        ] = None,
        trl_min: Annotated[int | None, QueryParameter(ge=1, le=9, description="Minimum TRL.")] = None,
        trade_mode: Annotated[TradeMode | None, QueryParameter(description="Offered trade mode.")] = None,
        region: Annotated[
            str | None,
            QueryParameter(pattern=r"^[0-9]{2,6}$", description="Region code prefix, e.g. 44 (province) or 4403."),
        ] = None,
        pricing_kind: Annotated[PricingKind | None, QueryParameter()] = None,
        limit: LimitParam = 20,
        cursor: CursorParam = None,
    ) -> ListingPage:
        """Published listings."""
        filters = ListingFilters(
            field_codes=_field_filter(field_code),
            trl_min=trl_min,
            trade_mode=trade_mode.value if trade_mode else None,
            region_prefix=region,
            pricing_kind=pricing_kind.value if pricing_kind else None,
        )
        rows = await ListingsService(session).browse(filters, after=_published_cursor(cursor), limit=limit)
        items = list(rows[:limit])
        next_cursor = (
            encode_cursor([items[-1].published_at.isoformat(), items[-1].id])
            if len(rows) > limit and items and items[-1].published_at
            else None
        )
        return ListingPage(items=[views.summary(r) for r in items], next_cursor=next_cursor)

    @post(
        "/import",
        operation_id="importListings",
        operation_class=operation(request_body=IMPORT_BODY),
        summary="Import listings from CSV or JSON lines",
        description="Send the file as the body (Content-Type text/csv or application/x-ndjson) or as the `file` "
        "part of a multipart form (type from its content type or extension). Every row is validated; one bad row "
        "means nothing is imported and the 422 problem lists each row, column and problem. Columns: see "
        "docs/import.md.",
        status_code=HTTP_201_CREATED,
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 409, 413, 415, 422),
        request_max_body_size=IMPORT_MAX_BYTES,
    )
    async def import_file(
        self,
        session: DbSession,
        principal: Caller,
        request: Request[Any, Any, Any],
        submit: Annotated[
            bool, QueryParameter(description="Submit the imported listings for review instead of keeping drafts.")
        ] = False,
    ) -> ImportResult:
        """Import."""
        content_type = request.headers.get("content-type", "")
        filename: str | None = None
        if content_type.lower().startswith("multipart/form-data"):
            form = await request.form()
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise InvalidInput.field("/file", "send the file as the 'file' part")
            content = await upload.read()
            filename, content_type = upload.filename, upload.content_type
        else:
            content = await request.body()
        fmt = bulk.detect_format(content_type=content_type, filename=filename)
        if fmt is None:
            raise errors.UnsupportedImportFormat(
                "send text/csv or application/x-ndjson (or a .csv / .jsonl file in a multipart form)"
            )
        owner = ImportOwner(
            organization_id=principal.organization_id,
            kind=principal.organization_kind,
            verified=principal.organization_verified,
            actor=principal,
        )
        count = await ListingsService(session).import_listings(owner, content, fmt, submit=submit)
        return ImportResult(
            imported=count,
            status=ListingStatus.submitted if submit else ListingStatus.draft,
            organization_id=principal.organization_id,
        )

    @get(
        "/{listing_id:uuid}",
        operation_id="getListing",
        summary="Get a listing",
        description="Published listings are public. The confidential part is shown only to the owner, the platform "
        "and organisations that accepted the current NDA; the auction reserve only to the owner and the platform.",
        opt=policy.PUBLIC.opt(),
        responses=errors_for(404),
        response_headers=_ETAG_HEADER,
    )
    async def get_one(
        self, session: DbSession, maybe_principal: MaybeCaller, listing_id: ListingId
    ) -> Response[ListingView]:
        """One listing."""
        return _etagged(await ListingsService(session).get(maybe_principal, listing_id))

    @patch(
        "/{listing_id:uuid}",
        operation_id="updateListing",
        summary="Change a listing",
        description="Needs If-Match. On a published listing, changes to public facts become a pending revision "
        "(the published version stays visible until the platform approves it); contact details, the confidential "
        "description and the NDA change at once (a changed NDA must be accepted again).",
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 404, 409, 412, 422, 428),
        response_headers=_ETAG_HEADER,
    )
    async def update(
        self,
        session: DbSession,
        principal: Caller,
        listing_id: ListingId,
        data: JSONBody[ListingUpdate],
        if_match: IfMatchHeader = None,
    ) -> Response[ListingView]:
        """Change."""
        return _etagged(await ListingsService(session).update(principal, listing_id, data, if_match=if_match))

    @post(
        "/{listing_id:uuid}/submit",
        operation_id="submitListing",
        summary="Submit a listing for review",
        status_code=HTTP_200_OK,
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 404, 409, 412, 428),
        response_headers=_ETAG_HEADER,
    )
    async def submit(
        self, session: DbSession, principal: Caller, listing_id: ListingId, if_match: IfMatchHeader = None
    ) -> Response[ListingView]:
        """Submit."""
        return _etagged(await ListingsService(session).submit(principal, listing_id, if_match=if_match))

    @post(
        "/{listing_id:uuid}/withdraw",
        operation_id="withdrawListing",
        summary="Withdraw a submitted or published listing",
        status_code=HTTP_200_OK,
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 404, 409, 412, 428),
        response_headers=_ETAG_HEADER,
    )
    async def withdraw(
        self, session: DbSession, principal: Caller, listing_id: ListingId, if_match: IfMatchHeader = None
    ) -> Response[ListingView]:
        """Withdraw."""
        return _etagged(await ListingsService(session).withdraw(principal, listing_id, if_match=if_match))

    @post(
        "/{listing_id:uuid}/close",
        operation_id="closeListing",
        summary="Close a listing for good",
        status_code=HTTP_200_OK,
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 404, 409, 412, 428),
        response_headers=_ETAG_HEADER,
    )
    async def close(
        self, session: DbSession, principal: Caller, listing_id: ListingId, if_match: IfMatchHeader = None
    ) -> Response[ListingView]:
        """Close."""
        return _etagged(await ListingsService(session).close(principal, listing_id, if_match=if_match))

    @post(
        "/{listing_id:uuid}/nda-acceptances",
        operation_id="acceptListingNda",
        summary="Accept a listing's NDA for the caller's organisation",
        description="Name the nda_version you read; the confidential part opens to your organisation until the NDA "
        "changes.",
        status_code=HTTP_201_CREATED,
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 404, 409, 422),
    )
    async def accept_nda(
        self, session: DbSession, principal: Caller, listing_id: ListingId, data: JSONBody[NdaAcceptanceCreate]
    ) -> NdaAcceptanceRead:
        """Accept the NDA."""
        acceptance = await ListingsService(session).accept_nda(principal, listing_id, nda_version=data.nda_version)
        return NdaAcceptanceRead.model_validate(acceptance)

    @get(
        "/{listing_id:uuid}/nda-acceptances",
        operation_id="listListingNdaAcceptances",
        summary="List who accepted a listing's NDA",
        description="The listing's own organisation and the platform only.",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(400, 401, 403, 404),
    )
    async def list_nda(
        self,
        session: DbSession,
        principal: Caller,
        listing_id: ListingId,
        limit: LimitParam = 20,
        cursor: CursorParam = None,
    ) -> NdaAcceptancePage:
        """Acceptances."""
        rows = await ListingsService(session).list_nda_acceptances(
            principal, listing_id, after=decode_id_cursor(cursor), limit=limit
        )
        items, next_cursor = page_by_id(rows, limit=limit)
        return NdaAcceptancePage(items=[NdaAcceptanceRead.model_validate(r) for r in items], next_cursor=next_cursor)

    @post(
        "/{listing_id:uuid}/attachments",
        operation_id="uploadListingAttachment",
        summary="Attach a file to a listing",
        description=f"Multipart form with `file` and `confidential` (true/false). PDF, PNG, JPEG, DOCX, XLSX, PPTX, "
        f"DOC or XLS, recognised by content; at most {ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB. Confidential files "
        "are shown only to those who may see the confidential part.",
        status_code=HTTP_201_CREATED,
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 404, 409, 413, 415, 422),
        request_max_body_size=ATTACHMENT_MAX_BYTES + 64 * 1024,
    )
    async def upload(
        self,
        session: DbSession,
        principal: Caller,
        listing_id: ListingId,
        data: Annotated[AttachmentUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> AttachmentRead:
        """Upload."""
        # The multipart parser spools the part to a temporary file (on disk past 1 MB): pass the file, not its bytes.
        attachment = await ListingsService(session).add_attachment(
            principal,
            listing_id,
            filename=data.file.filename,
            content=data.file.file,
            confidential=data.confidential,
            storage=get_storage(),
        )
        return AttachmentRead.model_validate(attachment)

    @get(
        "/{listing_id:uuid}/attachments",
        operation_id="listListingAttachments",
        summary="List a listing's files",
        description="Public files to whoever may see the listing; confidential ones only with access to the "
        "confidential part.",
        opt=policy.PUBLIC.opt(),
        responses=errors_for(400, 404),
    )
    async def list_attachments(
        self,
        session: DbSession,
        maybe_principal: MaybeCaller,
        listing_id: ListingId,
        limit: LimitParam = 20,
        cursor: CursorParam = None,
    ) -> AttachmentPage:
        """Files."""
        rows = await ListingsService(session).list_attachments(
            maybe_principal, listing_id, after=decode_id_cursor(cursor), limit=limit
        )
        items, next_cursor = page_by_id(rows, limit=limit)
        return AttachmentPage(items=[AttachmentRead.model_validate(r) for r in items], next_cursor=next_cursor)

    @get(
        "/{listing_id:uuid}/attachments/{attachment_id:uuid}",
        operation_id="downloadListingAttachment",
        summary="Download a listing's file",
        opt=policy.PUBLIC.opt(),
        responses=errors_for(404),
        media_type="application/octet-stream",
    )
    async def download(
        self, session: DbSession, maybe_principal: MaybeCaller, listing_id: ListingId, attachment_id: AttachmentId
    ) -> Response[bytes]:
        """The file's bytes."""
        attachment, content = await ListingsService(session).read_attachment(
            maybe_principal, listing_id, attachment_id, storage=get_storage()
        )
        return Response(
            content=content,
            media_type=attachment.content_type,
            headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(attachment.filename)}",
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private, no-store" if attachment.confidential else "private, max-age=60",
            },
        )

    @delete(
        "/{listing_id:uuid}/attachments/{attachment_id:uuid}",
        operation_id="deleteListingAttachment",
        summary="Delete a listing's file",
        status_code=HTTP_200_OK,
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 404),
    )
    async def delete_attachment(
        self, session: DbSession, principal: Caller, listing_id: ListingId, attachment_id: AttachmentId
    ) -> AttachmentDeleted:
        """Delete a file (its bytes go once the change is committed)."""
        key = await ListingsService(session).delete_attachment(principal, listing_id, attachment_id)
        storage = get_storage()

        async def remove() -> None:
            await storage.delete(key)

        after_commit(session, remove)
        return AttachmentDeleted(id=attachment_id, deleted=True)

    @put(
        "/{listing_id:uuid}/watch",
        operation_id="watchListing",
        summary="Watch (favourite) a listing",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(401, 403, 404),
    )
    async def watch(self, session: DbSession, principal: Caller, listing_id: ListingId) -> WatchRead:
        """Watch."""
        return WatchRead.model_validate(await ListingsService(session).watch(principal, listing_id))

    @delete(
        "/{listing_id:uuid}/watch",
        operation_id="unwatchListing",
        summary="Stop watching a listing",
        status_code=HTTP_200_OK,
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(401, 403, 404),
    )
    async def unwatch(self, session: DbSession, principal: Caller, listing_id: ListingId) -> Unwatched:
        """Unwatch (idempotent)."""
        await ListingsService(session).unwatch(principal, listing_id)
        return Unwatched(listing_id=listing_id, watching=False)


class MyListingsController(Controller):
    """The caller's organisation's listings in any state, and their export."""

    path = "/organizations/me/listings"
    tags = ["listings"]  # noqa: RUF012

    @get(
        "/",
        operation_id="listMyListings",
        summary="List the caller's organisation's listings",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(400, 401),
    )
    async def list_mine(
        self,
        session: DbSession,
        principal: Caller,
        status: Annotated[ListingStatus | None, QueryParameter()] = None,
        limit: LimitParam = 20,
        cursor: CursorParam = None,
    ) -> ListingPage:
        """Own listings, newest first."""
        rows = await ListingsService(session).list_own(
            principal, status=status, after=decode_id_cursor(cursor), limit=limit
        )
        items, next_cursor = page_by_id(rows, limit=limit)
        return ListingPage(items=[views.summary(r) for r in items], next_cursor=next_cursor)

    @get(
        "/export",
        operation_id="exportMyListings",
        operation_class=operation(media_types=tuple(bulk.MEDIA_TYPES.values())),
        summary="Export the caller's organisation's listings",
        description="CSV (UTF-8 with BOM) or JSON lines, in the import format, so the file imports back as is.",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(400, 401),
        media_type="text/csv",
    )
    async def export(
        self,
        session: DbSession,
        principal: Caller,
        export_format: Annotated[
            str, QueryParameter(name="format", pattern=r"^(csv|jsonl)$", description="csv or jsonl")
        ],
    ) -> Response[str]:
        """Export."""
        text = await ListingsService(session).export(principal, export_format)
        media = bulk.MEDIA_TYPES[export_format]
        return Response(
            content=text,
            media_type=media if media.startswith("text/") else f"{media}; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="listings.{export_format}"'},
        )


class WatchlistController(Controller):
    """The caller's watched listings."""

    path = "/users/me/watchlist"
    tags = ["listings"]  # noqa: RUF012

    @get(
        "/",
        operation_id="getMyWatchlist",
        summary="List the listings the caller watches",
        description="Listings that are no longer visible to the caller (withdrawn, closed) drop out.",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(400, 401),
    )
    async def watchlist(
        self, session: DbSession, principal: Caller, limit: LimitParam = 20, cursor: CursorParam = None
    ) -> WatchlistPage:
        """Watchlist."""
        rows = await ListingsService(session).watchlist(principal, after=decode_id_cursor(cursor), limit=limit)
        items = list(rows[:limit])
        next_cursor = encode_cursor([items[-1][0].id]) if len(rows) > limit and items else None
        return WatchlistPage(items=[views.watch_item(w, li) for w, li in items], next_cursor=next_cursor)


class PlatformListingController(Controller):
    """The operator's review of listings and of changes to published ones."""

    path = "/platform/listings"
    tags = ["platform"]  # noqa: RUF012

    @get(
        "/",
        operation_id="platformListListings",
        summary="List listings for review (platform)",
        description="By default the submitted ones, oldest first.",
        opt=policy.PLATFORM.opt(),
        responses=errors_for(400, 401, 403),
    )
    async def queue(
        self,
        session: DbSession,
        status: Annotated[ListingStatus | None, QueryParameter()] = ListingStatus.submitted,
        pending_revision: Annotated[
            bool, QueryParameter(description="Only listings with a revision waiting for review.")
        ] = False,
        limit: LimitParam = 20,
        cursor: CursorParam = None,
    ) -> ListingPage:
        """Review queue."""
        rows = await ListingsService(session).review_queue(
            status=None if pending_revision else status,
            pending_revision=pending_revision,
            after=decode_id_cursor(cursor),
            limit=limit,
        )
        items, next_cursor = page_by_id(rows, limit=limit)
        return ListingPage(items=[views.summary(r) for r in items], next_cursor=next_cursor)

    @post(
        "/{listing_id:uuid}/approve",
        operation_id="platformApproveListing",
        summary="Publish a submitted listing (platform)",
        status_code=HTTP_200_OK,
        opt=policy.PLATFORM_MEMBER.opt(),
        responses=errors_for(401, 403, 404, 409, 412, 428),
        response_headers=_ETAG_HEADER,
    )
    async def approve(
        self, session: DbSession, principal: Caller, listing_id: ListingId, if_match: IfMatchHeader = None
    ) -> Response[ListingView]:
        """Approve."""
        return _etagged(await ListingsService(session).approve(principal, listing_id, if_match=if_match))

    @post(
        "/{listing_id:uuid}/reject",
        operation_id="platformRejectListing",
        summary="Reject a submitted listing with a reason (platform)",
        status_code=HTTP_200_OK,
        opt=policy.PLATFORM_MEMBER.opt(),
        responses=errors_for(401, 403, 404, 409, 412, 422, 428),
        response_headers=_ETAG_HEADER,
    )
    async def reject(
        self,
        session: DbSession,
        principal: Caller,
        listing_id: ListingId,
        data: JSONBody[RejectionInput],
        if_match: IfMatchHeader = None,
    ) -> Response[ListingView]:
        """Reject."""
        return _etagged(
            await ListingsService(session).reject(principal, listing_id, reason=data.reason, if_match=if_match)
        )

    @post(
        "/{listing_id:uuid}/revision/approve",
        operation_id="platformApproveListingRevision",
        summary="Apply a published listing's pending revision (platform)",
        status_code=HTTP_200_OK,
        opt=policy.PLATFORM_MEMBER.opt(),
        responses=errors_for(401, 403, 404, 409, 412, 422, 428),
        response_headers=_ETAG_HEADER,
    )
    async def approve_revision(
        self, session: DbSession, principal: Caller, listing_id: ListingId, if_match: IfMatchHeader = None
    ) -> Response[ListingView]:
        """Approve the revision."""
        return _etagged(await ListingsService(session).approve_revision(principal, listing_id, if_match=if_match))

    @post(
        "/{listing_id:uuid}/revision/reject",
        operation_id="platformRejectListingRevision",
        summary="Turn down a published listing's pending revision (platform)",
        status_code=HTTP_200_OK,
        opt=policy.PLATFORM_MEMBER.opt(),
        responses=errors_for(401, 403, 404, 409, 412, 422, 428),
        response_headers=_ETAG_HEADER,
    )
    async def reject_revision(
        self,
        session: DbSession,
        principal: Caller,
        listing_id: ListingId,
        data: JSONBody[RejectionInput],
        if_match: IfMatchHeader = None,
    ) -> Response[ListingView]:
        """Reject the revision."""
        return _etagged(
            await ListingsService(session).reject_revision(principal, listing_id, reason=data.reason, if_match=if_match)
        )


CONTROLLERS = [ListingController, MyListingsController, WatchlistController, PlatformListingController]

"""What can go wrong in the listings domain."""

from __future__ import annotations

from typing import ClassVar

from marketplace.kit.errors import AppError, Conflict, InvalidInput, NotFound, PermissionDenied


class ListingNotFound(NotFound):
    """No such listing, or not one the caller may see."""

    title = "Listing not found"


class ListingOwnerKindNotAllowed(PermissionDenied):
    """Only institutes and enterprises hold listings."""

    title = "Organisation kind cannot hold listings"


class NotListingOwner(PermissionDenied):
    """Only the owning organisation may change a listing."""

    title = "Not the listing's organisation"


class OrganizationNotVerified(PermissionDenied):
    """The platform has not verified the organisation yet."""

    title = "Organisation not verified"


class ListingNotEditable(Conflict):
    """Withdrawn and closed listings cannot be changed."""

    title = "Listing cannot be edited in its state"


class ListingNotSubmittable(Conflict):
    """Only drafts, rejected and withdrawn listings can be submitted."""

    title = "Listing cannot be submitted in its state"


class ListingNotUnderReview(Conflict):
    """Only submitted listings can be approved or rejected."""

    title = "Listing is not awaiting review"


class ListingNotWithdrawable(Conflict):
    """Only submitted or published listings can be withdrawn."""

    title = "Listing cannot be withdrawn in its state"


class ListingAlreadyClosed(Conflict):
    """A closed listing stays closed."""

    title = "Listing already closed"


class NoPendingRevision(Conflict):
    """There is no proposed change waiting for review."""

    title = "No pending revision"


class PatentAlreadyListed(Conflict):
    """A granted patent is already offered by another active listing."""

    title = "Patent already on an active listing"


class NdaNotOffered(Conflict):
    """The listing has no NDA to accept (or the caller's organisation owns it)."""

    title = "No NDA to accept"


class NdaVersionMismatch(Conflict):
    """The NDA changed since the caller read it."""

    title = "NDA version is not current"


class AttachmentNotFound(NotFound):
    """No such attachment, or not one the caller may see."""

    title = "Attachment not found"


class AttachmentTooLarge(AppError):
    """The file is larger than attachments may be."""

    status_code: ClassVar[int] = 413
    title: ClassVar[str] = "Attachment too large"


class UnsupportedAttachmentType(AppError):
    """The file's content is not one of the accepted document or image types."""

    status_code: ClassVar[int] = 415
    title: ClassVar[str] = "Unsupported attachment type"


class TooManyAttachments(Conflict):
    """A listing holds a bounded number of files."""

    title = "Too many attachments"


class ImportRejected(InvalidInput):
    """At least one row of an import is invalid, so nothing was imported."""

    title = "Import rejected"


class UnsupportedImportFormat(AppError):
    """The import body is neither CSV nor JSON lines."""

    status_code: ClassVar[int] = 415
    title: ClassVar[str] = "Unsupported import format"


class InvalidFilter(AppError):
    """A query filter names something that does not exist."""

    status_code: ClassVar[int] = 400
    title: ClassVar[str] = "Invalid filter"

"""Import every table model so the metadata (and Alembic) sees them all."""

from marketplace.accounts.models import ApiKey, Organization, User
from marketplace.events.models import AuditEvent, Job, OutboxEvent
from marketplace.web.models import IdempotencyRecord

__all__ = ["ApiKey", "AuditEvent", "IdempotencyRecord", "Job", "Organization", "OutboxEvent", "User"]

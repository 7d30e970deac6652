"""Search speed: a version per search index, so cached results can be told from stale ones

Revision ID: 0008_search_speed
Revises: 0006_money
Create Date: 2026-11-26 09:50:00.000000

Every write to an index (upsert, delete, clear, statistics) sets its `version` to a fresh value of
the sequence `search.index_version`. Sequence values are never handed out twice, so a version
written by a transaction that rolled back never comes back with other contents: a cached result
keyed by (index, version) is exactly the result of that state of the index.
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0008_search_speed'
down_revision: str | None = '0006_money'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SEQUENCE search.index_version")
    op.execute("ALTER TABLE search.indexes ADD COLUMN version bigint NOT NULL DEFAULT 0")


def downgrade() -> None:
    op.execute("ALTER TABLE search.indexes DROP COLUMN version")
    op.execute("DROP SEQUENCE search.index_version")

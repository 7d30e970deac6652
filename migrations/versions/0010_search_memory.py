"""Search: each document row records the index version that wrote it

Revision ID: 0010_search_memory
Revises: 0007_matching
Create Date: 2026-11-26 13:15:00.000000

Server processes keep an in-memory copy of big indexes (search/memory.py). When the index changes,
a copy is brought up to date by reading only the rows written since it was loaded
(`version > loaded version`), through the index on (index, version), instead of the whole index.
Rows written before this revision carry 0, which is older than any copy.
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0010_search_memory'
down_revision: str | None = '0007_matching'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE search.documents ADD COLUMN version bigint NOT NULL DEFAULT 0")
    op.execute("CREATE INDEX ix_search_documents_version ON search.documents (index, version)")


def downgrade() -> None:
    op.execute("DROP INDEX search.ix_search_documents_version")
    op.execute("ALTER TABLE search.documents DROP COLUMN version")

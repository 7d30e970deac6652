"""Search: the PostgreSQL search engine's own schema (documents, vocabulary, applied settings)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 08:10:00.000000

The tables live in their own schema, `search`: they are a derived index owned by the search
package (rebuilt by `marketplace reindex`), not domain tables, so they have no SQLModel models and
autogenerate leaves them alone; tests/search/test_postgres_engine.py checks their shape.
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE SCHEMA IF NOT EXISTS search")
    # One narrow row per document: every filter, sort and ranking column, and `tsv` (all tokens,
    # title A / keywords B / holder and summary C / description D), matched through GIN and read
    # by ranking for each matching row, so it is kept uncompressed in the row.
    op.execute(
        """
        CREATE TABLE search.documents (
            index text NOT NULL,
            doc_id text NOT NULL,
            tsv tsvector NOT NULL,
            title_norm text NOT NULL,
            field_codes text[] NOT NULL DEFAULT '{}',
            trl smallint,
            trade_modes text[] NOT NULL DEFAULT '{}',
            ip_types text[] NOT NULL DEFAULT '{}',
            price_min bigint,
            price_max bigint,
            region_prefixes text[] NOT NULL DEFAULT '{}',
            province text,
            holder_id text,
            state_funded boolean NOT NULL DEFAULT false,
            has_auction boolean NOT NULL DEFAULT false,
            published_at timestamptz NOT NULL,
            fingerprint text NOT NULL,
            CONSTRAINT pk_search_documents PRIMARY KEY (index, doc_id)
        ) WITH (toast_tuple_target = 8160)
        """
    )
    op.execute("ALTER TABLE search.documents ALTER COLUMN tsv SET STORAGE MAIN")
    op.execute("CREATE INDEX ix_search_documents_tsv ON search.documents USING gin (tsv)")
    op.execute("CREATE INDEX ix_search_documents_field_codes ON search.documents USING gin (field_codes)")
    op.execute("CREATE INDEX ix_search_documents_trade_modes ON search.documents USING gin (trade_modes)")
    op.execute("CREATE INDEX ix_search_documents_ip_types ON search.documents USING gin (ip_types)")
    op.execute("CREATE INDEX ix_search_documents_region ON search.documents USING gin (region_prefixes)")
    # Browsing (no search text) reads only this index: filters, facets and order without the heap.
    op.execute(
        """
        CREATE INDEX ix_search_documents_browse ON search.documents (index, published_at DESC, doc_id DESC)
        INCLUDE (trl, price_min, price_max, province, holder_id, state_funded, has_auction, field_codes,
                 trade_modes, ip_types, region_prefixes)
        """
    )
    op.execute("CREATE INDEX ix_search_documents_holder ON search.documents (index, holder_id)")
    # What hits show, read for one page of results at a time.
    op.execute(
        """
        CREATE TABLE search.stored (
            index text NOT NULL,
            doc_id text NOT NULL,
            doc jsonb NOT NULL,
            indexed_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_search_stored PRIMARY KEY (index, doc_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE search.terms (
            index text NOT NULL,
            term text COLLATE "C" NOT NULL,
            df integer NOT NULL,
            CONSTRAINT pk_search_terms PRIMARY KEY (index, term)
        )
        """
    )
    op.execute("CREATE INDEX ix_search_terms_trgm ON search.terms USING gin (term gin_trgm_ops)")
    op.execute(
        """
        CREATE TABLE search.indexes (
            name text NOT NULL,
            digest text NOT NULL,
            settings jsonb NOT NULL,
            applied_at timestamptz NOT NULL,
            stats_at timestamptz,
            documents integer,
            CONSTRAINT pk_search_indexes PRIMARY KEY (name)
        )
        """
    )


def downgrade() -> None:
    # pg_trgm stays installed: extensions are database-wide and may serve others.
    op.execute("DROP SCHEMA IF EXISTS search CASCADE")

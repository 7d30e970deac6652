"""Catalogue: listings with IP assets, revisions, NDA acceptances, attachments and watches; demands

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 07:05:26.252048
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('demands',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('created_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('field_codes', postgresql.ARRAY(sa.String(length=10)), nullable=False),
    sa.Column('budget_min_fen', sa.BigInteger(), nullable=True),
    sa.Column('budget_max_fen', sa.BigInteger(), nullable=True),
    sa.Column('trade_modes', postgresql.ARRAY(sa.String(length=30)), nullable=False),
    sa.Column('min_trl', sa.Integer(), nullable=True),
    sa.Column('region_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=True),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('wants_broker_contact', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fulfilled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expired_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('open', 'fulfilled', 'closed', 'expired')", name=op.f('ck_demands_status')),
    sa.CheckConstraint('budget_min_fen IS NULL OR budget_max_fen IS NULL OR budget_min_fen <= budget_max_fen', name=op.f('ck_demands_budget')),
    sa.CheckConstraint('min_trl IS NULL OR min_trl BETWEEN 1 AND 9', name=op.f('ck_demands_min_trl')),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_demands_created_by_user_id_users')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_demands_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demands'))
    )
    op.create_index('ix_demands_field_codes', 'demands', ['field_codes'], unique=False, postgresql_using='gin')
    op.create_index(op.f('ix_demands_organization_id'), 'demands', ['organization_id'], unique=False)
    op.create_index('ix_demands_status_deadline', 'demands', ['status', 'deadline'], unique=False)
    op.create_table('listings',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('created_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('title_zh', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('title_en', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('keywords', postgresql.ARRAY(sa.String(length=40)), nullable=False),
    sa.Column('field_codes', postgresql.ARRAY(sa.String(length=10)), nullable=False),
    sa.Column('trl', sa.Integer(), nullable=False),
    sa.Column('achievement_type', sa.String(length=30), nullable=False),
    sa.Column('inventors', postgresql.ARRAY(sa.String(length=100)), nullable=False),
    sa.Column('trade_modes', postgresql.ARRAY(sa.String(length=30)), nullable=False),
    sa.Column('pricing_kind', sa.String(length=20), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=True),
    sa.Column('min_fen', sa.BigInteger(), nullable=True),
    sa.Column('max_fen', sa.BigInteger(), nullable=True),
    sa.Column('start_price_fen', sa.BigInteger(), nullable=True),
    sa.Column('increment_fen', sa.BigInteger(), nullable=True),
    sa.Column('reserve_fen', sa.BigInteger(), nullable=True),
    sa.Column('deposit_fen', sa.BigInteger(), nullable=True),
    sa.Column('region_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('holder_state_funded', sa.Boolean(), nullable=False),
    sa.Column('contact_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('contact_phone', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column('contact_email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('confidential_description', sa.Text(), nullable=True),
    sa.Column('nda_text', sa.Text(), nullable=True),
    sa.Column('nda_version', sa.Integer(), nullable=False),
    sa.Column('review_note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("achievement_type IN ('applied_technology', 'basic_research', 'soft_science')", name=op.f('ck_listings_achievement_type')),
    sa.CheckConstraint("pricing_kind <> 'auction' OR (start_price_fen IS NOT NULL AND increment_fen > 0 AND (reserve_fen IS NULL OR reserve_fen >= start_price_fen) AND deposit_fen >= 0)", name=op.f('ck_listings_auction_price')),
    sa.CheckConstraint("pricing_kind <> 'fixed' OR price_fen IS NOT NULL", name=op.f('ck_listings_fixed_price')),
    sa.CheckConstraint("pricing_kind <> 'range' OR (min_fen IS NOT NULL AND max_fen IS NOT NULL AND min_fen <= max_fen)", name=op.f('ck_listings_range_price')),
    sa.CheckConstraint("pricing_kind IN ('fixed', 'range', 'negotiable', 'auction')", name=op.f('ck_listings_pricing_kind')),
    sa.CheckConstraint("status IN ('draft', 'submitted', 'published', 'rejected', 'withdrawn', 'closed')", name=op.f('ck_listings_status')),
    sa.CheckConstraint('cardinality(trade_modes) >= 1', name=op.f('ck_listings_trade_modes')),
    sa.CheckConstraint('trl BETWEEN 1 AND 9', name=op.f('ck_listings_trl')),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_listings_created_by_user_id_users')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_listings_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listings'))
    )
    op.create_index('ix_listings_field_codes', 'listings', ['field_codes'], unique=False, postgresql_using='gin')
    op.create_index(op.f('ix_listings_organization_id'), 'listings', ['organization_id'], unique=False)
    op.create_index('ix_listings_published', 'listings', ['status', 'published_at', 'id'], unique=False)
    op.create_index(op.f('ix_listings_region_code'), 'listings', ['region_code'], unique=False)
    op.create_index('ix_listings_trade_modes', 'listings', ['trade_modes'], unique=False, postgresql_using='gin')
    op.create_table('listing_attachments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('listing_id', sa.Uuid(), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('confidential', sa.Boolean(), nullable=False),
    sa.Column('storage_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('uploaded_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_listing_attachments_listing_id_listings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_user_id'], ['users.id'], name=op.f('fk_listing_attachments_uploaded_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listing_attachments'))
    )
    op.create_index(op.f('ix_listing_attachments_listing_id'), 'listing_attachments', ['listing_id'], unique=False)
    op.create_table('listing_ip_assets',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('listing_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=30), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('filing_date', sa.Date(), nullable=True),
    sa.Column('grant_date', sa.Date(), nullable=True),
    sa.Column('expiry_date', sa.Date(), nullable=True),
    sa.Column('legal_status', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.CheckConstraint("legal_status IN ('pending', 'granted', 'lapsed', 'expired')", name=op.f('ck_listing_ip_assets_legal_status')),
    sa.CheckConstraint("type IN ('invention_patent', 'utility_model', 'design_patent', 'software_copyright', 'ic_layout_design', 'plant_variety', 'new_drug_certificate', 'know_how')", name=op.f('ck_listing_ip_assets_type')),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_listing_ip_assets_listing_id_listings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listing_ip_assets'))
    )
    op.create_index(op.f('ix_listing_ip_assets_listing_id'), 'listing_ip_assets', ['listing_id'], unique=False)
    # One granted patent on at most one active (submitted or published) listing.
    op.create_index('ux_listing_ip_assets_active_granted_patent', 'listing_ip_assets', ['number'], unique=True, postgresql_where=sa.text("active AND legal_status = 'granted' AND type IN ('design_patent', 'invention_patent', 'utility_model')"))
    op.create_table('listing_nda_acceptances',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('listing_id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('nda_version', sa.Integer(), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_listing_nda_acceptances_listing_id_listings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_listing_nda_acceptances_organization_id_organizations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_listing_nda_acceptances_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listing_nda_acceptances')),
    sa.UniqueConstraint('listing_id', 'organization_id', 'nda_version', name='uq_listing_nda_acceptances_listing_org_version')
    )
    op.create_index(op.f('ix_listing_nda_acceptances_listing_id'), 'listing_nda_acceptances', ['listing_id'], unique=False)
    op.create_index(op.f('ix_listing_nda_acceptances_organization_id'), 'listing_nda_acceptances', ['organization_id'], unique=False)
    op.create_table('listing_revisions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('listing_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('changes', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('proposed_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('decided_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected', 'cancelled')", name=op.f('ck_listing_revisions_status')),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['users.id'], name=op.f('fk_listing_revisions_decided_by_user_id_users')),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_listing_revisions_listing_id_listings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposed_by_user_id'], ['users.id'], name=op.f('fk_listing_revisions_proposed_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listing_revisions'))
    )
    op.create_index(op.f('ix_listing_revisions_listing_id'), 'listing_revisions', ['listing_id'], unique=False)
    # At most one revision of a listing waits for review at a time.
    op.create_index('ux_listing_revisions_one_pending', 'listing_revisions', ['listing_id'], unique=True, postgresql_where=sa.text("status = 'pending'"))
    op.create_table('listing_watches',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('listing_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_listing_watches_listing_id_listings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_listing_watches_organization_id_organizations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_listing_watches_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listing_watches')),
    sa.UniqueConstraint('user_id', 'listing_id', name='uq_listing_watches_user_listing')
    )
    op.create_index(op.f('ix_listing_watches_listing_id'), 'listing_watches', ['listing_id'], unique=False)
    op.create_index(op.f('ix_listing_watches_user_id'), 'listing_watches', ['user_id'], unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes and constraints with it.
    op.drop_table('listing_watches')
    op.drop_table('listing_revisions')
    op.drop_table('listing_nda_acceptances')
    op.drop_table('listing_ip_assets')
    op.drop_table('listing_attachments')
    op.drop_table('listings')
    op.drop_table('demands')

"""Deals: deals, offers, messages, public notices and objections, contracts, milestones, brokers; auctions with
registrations and bids

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 07:57:11.089967
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Bids and the auction close serialize on the auction row (SELECT ... FOR UPDATE); see deals/repository.py.
    op.create_table('auctions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('listing_id', sa.Uuid(), nullable=False),
    sa.Column('seller_organization_id', sa.Uuid(), nullable=False),
    sa.Column('opened_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.Enum('open', 'closed', 'unsold', 'cancelled', name='auctionstate', native_enum=False, length=20), nullable=False),
    sa.Column('trade_mode', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('scheduled_ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('extension_minutes', sa.Integer(), nullable=False),
    sa.Column('start_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('increment_fen', sa.BigInteger(), nullable=False),
    sa.Column('reserve_fen', sa.BigInteger(), nullable=True),
    sa.Column('deposit_fen', sa.BigInteger(), nullable=False),
    sa.Column('high_bid_fen', sa.BigInteger(), nullable=True),
    sa.Column('high_registration_id', sa.Uuid(), nullable=True),
    sa.Column('bid_count', sa.Integer(), nullable=False),
    sa.Column('registration_count', sa.Integer(), nullable=False),
    sa.Column('winner_deal_id', sa.Uuid(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('increment_fen > 0 AND start_price_fen > 0 AND deposit_fen >= 0', name=op.f('ck_auctions_amounts')),
    sa.CheckConstraint('starts_at < ends_at', name=op.f('ck_auctions_window')),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_auctions_listing_id_listings')),
    sa.ForeignKeyConstraint(['opened_by_user_id'], ['users.id'], name=op.f('fk_auctions_opened_by_user_id_users')),
    sa.ForeignKeyConstraint(['seller_organization_id'], ['organizations.id'], name=op.f('fk_auctions_seller_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auctions'))
    )
    op.create_index(op.f('ix_auctions_listing_id'), 'auctions', ['listing_id'], unique=False)
    op.create_index(op.f('ix_auctions_seller_organization_id'), 'auctions', ['seller_organization_id'], unique=False)
    op.create_index('ux_auctions_one_open_per_listing', 'auctions', ['listing_id'], unique=True, postgresql_where=sa.text("status = 'open'"))
    op.create_table('auction_registrations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('auction_id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('bidder_number', sa.Integer(), nullable=False),
    sa.Column('deposit_fen', sa.BigInteger(), nullable=False),
    sa.Column('deposit_status', sa.Enum('pending', 'held', 'released', 'forfeited', 'applied', 'void', name='depositstatus', native_enum=False, length=20), nullable=False),
    sa.Column('deposit_reference', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['auction_id'], ['auctions.id'], name=op.f('fk_auction_registrations_auction_id_auctions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_auction_registrations_organization_id_organizations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_auction_registrations_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auction_registrations')),
    sa.UniqueConstraint('auction_id', 'bidder_number', name='uq_auction_registrations_auction_number'),
    sa.UniqueConstraint('auction_id', 'organization_id', name='uq_auction_registrations_auction_org')
    )
    op.create_index(op.f('ix_auction_registrations_auction_id'), 'auction_registrations', ['auction_id'], unique=False)
    op.create_index(op.f('ix_auction_registrations_organization_id'), 'auction_registrations', ['organization_id'], unique=False)
    op.create_table('auction_bids',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('auction_id', sa.Uuid(), nullable=False),
    sa.Column('registration_id', sa.Uuid(), nullable=False),
    sa.Column('bidder_number', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('placed_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('extended_to', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['auction_id'], ['auctions.id'], name=op.f('fk_auction_bids_auction_id_auctions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['placed_by_user_id'], ['users.id'], name=op.f('fk_auction_bids_placed_by_user_id_users')),
    sa.ForeignKeyConstraint(['registration_id'], ['auction_registrations.id'], name=op.f('fk_auction_bids_registration_id_auction_registrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auction_bids'))
    )
    op.create_index('ix_auction_bids_auction_id_seq', 'auction_bids', ['auction_id', 'seq'], unique=False)
    op.create_table('deals',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('listing_id', sa.Uuid(), nullable=False),
    sa.Column('buyer_organization_id', sa.Uuid(), nullable=False),
    sa.Column('seller_organization_id', sa.Uuid(), nullable=False),
    sa.Column('origin', sa.Enum('inquiry', 'auction', name='dealorigin', native_enum=False, length=20), nullable=False),
    sa.Column('state', sa.Enum('inquiry', 'negotiating', 'public_notice', 'contracting', 'performing', 'completed', 'declined', 'cancelled', 'expired', 'forfeited', name='state', native_enum=False, length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('auction_id', sa.Uuid(), nullable=True),
    sa.Column('registration_id', sa.Uuid(), nullable=True),
    sa.Column('opened_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('price_basis', sa.Enum('negotiated', 'fixed', 'auction', name='pricebasis', native_enum=False, length=20), nullable=True),
    sa.Column('price_fen', sa.BigInteger(), nullable=True),
    sa.Column('trade_mode', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column('agreed_offer_id', sa.Uuid(), nullable=True),
    sa.Column('notice_required', sa.Boolean(), nullable=False),
    sa.Column('deposit_fen', sa.BigInteger(), nullable=True),
    sa.Column('confirm_by', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_activity_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('price_fen IS NULL OR price_fen > 0', name=op.f('ck_deals_price')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_deals_version')),
    sa.ForeignKeyConstraint(['auction_id'], ['auctions.id'], name=op.f('fk_deals_auction_id_auctions')),
    sa.ForeignKeyConstraint(['buyer_organization_id'], ['organizations.id'], name=op.f('fk_deals_buyer_organization_id_organizations')),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_deals_listing_id_listings')),
    sa.ForeignKeyConstraint(['opened_by_user_id'], ['users.id'], name=op.f('fk_deals_opened_by_user_id_users')),
    sa.ForeignKeyConstraint(['registration_id'], ['auction_registrations.id'], name=op.f('fk_deals_registration_id_auction_registrations')),
    sa.ForeignKeyConstraint(['seller_organization_id'], ['organizations.id'], name=op.f('fk_deals_seller_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deals'))
    )
    op.create_index(op.f('ix_deals_auction_id'), 'deals', ['auction_id'], unique=False)
    op.create_index(op.f('ix_deals_buyer_organization_id'), 'deals', ['buyer_organization_id'], unique=False)
    op.create_index(op.f('ix_deals_listing_id'), 'deals', ['listing_id'], unique=False)
    op.create_index(op.f('ix_deals_seller_organization_id'), 'deals', ['seller_organization_id'], unique=False)
    op.create_index(op.f('ix_deals_state'), 'deals', ['state'], unique=False)
    op.create_index('ux_deals_live_buyer_listing', 'deals', ['listing_id', 'buyer_organization_id'], unique=True, postgresql_where=sa.text("origin = 'inquiry' AND state NOT IN ('cancelled', 'completed', 'declined', 'expired', 'forfeited')"))
    op.create_table('deal_brokers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('deal_id', sa.Uuid(), nullable=False),
    sa.Column('side', sa.Enum('buyer', 'seller', name='side', native_enum=False, length=20), nullable=False),
    sa.Column('broker_user_id', sa.Uuid(), nullable=False),
    sa.Column('agency_organization_id', sa.Uuid(), nullable=False),
    sa.Column('scope', postgresql.ARRAY(sa.String(length=40)), nullable=False),
    sa.Column('commission_bps', sa.Integer(), nullable=True),
    sa.Column('commission_fixed_fen', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.Enum('proposed', 'active', 'revoked', name='brokerstatus', native_enum=False, length=20), nullable=False),
    sa.Column('appointed_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('(commission_bps IS NULL) <> (commission_fixed_fen IS NULL)', name=op.f('ck_deal_brokers_commission')),
    sa.CheckConstraint('commission_bps IS NULL OR commission_bps BETWEEN 0 AND 10000', name=op.f('ck_deal_brokers_commission_bps')),
    sa.ForeignKeyConstraint(['agency_organization_id'], ['organizations.id'], name=op.f('fk_deal_brokers_agency_organization_id_organizations')),
    sa.ForeignKeyConstraint(['appointed_by_user_id'], ['users.id'], name=op.f('fk_deal_brokers_appointed_by_user_id_users')),
    sa.ForeignKeyConstraint(['broker_user_id'], ['users.id'], name=op.f('fk_deal_brokers_broker_user_id_users')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_deal_brokers_deal_id_deals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deal_brokers'))
    )
    op.create_index(op.f('ix_deal_brokers_agency_organization_id'), 'deal_brokers', ['agency_organization_id'], unique=False)
    op.create_index(op.f('ix_deal_brokers_broker_user_id'), 'deal_brokers', ['broker_user_id'], unique=False)
    op.create_index(op.f('ix_deal_brokers_deal_id'), 'deal_brokers', ['deal_id'], unique=False)
    op.create_index('ux_deal_brokers_one_per_side', 'deal_brokers', ['deal_id', 'side'], unique=True, postgresql_where=sa.text("status IN ('proposed', 'active')"))
    op.create_table('deal_contracts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('deal_id', sa.Uuid(), nullable=False),
    sa.Column('offer_id', sa.Uuid(), nullable=True),
    sa.Column('contract_type', sa.Enum('transfer', 'licence', 'development', 'service', 'consulting', name='contracttype', native_enum=False, length=20), nullable=False),
    sa.Column('trade_mode', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('technology_fen', sa.BigInteger(), nullable=False),
    sa.Column('non_technology_items', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('licence_scope', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('territory', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('term_months', sa.Integer(), nullable=True),
    sa.Column('payment_plan', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('subject_name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('buyer_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('buyer_credit_code', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=True),
    sa.Column('seller_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('seller_credit_code', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=True),
    sa.Column('buyer_confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('buyer_confirmed_by', sa.Uuid(), nullable=True),
    sa.Column('seller_confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('seller_confirmed_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('technology_fen >= 0 AND technology_fen <= amount_fen', name=op.f('ck_deal_contracts_technology_amount')),
    sa.ForeignKeyConstraint(['buyer_confirmed_by'], ['users.id'], name=op.f('fk_deal_contracts_buyer_confirmed_by_users')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_deal_contracts_deal_id_deals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['seller_confirmed_by'], ['users.id'], name=op.f('fk_deal_contracts_seller_confirmed_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deal_contracts')),
    sa.UniqueConstraint('deal_id', name=op.f('uq_deal_contracts_deal_id'))
    )
    op.create_table('deal_messages',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('deal_id', sa.Uuid(), nullable=False),
    sa.Column('side', sa.Enum('buyer', 'seller', name='side', native_enum=False, length=20), nullable=False),
    sa.Column('author_user_id', sa.Uuid(), nullable=True),
    sa.Column('author_organization_id', sa.Uuid(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_organization_id'], ['organizations.id'], name=op.f('fk_deal_messages_author_organization_id_organizations')),
    sa.ForeignKeyConstraint(['author_user_id'], ['users.id'], name=op.f('fk_deal_messages_author_user_id_users')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_deal_messages_deal_id_deals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deal_messages'))
    )
    op.create_index('ix_deal_messages_deal_id_id', 'deal_messages', ['deal_id', 'id'], unique=False)
    op.create_table('deal_milestones',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('deal_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('deliverable', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('pending', 'delivered', 'disputed', 'released', 'refunded', 'split', name='milestonestatus', native_enum=False, length=20), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivery_note', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
    sa.Column('review_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dispute_reason', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
    sa.Column('released_fen', sa.BigInteger(), nullable=True),
    sa.Column('refunded_fen', sa.BigInteger(), nullable=True),
    sa.Column('resolution_note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('decided_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_deal_milestones_amount')),
    sa.CheckConstraint('released_fen IS NULL OR refunded_fen IS NULL OR released_fen + refunded_fen = amount_fen', name=op.f('ck_deal_milestones_settlement')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_deal_milestones_deal_id_deals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['users.id'], name=op.f('fk_deal_milestones_decided_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deal_milestones'))
    )
    op.create_index(op.f('ix_deal_milestones_deal_id'), 'deal_milestones', ['deal_id'], unique=False)
    op.create_table('deal_notices',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('deal_id', sa.Uuid(), nullable=False),
    sa.Column('listing_id', sa.Uuid(), nullable=False),
    sa.Column('result_name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('buyer_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('seller_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('trade_mode', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('status', sa.Enum('running', 'passed', 'upheld', 'withdrawn', name='noticestatus', native_enum=False, length=20), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_deal_notices_deal_id_deals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_deal_notices_listing_id_listings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deal_notices'))
    )
    op.create_index(op.f('ix_deal_notices_deal_id'), 'deal_notices', ['deal_id'], unique=False)
    op.create_index('ix_deal_notices_status_id', 'deal_notices', ['status', 'id'], unique=False)
    op.create_table('deal_offers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('deal_id', sa.Uuid(), nullable=False),
    sa.Column('side', sa.Enum('buyer', 'seller', name='side', native_enum=False, length=20), nullable=False),
    sa.Column('made_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.Enum('open', 'accepted', 'rejected', 'withdrawn', 'expired', 'countered', 'superseded', 'lapsed', 'annulled', name='offerstatus', native_enum=False, length=20), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('trade_mode', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('licence_scope', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('territory', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('term_months', sa.Integer(), nullable=True),
    sa.Column('non_technology_items', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('payment_plan', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('price_fen > 0', name=op.f('ck_deal_offers_price')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_deal_offers_deal_id_deals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['made_by_user_id'], ['users.id'], name=op.f('fk_deal_offers_made_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deal_offers'))
    )
    op.create_index('ix_deal_offers_deal_id_id', 'deal_offers', ['deal_id', 'id'], unique=False)
    op.create_index('ux_deal_offers_one_open', 'deal_offers', ['deal_id'], unique=True, postgresql_where=sa.text("status = 'open'"))
    op.create_table('deal_objections',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('notice_id', sa.Uuid(), nullable=False),
    sa.Column('deal_id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('grounds', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'upheld', 'dismissed', name='objectionstatus', native_enum=False, length=20), nullable=False),
    sa.Column('outcome', sa.Enum('renegotiate', 'end', name='objectionoutcome', native_enum=False, length=20), nullable=True),
    sa.Column('decision_note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('decided_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_deal_objections_deal_id_deals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['users.id'], name=op.f('fk_deal_objections_decided_by_user_id_users')),
    sa.ForeignKeyConstraint(['notice_id'], ['deal_notices.id'], name=op.f('fk_deal_objections_notice_id_deal_notices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_deal_objections_organization_id_organizations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_deal_objections_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deal_objections'))
    )
    op.create_index(op.f('ix_deal_objections_deal_id'), 'deal_objections', ['deal_id'], unique=False)
    op.create_index(op.f('ix_deal_objections_notice_id'), 'deal_objections', ['notice_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_deal_objections_notice_id'), table_name='deal_objections')
    op.drop_index(op.f('ix_deal_objections_deal_id'), table_name='deal_objections')
    op.drop_table('deal_objections')
    op.drop_index('ux_deal_offers_one_open', table_name='deal_offers', postgresql_where=sa.text("status = 'open'"))
    op.drop_index('ix_deal_offers_deal_id_id', table_name='deal_offers')
    op.drop_table('deal_offers')
    op.drop_index('ix_deal_notices_status_id', table_name='deal_notices')
    op.drop_index(op.f('ix_deal_notices_deal_id'), table_name='deal_notices')
    op.drop_table('deal_notices')
    op.drop_index(op.f('ix_deal_milestones_deal_id'), table_name='deal_milestones')
    op.drop_table('deal_milestones')
    op.drop_index('ix_deal_messages_deal_id_id', table_name='deal_messages')
    op.drop_table('deal_messages')
    op.drop_table('deal_contracts')
    op.drop_index('ux_deal_brokers_one_per_side', table_name='deal_brokers', postgresql_where=sa.text("status IN ('proposed', 'active')"))
    op.drop_index(op.f('ix_deal_brokers_deal_id'), table_name='deal_brokers')
    op.drop_index(op.f('ix_deal_brokers_broker_user_id'), table_name='deal_brokers')
    op.drop_index(op.f('ix_deal_brokers_agency_organization_id'), table_name='deal_brokers')
    op.drop_table('deal_brokers')
    op.drop_index('ux_deals_live_buyer_listing', table_name='deals', postgresql_where=sa.text("origin = 'inquiry' AND state NOT IN ('cancelled', 'completed', 'declined', 'expired', 'forfeited')"))
    op.drop_index(op.f('ix_deals_state'), table_name='deals')
    op.drop_index(op.f('ix_deals_seller_organization_id'), table_name='deals')
    op.drop_index(op.f('ix_deals_listing_id'), table_name='deals')
    op.drop_index(op.f('ix_deals_buyer_organization_id'), table_name='deals')
    op.drop_index(op.f('ix_deals_auction_id'), table_name='deals')
    op.drop_table('deals')
    op.drop_index('ix_auction_bids_auction_id_seq', table_name='auction_bids')
    op.drop_table('auction_bids')
    op.drop_index(op.f('ix_auction_registrations_organization_id'), table_name='auction_registrations')
    op.drop_index(op.f('ix_auction_registrations_auction_id'), table_name='auction_registrations')
    op.drop_table('auction_registrations')
    op.drop_index('ux_auctions_one_open_per_listing', table_name='auctions', postgresql_where=sa.text("status = 'open'"))
    op.drop_index(op.f('ix_auctions_seller_organization_id'), table_name='auctions')
    op.drop_index(op.f('ix_auctions_listing_id'), table_name='auctions')
    op.drop_table('auctions')

"""Matching: saved searches, demand match profiles, match feedback, notified pairs, broker clients

Revision ID: 0007_matching
Revises: 0008_search_speed
Create Date: 2026-11-26 09:36:00.386310
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0007_matching'
down_revision: str | None = '0008_search_speed'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('broker_clients',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('enterprise_organization_id', sa.Uuid(), nullable=False),
    sa.Column('agency_organization_id', sa.Uuid(), nullable=False),
    sa.Column('created_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_organization_id'], ['organizations.id'], name=op.f('fk_broker_clients_agency_organization_id_organizations')),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_broker_clients_created_by_user_id_users')),
    sa.ForeignKeyConstraint(['enterprise_organization_id'], ['organizations.id'], name=op.f('fk_broker_clients_enterprise_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broker_clients')),
    sa.UniqueConstraint('enterprise_organization_id', 'agency_organization_id', name='uq_broker_clients_enterprise_agency')
    )
    op.create_index(op.f('ix_broker_clients_agency_organization_id'), 'broker_clients', ['agency_organization_id'], unique=False)
    op.create_index(op.f('ix_broker_clients_enterprise_organization_id'), 'broker_clients', ['enterprise_organization_id'], unique=False)
    op.create_table('saved_searches',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('query', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('field_codes', postgresql.ARRAY(sa.String(length=10)), nullable=False),
    sa.Column('trl_min', sa.Integer(), nullable=True),
    sa.Column('trl_max', sa.Integer(), nullable=True),
    sa.Column('trade_modes', postgresql.ARRAY(sa.String(length=30)), nullable=False),
    sa.Column('ip_types', postgresql.ARRAY(sa.String(length=30)), nullable=False),
    sa.Column('price_min_fen', sa.BigInteger(), nullable=True),
    sa.Column('price_max_fen', sa.BigInteger(), nullable=True),
    sa.Column('region_prefix', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=True),
    sa.Column('match_query', postgresql.TSQUERY(), nullable=True),
    sa.Column('notify', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_saved_searches_organization_id_organizations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_saved_searches_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_searches'))
    )
    op.create_index(op.f('ix_saved_searches_organization_id'), 'saved_searches', ['organization_id'], unique=False)
    op.create_table('demand_match_profiles',
    sa.Column('demand_id', sa.Uuid(), nullable=False),
    sa.Column('match_query', postgresql.TSQUERY(), nullable=False),
    sa.Column('field_parents', postgresql.ARRAY(sa.String(length=10)), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['demand_id'], ['demands.id'], name=op.f('fk_demand_match_profiles_demand_id_demands'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('demand_id', name=op.f('pk_demand_match_profiles'))
    )
    op.create_table('match_feedback',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('demand_id', sa.Uuid(), nullable=False),
    sa.Column('listing_id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('verdict', sa.Enum('interested', 'not_relevant', name='verdict', native_enum=False, length=20), nullable=False),
    sa.Column('reason', sa.Enum('too_early', 'too_expensive', 'wrong_field', 'already_have', 'other', name='dismissreason', native_enum=False, length=20), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['demand_id'], ['demands.id'], name=op.f('fk_match_feedback_demand_id_demands'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_match_feedback_listing_id_listings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_match_feedback_organization_id_organizations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_match_feedback_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_feedback')),
    sa.UniqueConstraint('demand_id', 'listing_id', name='uq_match_feedback_demand_listing')
    )
    op.create_index(op.f('ix_match_feedback_listing_id'), 'match_feedback', ['listing_id'], unique=False)
    op.create_index(op.f('ix_match_feedback_organization_id'), 'match_feedback', ['organization_id'], unique=False)
    op.create_table('match_notified_pairs',
    sa.Column('listing_id', sa.Uuid(), nullable=False),
    sa.Column('target_kind', sa.Enum('demand', 'saved_search', name='targetkind', native_enum=False, length=20), nullable=False),
    sa.Column('target_id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_match_notified_pairs_listing_id_listings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_match_notified_pairs_organization_id_organizations')),
    sa.PrimaryKeyConstraint('listing_id', 'target_kind', 'target_id', name=op.f('pk_match_notified_pairs'))
    )
    op.create_index(op.f('ix_match_notified_pairs_organization_id'), 'match_notified_pairs', ['organization_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_match_notified_pairs_organization_id'), table_name='match_notified_pairs')
    op.drop_table('match_notified_pairs')
    op.drop_index(op.f('ix_match_feedback_organization_id'), table_name='match_feedback')
    op.drop_index(op.f('ix_match_feedback_listing_id'), table_name='match_feedback')
    op.drop_table('match_feedback')
    op.drop_table('demand_match_profiles')
    op.drop_index(op.f('ix_saved_searches_organization_id'), table_name='saved_searches')
    op.drop_table('saved_searches')
    op.drop_index(op.f('ix_broker_clients_enterprise_organization_id'), table_name='broker_clients')
    op.drop_index(op.f('ix_broker_clients_agency_organization_id'), table_name='broker_clients')
    op.drop_table('broker_clients')

"""Limits: the shared rate-limit counters (UNLOGGED: counters need no crash safety and no WAL)

Revision ID: 0009_limits
Revises: 0005
Create Date: 2026-11-26 09:50:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0009_limits'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('rate_limit_counters',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limit_counters')),
    prefixes=['UNLOGGED'],
    )


def downgrade() -> None:
    op.drop_table('rate_limit_counters')

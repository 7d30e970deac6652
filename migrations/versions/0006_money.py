"""Money: fee schedules (default seeded), deal fee terms, a double-entry ledger guarded by triggers, payables,
provider receipts, payouts and events

Revision ID: 0006_money
Revises: 0009_limits
Create Date: 2026-11-26 09:36:19.738113
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

# A copy, not an import: a landed migration must not change when the code's default does.
DEFAULT_SCHEDULE = {
    "bands": [
        {"up_to_fen": 500_000_000, "seller_rate": "0.5", "buyer_rate": "1.5"},
        {"up_to_fen": 1_000_000_000, "seller_rate": "0.4", "buyer_rate": "1.0"},
        {"up_to_fen": 5_000_000_000, "seller_rate": "0.3", "buyer_rate": "0.8"},
        {"up_to_fen": 10_000_000_000, "seller_rate": "0.2", "buyer_rate": "0.5"},
        {"up_to_fen": None, "seller_rate": "0.1", "buyer_rate": "0.3"},
    ],
    "seller_min_fen": 200_000,
    "buyer_min_fen": 200_000,
    "seller_cap_fen": None,
    "buyer_cap_fen": None,
    "broker_commission_bps": 100,
    "deposit_forfeit_to": "seller",
}

revision: str = '0006_money'
down_revision: str | None = '0009_limits'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ledger_transactions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('deal_id', sa.Uuid(), nullable=True),
    sa.Column('memo', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('reverses_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['reverses_id'], ['ledger_transactions.id'], name=op.f('fk_ledger_transactions_reverses_id_ledger_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_transactions')),
    sa.UniqueConstraint('key', name=op.f('uq_ledger_transactions_key'))
    )
    op.create_index(op.f('ix_ledger_transactions_deal_id'), 'ledger_transactions', ['deal_id'], unique=False)
    op.create_index(op.f('ix_ledger_transactions_kind'), 'ledger_transactions', ['kind'], unique=False)
    op.create_table('provider_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_events')),
    sa.UniqueConstraint('provider', 'event_id', name='uq_provider_events_provider_event')
    )
    op.create_table('payables',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('kind', sa.Enum('deposit', 'milestone', 'commission', name='payablekind', native_enum=False, length=20), nullable=False),
    sa.Column('subject_id', sa.Uuid(), nullable=False),
    sa.Column('deal_id', sa.Uuid(), nullable=True),
    sa.Column('payer_organization_id', sa.Uuid(), nullable=False),
    sa.Column('payee_organization_id', sa.Uuid(), nullable=True),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('principal_fen', sa.BigInteger(), nullable=False),
    sa.Column('buyer_fee_fen', sa.BigInteger(), nullable=False),
    sa.Column('seller_fee_fen', sa.BigInteger(), nullable=False),
    sa.Column('due_fen', sa.BigInteger(), nullable=False),
    sa.Column('received_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.Enum('open', 'paid', 'void', name='payablestatus', native_enum=False, length=20), nullable=False),
    sa.Column('settled_release_fen', sa.BigInteger(), nullable=True),
    sa.Column('settled_refund_fen', sa.BigInteger(), nullable=True),
    sa.Column('released_fen', sa.BigInteger(), nullable=False),
    sa.Column('refunded_fen', sa.BigInteger(), nullable=False),
    sa.Column('provider_ref', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('due_fen >= 0 AND received_fen >= 0', name=op.f('ck_payables_amounts')),
    sa.ForeignKeyConstraint(['payee_organization_id'], ['organizations.id'], name=op.f('fk_payables_payee_organization_id_organizations')),
    sa.ForeignKeyConstraint(['payer_organization_id'], ['organizations.id'], name=op.f('fk_payables_payer_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payables')),
    sa.UniqueConstraint('kind', 'subject_id', name='uq_payables_kind_subject'),
    sa.UniqueConstraint('reference', name=op.f('uq_payables_reference'))
    )
    op.create_index(op.f('ix_payables_deal_id'), 'payables', ['deal_id'], unique=False)
    op.create_index(op.f('ix_payables_payer_organization_id'), 'payables', ['payer_organization_id'], unique=False)
    op.create_table('fee_schedules',
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('bands', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('seller_min_fen', sa.BigInteger(), nullable=False),
    sa.Column('buyer_min_fen', sa.BigInteger(), nullable=False),
    sa.Column('seller_cap_fen', sa.BigInteger(), nullable=True),
    sa.Column('buyer_cap_fen', sa.BigInteger(), nullable=True),
    sa.Column('broker_commission_bps', sa.Integer(), nullable=False),
    sa.Column('deposit_forfeit_to', sa.Enum('seller', 'platform', name='forfeitto', native_enum=False, length=20), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('published_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(seller_cap_fen IS NULL OR seller_cap_fen >= seller_min_fen) AND (buyer_cap_fen IS NULL OR buyer_cap_fen >= buyer_min_fen)', name=op.f('ck_fee_schedules_caps')),
    sa.CheckConstraint('broker_commission_bps BETWEEN 0 AND 10000', name=op.f('ck_fee_schedules_commission')),
    sa.CheckConstraint('seller_min_fen >= 0 AND buyer_min_fen >= 0', name=op.f('ck_fee_schedules_minimums')),
    sa.ForeignKeyConstraint(['published_by_user_id'], ['users.id'], name=op.f('fk_fee_schedules_published_by_user_id_users')),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_fee_schedules'))
    )
    op.create_table('provider_payouts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('purpose', sa.Enum('proceeds', 'commission', 'refund', name='payoutpurpose', native_enum=False, length=20), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('ledger_transaction_id', sa.Uuid(), nullable=True),
    sa.Column('recorded_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('payment_intent_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('provider_ref', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_provider_payouts_amount')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_provider_payouts_organization_id_organizations')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['users.id'], name=op.f('fk_provider_payouts_recorded_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_payouts')),
    sa.UniqueConstraint('provider', 'external_id', name='uq_provider_payouts_provider_external')
    )
    op.create_index(op.f('ix_provider_payouts_organization_id'), 'provider_payouts', ['organization_id'], unique=False)
    op.create_table('provider_receipts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('payable_id', sa.Uuid(), nullable=True),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('payer_organization_id', sa.Uuid(), nullable=True),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('applied_fen', sa.BigInteger(), nullable=False),
    sa.Column('excess_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.Enum('exact', 'partial', 'overpaid', 'unmatched', name='transferstatus', native_enum=False, length=20), nullable=False),
    sa.Column('ledger_transaction_id', sa.Uuid(), nullable=True),
    sa.Column('recorded_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_provider_receipts_amount')),
    sa.ForeignKeyConstraint(['payable_id'], ['payables.id'], name=op.f('fk_provider_receipts_payable_id_payables')),
    sa.ForeignKeyConstraint(['payer_organization_id'], ['organizations.id'], name=op.f('fk_provider_receipts_payer_organization_id_organizations')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['users.id'], name=op.f('fk_provider_receipts_recorded_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_receipts')),
    sa.UniqueConstraint('provider', 'external_id', name='uq_provider_receipts_provider_external')
    )
    op.create_index(op.f('ix_provider_receipts_payable_id'), 'provider_receipts', ['payable_id'], unique=False)
    op.create_table('deal_fee_terms',
    sa.Column('deal_id', sa.Uuid(), nullable=False),
    sa.Column('schedule_version', sa.Integer(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('seller_fee_fen', sa.BigInteger(), nullable=False),
    sa.Column('buyer_fee_fen', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_deal_fee_terms_deal_id_deals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['schedule_version'], ['fee_schedules.version'], name=op.f('fk_deal_fee_terms_schedule_version_fee_schedules')),
    sa.PrimaryKeyConstraint('deal_id', name=op.f('pk_deal_fee_terms'))
    )
    op.create_table('ledger_accounts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('kind', sa.Enum('available', 'held', 'escrow', 'revenue', 'commission', 'clearing', name='accountkind', native_enum=False, length=20), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=True),
    sa.Column('deal_id', sa.Uuid(), nullable=True),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('balance_fen', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind NOT IN ('available', 'held', 'escrow', 'commission') OR balance_fen >= 0", name=op.f('ck_ledger_accounts_non_negative')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_ledger_accounts_deal_id_deals')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_ledger_accounts_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_accounts')),
    sa.UniqueConstraint('key', name=op.f('uq_ledger_accounts_key'))
    )
    op.create_index(op.f('ix_ledger_accounts_deal_id'), 'ledger_accounts', ['deal_id'], unique=False)
    op.create_index(op.f('ix_ledger_accounts_organization_id'), 'ledger_accounts', ['organization_id'], unique=False)
    op.create_table('ledger_entries',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('transaction_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_fen <> 0', name=op.f('ck_ledger_entries_amount')),
    sa.ForeignKeyConstraint(['account_id'], ['ledger_accounts.id'], name=op.f('fk_ledger_entries_account_id_ledger_accounts')),
    sa.ForeignKeyConstraint(['transaction_id'], ['ledger_transactions.id'], name=op.f('fk_ledger_entries_transaction_id_ledger_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries'))
    )
    op.create_index('ix_ledger_entries_account_id_id', 'ledger_entries', ['account_id', 'id'], unique=False)
    op.create_index(op.f('ix_ledger_entries_transaction_id'), 'ledger_entries', ['transaction_id'], unique=False)

    op.create_table('stripe_accounts',
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_stripe_accounts_organization_id_organizations')),
    sa.PrimaryKeyConstraint('organization_id', name=op.f('pk_stripe_accounts')),
    sa.UniqueConstraint('account_id', name=op.f('uq_stripe_accounts_account_id'))
    )
    # The ledger's rules live in the database too, not only in Python:
    # - entries and transactions are immutable (a correction is a reversing transaction);
    # - every transaction has at least two entries summing to zero per currency, checked at commit;
    # - account balances follow the entries (a trigger adds each entry) and may not be written otherwise;
    #   the CHECK on ledger_accounts keeps available, held, escrow and commission balances from going negative,
    #   and the row lock taken by that UPDATE serializes concurrent postings to one account.
    for function in LEDGER_FUNCTIONS.split("\n\n"):
        op.execute(function)
    for table in ("ledger_entries", "ledger_transactions"):
        op.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION ledger_immutable()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ledger_immutable()"
        )
    op.execute(
        "CREATE TRIGGER ledger_entries_apply AFTER INSERT ON ledger_entries "
        "FOR EACH ROW EXECUTE FUNCTION ledger_apply_entry()"
    )
    op.execute(
        "CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced()"
    )
    op.execute(
        "CREATE CONSTRAINT TRIGGER ledger_transactions_balanced AFTER INSERT ON ledger_transactions "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced()"
    )
    op.execute(
        "CREATE TRIGGER ledger_accounts_guard BEFORE INSERT OR UPDATE OR DELETE ON ledger_accounts "
        "FOR EACH ROW EXECUTE FUNCTION ledger_accounts_guard()"
    )
    schedules = sa.table(
        "fee_schedules",
        sa.column("version", sa.Integer),
        sa.column("bands", postgresql.JSONB),
        sa.column("seller_min_fen", sa.BigInteger),
        sa.column("buyer_min_fen", sa.BigInteger),
        sa.column("seller_cap_fen", sa.BigInteger),
        sa.column("buyer_cap_fen", sa.BigInteger),
        sa.column("broker_commission_bps", sa.Integer),
        sa.column("deposit_forfeit_to", sa.String),
        sa.column("note", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(
        schedules,
        [{**DEFAULT_SCHEDULE, "version": 1, "note": "default schedule", "created_at": datetime.now(UTC)}],
    )


LEDGER_FUNCTIONS = """CREATE FUNCTION ledger_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: post a reversing transaction instead', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE FUNCTION ledger_apply_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ledger_accounts SET balance_fen = balance_fen + NEW.amount_fen
        WHERE id = NEW.account_id AND currency = NEW.currency;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'entry in % on an account of another currency', NEW.currency
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tx uuid;
    legs integer;
    unbalanced text;
BEGIN
    IF TG_TABLE_NAME = 'ledger_transactions' THEN
        tx := NEW.id;
    ELSE
        tx := NEW.transaction_id;
    END IF;
    SELECT count(*) INTO legs FROM ledger_entries WHERE transaction_id = tx;
    IF legs < 2 THEN
        RAISE EXCEPTION 'ledger transaction % has % entries; at least two are needed', tx, legs
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    SELECT currency INTO unbalanced FROM ledger_entries WHERE transaction_id = tx
        GROUP BY currency HAVING sum(amount_fen) <> 0 LIMIT 1;
    IF unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'ledger transaction % does not balance in %', tx, unbalanced
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION ledger_accounts_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ledger accounts are never deleted' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'INSERT' THEN
        NEW.balance_fen := 0;
        RETURN NEW;
    END IF;
    IF (NEW.key, NEW.kind, NEW.currency) IS DISTINCT FROM (OLD.key, OLD.kind, OLD.currency)
       OR (NEW.organization_id, NEW.deal_id, NEW.provider) IS DISTINCT FROM
          (OLD.organization_id, OLD.deal_id, OLD.provider)
       OR (NEW.balance_fen IS DISTINCT FROM OLD.balance_fen AND pg_trigger_depth() < 2) THEN
        RAISE EXCEPTION 'ledger accounts change only through entries' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
"""


def downgrade() -> None:
    op.drop_table('stripe_accounts')
    op.execute("DROP TRIGGER ledger_accounts_guard ON ledger_accounts")
    op.execute("DROP TRIGGER ledger_transactions_balanced ON ledger_transactions")
    op.execute("DROP TRIGGER ledger_entries_balanced ON ledger_entries")
    op.execute("DROP TRIGGER ledger_entries_apply ON ledger_entries")
    for table in ("ledger_entries", "ledger_transactions"):
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER {table}_immutable ON {table}")
    op.drop_index(op.f('ix_ledger_entries_transaction_id'), table_name='ledger_entries')
    op.drop_index('ix_ledger_entries_account_id_id', table_name='ledger_entries')
    op.drop_table('ledger_entries')
    op.drop_index(op.f('ix_ledger_accounts_organization_id'), table_name='ledger_accounts')
    op.drop_index(op.f('ix_ledger_accounts_deal_id'), table_name='ledger_accounts')
    op.drop_table('ledger_accounts')
    op.drop_table('deal_fee_terms')
    op.drop_index(op.f('ix_provider_receipts_payable_id'), table_name='provider_receipts')
    op.drop_table('provider_receipts')
    op.drop_index(op.f('ix_provider_payouts_organization_id'), table_name='provider_payouts')
    op.drop_table('provider_payouts')
    op.drop_table('fee_schedules')
    op.drop_index(op.f('ix_payables_payer_organization_id'), table_name='payables')
    op.drop_index(op.f('ix_payables_deal_id'), table_name='payables')
    op.drop_table('payables')
    op.drop_table('provider_events')
    op.drop_index(op.f('ix_ledger_transactions_kind'), table_name='ledger_transactions')
    op.drop_index(op.f('ix_ledger_transactions_deal_id'), table_name='ledger_transactions')
    op.drop_table('ledger_transactions')
    for fn in ("ledger_accounts_guard", "ledger_check_balanced", "ledger_apply_entry", "ledger_immutable"):
        op.execute(f"DROP FUNCTION {fn}()")

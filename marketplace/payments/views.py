"""Response builders: quotes, payables, statements and reconciliation as JSON shapes or CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from marketplace.payments.config import payments_settings
from marketplace.payments.fees import SideQuote, format_fraction
from marketplace.payments.models import Payable
from marketplace.payments.schemas import (
    BandLineRead,
    FeeQuoteRead,
    PayableRead,
    SideQuoteRead,
)
from marketplace.payments.service import Quote, owed


def side_read(q: SideQuote) -> SideQuoteRead:
    """One side's arithmetic."""
    return SideQuoteRead(
        bands=[
            BandLineRead(
                from_fen=line.from_fen,
                up_to_fen=line.up_to_fen,
                portion_fen=line.portion_fen,
                rate_percent=line.rate_percent,
                fee_exact_fen=format_fraction(line.fee_exact),
            )
            for line in q.lines
        ],
        banded_exact_fen=format_fraction(q.banded_exact),
        minimum_fen=q.minimum_fen,
        minimum_applied=q.minimum_applied,
        cap_fen=q.cap_fen,
        cap_applied=q.cap_applied,
        fee_fen=q.fee_fen,
    )


def quote_read(q: Quote) -> FeeQuoteRead:
    """A fee quote."""
    return FeeQuoteRead(
        schedule_version=q.schedule.version,
        amount_fen=q.amount_fen,
        mode=q.mode,
        seller=side_read(q.seller),
        buyer=side_read(q.buyer),
        broker_commission_bps=q.schedule.broker_commission_bps,
        broker_commission_fen=q.broker_commission_fen,
        buyer_pays_fen=q.amount_fen + q.buyer.fee_fen,
        seller_receives_fen=q.amount_fen - q.seller.fee_fen,
        platform_earns_fen=q.buyer.fee_fen + q.seller.fee_fen,
    )


def payable_read(p: Payable) -> PayableRead:
    """A payable with its payment instructions."""
    return PayableRead.model_validate(
        {
            **p.model_dump(),
            "remaining_fen": _remaining(p),
            "bank_account": payments_settings().payments_bank_account,
        }
    )


def _remaining(p: Payable) -> int:
    """What is still to pay: the due amount, or once settled what the settlement left owed."""
    if p.status == "void":
        return 0
    target = owed(p)[0] if p.settled_release_fen is not None else p.due_fen
    return max(0, target - p.received_fen)


def payables_read(rows: Sequence[Payable]) -> list[PayableRead]:
    """Payables."""
    return [payable_read(p) for p in rows]


def to_csv(fields: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    """Rows as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(fields)
    for row in rows:
        writer.writerow(["" if row.get(f) is None else str(row.get(f)) for f in fields])
    return "\ufeff" + out.getvalue()


STATEMENT_FIELDS = (
    "entry_id",
    "posted_at",
    "account",
    "transaction_id",
    "kind",
    "deal_id",
    "memo",
    "amount_fen",
    "balance_fen",
)
MISMATCH_FIELDS = ("kind", "provider", "record_id", "detail", "provider_fen", "ledger_fen")


def statement_csv(data: dict[str, Any]) -> str:
    """A statement as CSV: one opening row per account, the movements, one closing row per account."""
    rows: list[dict[str, Any]] = [
        {"kind": "opening", "account": a["account"], "balance_fen": a["opening_fen"]} for a in data["accounts"]
    ]
    rows += data["movements"]
    rows += [{"kind": "closing", "account": a["account"], "balance_fen": a["closing_fen"]} for a in data["accounts"]]
    return to_csv(STATEMENT_FIELDS, rows)

"""Money: fee schedules, the double-entry ledger, payables and providers, statements and reconciliation."""

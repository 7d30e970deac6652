"""Deals: negotiation, auctions, public notice, contracts, milestones and brokers as one explicit state machine."""

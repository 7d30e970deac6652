"""Matching (供需对接): demands meet listings, with scores, reasons, feedback, saved searches and new-match events."""

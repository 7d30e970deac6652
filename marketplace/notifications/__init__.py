"""In-app notifications per user, raised from domain events by a table of rules, with an e-mail port."""

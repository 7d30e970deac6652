"""Outbound webhooks: endpoints, signed deliveries with retries and ordering, the delivery log, the event catalogue."""

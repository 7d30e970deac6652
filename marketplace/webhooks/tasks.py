"""The worker's webhook jobs: fan every event out to matching endpoints, and run each endpoint's deliveries."""

from __future__ import annotations

from marketplace.events.jobs import job_handler, subscribe
from marketplace.webhooks.delivery import DELIVER_KIND, FANOUT_KIND, deliver, fan_out

job_handler(FANOUT_KIND)(fan_out)
job_handler(DELIVER_KIND)(deliver)
subscribe("*", FANOUT_KIND)

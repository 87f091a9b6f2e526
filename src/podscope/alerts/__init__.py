"""Saved searches and alerts: each episode stored is searched for every saved search, each match becomes an event,
delivered to the search's webhook (Standard Webhooks, signed) and listed in its feed.

    new = lib.alerts.add('"bitter lesson"', speaker="Richard Sutton", webhook="https://example.org/hook")
    print(new.secret)                     # whsec_...: shown this once, for the receiver to check signatures
    lib.alerts.scan()                     # run by every ingest; searches what was stored since the last scan
    lib.alerts.deliver()                  # `podscope serve` runs this continually; `podscope alerts deliver` once

Why it looks like this:
- Searching must not grow with the library: an episode is searched alone, once, as it arrives (`matching`), its
  segments read once whatever the number of saved searches.
- Nothing is lost and nothing fires twice: an episode is queued in the transaction that stores it, and its events,
  their deliveries and the hits they report are stored together as it leaves the queue (a hit is reported once per
  saved search, so a speaker named later fires only for what is new). An event is stored before it is sent; a
  deliverer killed while sending leaves its claim to run out and the delivery is sent again, with the same
  `webhook-id`, so a receiver can drop the duplicate.
- The network is untrusted: webhooks go through the feed fetcher's rules (public addresses only unless
  `allow_private_addresses`, timeouts, no redirects followed).
"""

from podscope.alerts.matching import ALERT_SIMILARITY, match_episode
from podscope.alerts.runner import Deliverer
from podscope.alerts.service import WINDOW, Alerts, Poster, retry_delay
from podscope.alerts.signing import new_secret, signature

__all__ = [
    "ALERT_SIMILARITY",
    "WINDOW",
    "Alerts",
    "Deliverer",
    "Poster",
    "match_episode",
    "new_secret",
    "retry_delay",
    "signature",
]

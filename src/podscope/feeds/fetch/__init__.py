"""Feeds and episode audio over HTTP, fetched so that a hostile or broken server cannot do harm.

Why it looks like this:
- A feed URL is untrusted input: it comes from the user, from a directory, or from another feed's redirect. Fetched
  blindly, it could make podscope read a router's admin page, a cloud metadata service (169.254.169.254) or a database
  on localhost on someone else's behalf. So only http(s) is ever fetched, and unless `allow_private` every address a
  host resolves to must be public. Redirects are followed by hand so that every hop passes the same check, and the
  connection itself checks the address it actually reached, so a name that resolves to a public address for the check
  and to a private one for the connection (DNS rebinding) is refused as well.
- Servers misbehave: a "feed" can be a 1 GB file, an enclosure can stream forever. Limits are enforced while
  streaming, so nothing past the cap is read and memory stays at one chunk (plus the feed itself, which is capped).
- Transient failures (timeouts, dropped connections, 429, 5xx) are retried with exponential backoff, honouring
  Retry-After up to a cap; other failures are reported at once, in one sentence naming the URL and the status.
- Polling an unchanged feed should cost one 304: feeds are fetched with If-None-Match / If-Modified-Since, and a
  permanent redirect is reported (`moved_to`) so the subscription can be updated.
- Episodes are hundreds of MB on flaky links: downloads go to a `.part` file, resume with a Range request, and appear
  under their final name only once complete.
- File names come from feed titles, which are untrusted too: `safe_filename` makes a name that cannot leave its folder.

No proxy is used (environment proxy variables are ignored): the address checks assume a direct connection.
"""

from podscope.feeds.fetch.addresses import IPAddress
from podscope.feeds.fetch.fetcher import (
    DEFAULT_MAX_ENCLOSURE_BYTES,
    DEFAULT_MAX_FEED_BYTES,
    DEFAULT_MAX_RETRY_AFTER,
    USER_AGENT,
    FeedResponse,
    Fetcher,
    FetchError,
    ProgressHook,
)
from podscope.feeds.fetch.filenames import MAX_FILENAME_CHARS, safe_filename

__all__ = [
    "DEFAULT_MAX_ENCLOSURE_BYTES",
    "DEFAULT_MAX_FEED_BYTES",
    "DEFAULT_MAX_RETRY_AFTER",
    "MAX_FILENAME_CHARS",
    "USER_AGENT",
    "FeedResponse",
    "FetchError",
    "Fetcher",
    "IPAddress",
    "ProgressHook",
    "safe_filename",
]

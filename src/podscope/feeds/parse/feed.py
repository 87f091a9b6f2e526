"""The entry point: a feed's bytes, refused when too large or not a feed, read into a Feed with notes on what had
to be recovered."""

from __future__ import annotations

from dataclasses import replace

from lxml import etree

from podscope.errors import FormatError
from podscope.feeds.parse.channel import _channel
from podscope.feeds.parse.document import _children, _name, _parser, _prepare
from podscope.feeds.parse.records import Feed

MAX_FEED_BYTES = 50 * 1024 * 1024


class FeedFormatError(FormatError):
    """The bytes are not an RSS or Atom feed (not XML, an HTML page, another XML document, or too large)."""


def parse_feed(data: bytes, url: str | None = None) -> Feed:
    """Parse RSS 2.0, RSS 1.0 or Atom bytes into a Feed; `url` (where the feed was fetched) resolves relative links.

    Lenient: malformed XML is recovered, unreadable values become None. Raises FeedFormatError (a FormatError) when
    the input is larger than MAX_FEED_BYTES or is not a feed at all.
    """
    if len(data) > MAX_FEED_BYTES:
        raise FeedFormatError(
            f"This feed is {len(data) / 2**20:.0f} MiB; feeds over {MAX_FEED_BYTES // 2**20} MiB are refused."
        )
    url = (url.strip() or None) if url else None
    prepared, repair_notes = _prepare(data)
    parser = _parser()
    try:
        root = etree.fromstring(prepared, parser, base_url=url)
    except etree.XMLSyntaxError as error:
        raise FeedFormatError(f"This is not a feed: it is not XML ({error}).") from None
    if root is None:
        raise FeedFormatError("This is not a feed: no XML element could be read from it.")
    root_name = _name(root)
    channel = root
    if root_name in (("", "rss"), ("rdf", "rdf")):
        kind = "rss" if root_name == ("", "rss") else "rdf"
        channel = next((child for name, child in _children(root) if name == ("", "channel")), root)
    elif root_name == ("atom", "feed") or root_name == ("", "feed"):
        kind = "atom"
    elif root_name == ("", "channel"):
        kind = "rss"
    elif root_name == ("", "html"):
        raise FeedFormatError("This is a web page (HTML), not a podcast feed.")
    else:
        raise FeedFormatError(f"This is not an RSS or Atom feed: its root element is <{root.tag}>.")

    feed = _channel(root, channel, kind, url)
    errors = [f"line {e.line}: {e.message.strip()}" for e in parser.error_log if e.level >= etree.ErrorLevels.ERROR]
    errors[:0] = repair_notes
    if not errors:
        return feed
    notes = [*errors[:5], f"... and {len(errors) - 5} more XML errors"] if len(errors) > 5 else errors
    return replace(feed, well_formed=False, warnings=("the XML is not well-formed and was recovered", *notes))

"""Read a podcast feed (RSS 2.0, RSS 1.0 or Atom) into typed records, leniently and without trusting it.

Why it works this way:

* Feeds are untrusted input from anywhere, so the XML parser never resolves entities, never loads a DTD, never touches
  the network and keeps libxml2's size limits (`huge_tree=False`). On top of that, entity references are rewritten
  before parsing (outside CDATA sections and comments): an HTML named entity such as `&nbsp;` becomes its numeric
  character reference, any other reference (`&lol9;`, `&xxe;`) becomes literal text, and a bare `&` becomes `&amp;`.
  A billion-laughs bomb or an external entity is therefore left as the text of its name: nothing is expanded, read or
  fetched. Input over MAX_FEED_BYTES is refused before parsing.
* Feeds in the wild are often broken: undefined entities, undeclared namespace prefixes (`<itunes:duration>` with no
  xmlns), bad dates, relative URLs, stray whitespace. libxml2 runs in recovery mode, well-known prefixes are mapped
  to their namespaces, and a value we cannot read becomes None (with a note in `warnings`) instead of an exception.
  Only input that is not a feed at all raises FeedFormatError.
* Episodes are identified by FeedItem.key: the guid, else the enclosure URL, else the link. Items without any of these
  are kept (their text may still matter) but carry a warning and `key is None`.
* Every Podcasting 2.0 element lands somewhere: in a typed field when it is modelled and usable, otherwise in the
  `extra` of the channel or item it sits in, as (local name, attributes, text), so nothing in the namespace is lost.
* Text is whitespace-collapsed. HTML descriptions are kept raw in `description_html` and turned into plain text in
  `description`; a plain-text description or itunes:summary written by the author is preferred over stripped HTML.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import html.entities
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

from lxml import etree

from podscope.errors import FormatError

MAX_FEED_BYTES = 50 * 1024 * 1024

ExtraElement = tuple[str, dict[str, str], str]
"""A Podcasting 2.0 element kept as it was: (local name, attributes, whitespace-collapsed text)."""


class FeedFormatError(FormatError):
    """The bytes are not an RSS or Atom feed (not XML, an HTML page, another XML document, or too large)."""


# ---------------------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Enclosure:
    """A media file of an episode: RSS <enclosure>, Atom <link rel="enclosure"> or Media RSS <media:content>."""

    url: str
    type: str | None = None
    length: int | None = None  # bytes, as the feed claims


@dataclass(frozen=True)
class Source:
    """One place to get an alternate enclosure (podcast:source)."""

    uri: str
    content_type: str | None = None


@dataclass(frozen=True)
class Integrity:
    """podcast:integrity: an SRI hash or PGP signature of an alternate enclosure."""

    type: str
    value: str


@dataclass(frozen=True)
class AlternateEnclosure:
    """podcast:alternateEnclosure: another rendition of the episode (quality, codec, language, video...)."""

    type: str | None
    length: int | None = None
    bitrate: float | None = None
    height: int | None = None
    lang: str | None = None
    title: str | None = None
    rel: str | None = None
    codecs: str | None = None
    default: bool = False
    sources: tuple[Source, ...] = ()
    integrity: Integrity | None = None


@dataclass(frozen=True)
class Person:
    """podcast:person. Role and group are lower-cased; the spec's defaults are "host" and "cast"."""

    name: str
    role: str = "host"
    group: str = "cast"
    img: str | None = None
    href: str | None = None


@dataclass(frozen=True)
class Transcript:
    """podcast:transcript: a link to a transcript file (every one is kept: formats and languages differ)."""

    url: str
    type: str | None = None
    language: str | None = None
    rel: str | None = None


@dataclass(frozen=True)
class Chapters:
    """podcast:chapters: a link to a chapters file."""

    url: str
    type: str | None = None


@dataclass(frozen=True)
class Chapter:
    """One Podlove Simple Chapter (psc:chapter) written inline in the feed; start in seconds."""

    start: float
    title: str
    href: str | None = None
    image: str | None = None


@dataclass(frozen=True)
class Soundbite:
    """podcast:soundbite: a highlight, start and duration in seconds."""

    start_time: float
    duration: float
    title: str | None = None


@dataclass(frozen=True)
class Funding:
    """podcast:funding: where listeners can support the show."""

    url: str
    text: str | None = None


@dataclass(frozen=True)
class Location:
    """podcast:location: what the show or episode is about (rel="subject") or where it is made (rel="creator")."""

    name: str | None
    geo: str | None = None
    osm: str | None = None
    rel: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class License:
    """podcast:license: an SPDX identifier or a custom name, with an optional URL of the licence text."""

    name: str | None
    url: str | None = None


@dataclass(frozen=True)
class RemoteItem:
    """podcast:remoteItem: a pointer to another feed, or to one item of it."""

    feed_guid: str | None
    feed_url: str | None = None
    item_guid: str | None = None
    medium: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class ValueRecipient:
    """podcast:valueRecipient: who receives which share of a value-for-value payment."""

    name: str | None
    type: str | None
    address: str | None
    split: float | None = None
    fee: bool = False
    custom_key: str | None = None
    custom_value: str | None = None


@dataclass(frozen=True)
class ValueTimeSplit:
    """podcast:valueTimeSplit: different recipients for a stretch of the episode (seconds)."""

    start_time: float | None
    duration: float | None
    remote_start_time: float | None = None
    remote_percentage: float | None = None
    remote_item: RemoteItem | None = None
    recipients: tuple[ValueRecipient, ...] = ()


@dataclass(frozen=True)
class Value:
    """podcast:value: a value-for-value payment block (type and method as given, suggested amount as text)."""

    type: str | None
    method: str | None
    suggested: str | None = None
    recipients: tuple[ValueRecipient, ...] = ()
    time_splits: tuple[ValueTimeSplit, ...] = ()


@dataclass(frozen=True)
class Image:
    """podcast:image, or one entry of the older podcast:images srcset list (then `from_srcset` is True)."""

    href: str
    alt: str | None = None
    purpose: str | None = None
    aspect_ratio: str | None = None
    width: int | None = None
    height: int | None = None
    type: str | None = None
    from_srcset: bool = False


@dataclass(frozen=True)
class Trailer:
    """podcast:trailer: a trailer or teaser of the show or a season."""

    url: str
    title: str | None = None
    pubdate: dt.datetime | None = None
    length: int | None = None
    type: str | None = None
    season: int | None = None


@dataclass(frozen=True)
class Txt:
    """podcast:txt: free text for machines (verification codes and the like), with its purpose."""

    text: str
    purpose: str | None = None


@dataclass(frozen=True)
class UpdateFrequency:
    """podcast:updateFrequency: how often the show publishes, as text and optionally an iCalendar RRULE."""

    text: str | None
    complete: bool = False
    dtstart: dt.datetime | None = None
    rrule: str | None = None


@dataclass(frozen=True)
class SocialInteract:
    """podcast:socialInteract: where the episode's comments live."""

    protocol: str | None
    uri: str | None = None
    account_id: str | None = None
    account_url: str | None = None
    priority: int | None = None


@dataclass(frozen=True)
class ContentLink:
    """podcast:contentLink: where else the content can be seen (mostly for live items)."""

    href: str
    text: str | None = None


@dataclass(frozen=True)
class Numbering:
    """podcast:season or podcast:episode: the number (episodes may be 1.5) and its name or display text."""

    number: float
    name: str | None = None


@dataclass(frozen=True)
class Block:
    """podcast:block: whether the show asks not to be listed, on every platform (service None) or on one."""

    blocked: bool
    service: str | None = None


@dataclass(frozen=True)
class Owner:
    """itunes:owner."""

    name: str | None
    email: str | None = None


@dataclass(frozen=True, kw_only=True)
class FeedItem:
    """One episode (RSS <item>, Atom <entry>), or the content of a podcast:liveItem.

    `persons` are the item's own podcast:person entries, or the channel's when the item has none
    (`persons_from_channel` says which). `enclosure` is the main media file (the first audio or video enclosure, else
    the first one); `enclosures` holds every distinct one. `duration` is whole seconds.
    """

    guid: str | None = None
    title: str | None = None
    description: str | None = None
    description_html: str | None = None
    link: str | None = None
    published: dt.datetime | None = None
    enclosure: Enclosure | None = None
    enclosures: tuple[Enclosure, ...] = ()
    alternate_enclosures: tuple[AlternateEnclosure, ...] = ()
    duration: int | None = None
    episode: int | None = None
    season: int | None = None
    podcast_episode: Numbering | None = None
    podcast_season: Numbering | None = None
    episode_type: str | None = None
    explicit: bool | None = None
    blocked: bool = False
    author: str | None = None
    subtitle: str | None = None
    image: str | None = None
    images: tuple[Image, ...] = ()
    persons: tuple[Person, ...] = ()
    persons_from_channel: bool = False
    transcripts: tuple[Transcript, ...] = ()
    chapters: tuple[Chapters, ...] = ()
    inline_chapters: tuple[Chapter, ...] = ()
    soundbites: tuple[Soundbite, ...] = ()
    funding: tuple[Funding, ...] = ()
    payment_url: str | None = None
    locations: tuple[Location, ...] = ()
    license: License | None = None
    value: tuple[Value, ...] = ()
    social_interacts: tuple[SocialInteract, ...] = ()
    content_links: tuple[ContentLink, ...] = ()
    txts: tuple[Txt, ...] = ()
    extra: tuple[ExtraElement, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def key(self) -> str | None:
        """How the episode is identified: the guid, else the enclosure URL, else the link, else None."""
        return self.guid or (self.enclosure.url if self.enclosure else None) or self.link

    @property
    def keyless(self) -> bool:
        """True when nothing identifies the episode, so a later fetch cannot tell whether it is the same one."""
        return self.key is None


@dataclass(frozen=True)
class LiveItem:
    """podcast:liveItem: a live stream (pending, live or ended), kept apart from the episodes."""

    status: str | None
    start: dt.datetime | None
    end: dt.datetime | None
    item: FeedItem


@dataclass(frozen=True, kw_only=True)
class Feed:
    """A parsed feed: the channel's fields, its episodes (`items`) and live streams (`live_items`).

    `format` is "rss", "rdf" (RSS 1.0) or "atom". `locked` is None when the feed has no podcast:locked. `blocked` is
    True when itunes:block or a podcast:block for every platform says "yes". `podroll` is None when absent.
    `well_formed` is False when libxml2 had to recover from errors (the first few are in `warnings`).
    """

    format: str
    url: str | None = None
    title: str | None = None
    link: str | None = None
    description: str | None = None
    description_html: str | None = None
    language: str | None = None
    author: str | None = None
    owner: Owner | None = None
    image: str | None = None
    images: tuple[Image, ...] = ()
    explicit: bool | None = None
    show_type: str | None = None  # itunes:type, "episodic" or "serial"
    complete: bool = False
    categories: tuple[tuple[str, ...], ...] = ()  # itunes:category paths, e.g. ("Business", "Entrepreneurship")
    keywords: tuple[str, ...] = ()
    generator: str | None = None
    copyright: str | None = None
    published: dt.datetime | None = None
    updated: dt.datetime | None = None
    podcast_guid: str | None = None
    locked: bool | None = None
    locked_owner: str | None = None
    blocked: bool = False
    blocks: tuple[Block, ...] = ()
    new_feed_url: str | None = None
    self_url: str | None = None
    first_page_url: str | None = None
    next_page_url: str | None = None
    payment_url: str | None = None
    persons: tuple[Person, ...] = ()
    funding: tuple[Funding, ...] = ()
    locations: tuple[Location, ...] = ()
    license: License | None = None
    value: tuple[Value, ...] = ()
    medium: str | None = None
    trailers: tuple[Trailer, ...] = ()
    txts: tuple[Txt, ...] = ()
    update_frequency: UpdateFrequency | None = None
    podroll: tuple[RemoteItem, ...] | None = None
    remote_items: tuple[RemoteItem, ...] = ()
    publisher: RemoteItem | None = None
    items: tuple[FeedItem, ...] = ()
    live_items: tuple[LiveItem, ...] = ()
    extra: tuple[ExtraElement, ...] = ()
    well_formed: bool = True
    warnings: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------------- XML input

_NAMESPACES = {
    "http://www.itunes.com/dtds/podcast-1.0.dtd": "itunes",
    "http://podcastindex.org/namespace/1.0": "podcast",
    "http://github.com/podcastindex-org/podcast-namespace/blob/main/docs/1.0.md": "podcast",
    "http://www.w3.org/2005/atom": "atom",
    "http://purl.org/atom/ns": "atom",
    "http://search.yahoo.com/mrss": "media",
    "http://purl.org/rss/1.0/modules/content": "content",
    "http://podlove.org/simple-chapters": "psc",
    "http://purl.org/dc/elements/1.1": "dc",
    "http://www.google.com/schemas/play-podcasts/1.0": "googleplay",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns": "rdf",
    "http://purl.org/rss/1.0": "",  # RSS 1.0 core elements are plain RSS elements to us
    "http://my.netscape.com/rdf/simple/0.9": "",
}
# Prefixes used without an xmlns declaration (common in hand-written feeds) and the namespace they always mean.
_PREFIXES = {name: name for name in ("itunes", "podcast", "atom", "media", "content", "psc", "dc", "googleplay")}

# The start of a CDATA section or comment, or an "&" that does not begin one of XML's own references.
_SPECIAL = re.compile(
    rb"<!\[CDATA\[|<!--|&(?!(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});)([A-Za-z_][A-Za-z0-9._:-]{0,63};)?"
)


def _entity_replacement(reference: bytes | None) -> bytes:
    """What to write instead of "&" + reference (a name and ";", not one of XML's own): something needing no DTD."""
    if reference is None:
        return b"&amp;"  # a bare ampersand ("AT&T", "?a=1&b=2")
    char = html.entities.html5.get(reference.decode("ascii"))
    if char is not None:
        return "".join(f"&#{ord(c)};" for c in char).encode("ascii")  # &nbsp; -> &#160;
    return b"&amp;" + reference  # &lol9;, &xxe;: kept as literal text, never expanded


def _neutralise_entities(data: bytes) -> tuple[bytes, int]:
    """Rewrite entity references outside CDATA sections and comments (in one linear pass); count the changes."""
    parts: list[bytes] = []
    position = changes = 0
    while (match := _SPECIAL.search(data, position)) is not None:
        token = match.group(0)
        if token.startswith(b"<"):
            end = data.find(b"]]>" if token == b"<![CDATA[" else b"-->", match.end())
            if end < 0:
                break  # unterminated: the rest is literal text to the parser anyway
            parts.append(data[position : end + 3])
            position = end + 3
            continue
        replacement = _entity_replacement(match.group(1))
        changes += replacement != token
        parts += (data[position : match.start()], replacement)
        position = match.end()
    parts.append(data[position:])
    return b"".join(parts), changes


_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)""")
_NOT_UTF8 = re.compile("[\udc80-\udcff]+")


def _as_utf8(data: bytes) -> tuple[bytes, bool]:
    """Bytes said to be UTF-8 (or undeclared) that are not: read the stray bytes as Windows-1252, the usual culprit."""
    declared = _DECLARED_ENCODING.match(data)
    if declared is not None and declared.group(1).lower().replace(b"-", b"") != b"utf8":
        return data, False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="surrogateescape")
        text = _NOT_UTF8.sub(lambda m: bytes(ord(c) - 0xDC00 for c in m.group()).decode("cp1252", "replace"), text)
        return text.encode("utf-8"), True
    return data, False


def _prepare(data: bytes) -> tuple[bytes, list[str]]:
    """Drop a UTF-8 BOM and leading whitespace, fix stray non-UTF-8 bytes and neutralise entity references; with a
    note for each kind of repair.

    Only for ASCII-compatible encodings: rewriting UTF-16/32 bytes would corrupt them (the parser's own settings
    still protect those).
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4]:
        return data, []
    data, transcoded = _as_utf8(data.lstrip(b" \t\r\n"))
    notes = ["bytes that are not UTF-8 were read as Windows-1252"] if transcoded else []
    data, repairs = _neutralise_entities(data)
    if repairs:
        notes.append(f"{repairs} undefined entity references or bare '&' were repaired")
    return data, notes


def _parser() -> Any:
    return etree.XMLParser(recover=True, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _normalise_namespace(uri: str) -> str:
    uri = uri.strip().lower().rstrip("/#")
    return "http://" + uri[len("https://") :] if uri.startswith("https://") else uri


def _name(node: Any) -> tuple[str, str] | None:
    """(namespace alias, lower-cased local name), or None for comments, processing instructions and entities."""
    tag = node.tag
    if not isinstance(tag, str):
        return None
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        namespace = _NAMESPACES.get(_normalise_namespace(uri), uri)
        return namespace, local.lower()
    prefix, colon, local = tag.partition(":")
    if colon:
        return _PREFIXES.get(prefix.lower(), prefix), local.lower()
    return "", tag.lower()


def _local_name(node: Any) -> str:
    tag: str = node.tag
    return tag.rpartition("}")[2].rpartition(":")[2]


def _children(node: Any) -> Iterator[tuple[tuple[str, str], Any]]:
    for child in node:
        name = _name(child)
        if name is not None:
            yield name, child


# ---------------------------------------------------------------------------------------------------- values


def _collapse(text: str | None) -> str | None:
    collapsed = " ".join((text or "").split())
    return collapsed or None


def _all_text(node: Any) -> str:
    return "".join(part for part in node.itertext() if isinstance(part, str))


def _text(node: Any) -> str | None:
    """The element's text (including any children's), whitespace-collapsed; None when empty."""
    return _collapse(_all_text(node))


def _attr(node: Any, name: str) -> str | None:
    value = node.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in node.attrib.items() if k.lower() == lowered), None)
    return _collapse(value)


def _inner_markup(node: Any) -> str | None:
    """The element's content as written: its text, or its children serialised when HTML was embedded unescaped."""
    if len(node) == 0:
        content = node.text or ""
    else:
        children = "".join(etree.tostring(child, encoding="unicode", with_tail=True) for child in node)
        content = (node.text or "") + children
    return content.strip() or None


def _resolve(node: Any, value: str | None, base: str | None) -> str | None:
    """A URL stripped of surrounding whitespace and resolved against xml:base and the feed URL."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    element_base = node.base if isinstance(node.tag, str) else None
    for candidate in (element_base, base):
        if candidate:
            try:
                return urljoin(candidate, value)
            except ValueError:
                continue
    return value


def _url_attr(node: Any, name: str, base: str | None) -> str | None:
    return _resolve(node, node.get(name), base)


def _float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        number = float(text.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _int(text: str | None, *, positive: bool = False) -> int | None:
    number = _float(text)
    if number is None or number != int(number) or number < (1 if positive else 0):
        return None
    return int(number)


_YES = frozenset({"yes", "true", "explicit", "1"})
_NO = frozenset({"no", "false", "clean", "0"})


def _yes_no(text: str | None) -> bool | None:
    value = (text or "").strip().lower()
    return True if value in _YES else False if value in _NO else None


def parse_clock(text: str | None) -> float | None:
    """Seconds from "SS", "MM:SS" or "HH:MM:SS" (each part may have a fraction); None when unreadable or negative."""
    if text is None:
        return None
    parts = text.strip().split(":")
    if not parts or len(parts) > 3:
        return None
    total = 0.0
    for part in parts:
        number = _float(part) if part.strip() else None
        if number is None or number < 0:
            return None
        total = total * 60 + number
    return total


def parse_duration(text: str | None) -> int | None:
    """Whole seconds of an itunes:duration ("SS", "MM:SS", "HH:MM:SS"), rounded; None when unreadable."""
    seconds = parse_clock(text)
    return None if seconds is None else round(seconds)


_MONTHS = {"january": "Jan", "february": "Feb", "march": "Mar", "april": "Apr", "june": "Jun", "july": "Jul"}
_MONTHS |= {"august": "Aug", "september": "Sep", "sept": "Sep", "october": "Oct", "november": "Nov", "december": "Dec"}
_ZONES = {"CET": "+0100", "CEST": "+0200", "BST": "+0100", "EET": "+0200", "EEST": "+0300", "AEST": "+1000"}
_ZONES |= {"AEDT": "+1100", "IST": "+0530", "JST": "+0900", "HST": "-1000", "AKST": "-0900", "AKDT": "-0800"}
_ISO_START = re.compile(r"^\d{4}-\d{2}")


def _rfc822(text: str) -> dt.datetime | None:
    words = text.replace(",", ", ").split()
    words = [_MONTHS.get(w.lower().rstrip("."), w) for w in words]
    if words and words[-1].upper() in _ZONES:
        words[-1] = _ZONES[words[-1].upper()]
    elif words and re.fullmatch(r"[+-]\d\d:\d\d", words[-1]):
        words[-1] = words[-1].replace(":", "")
    if not any(":" in w for w in words):
        words += ["00:00:00", "+0000"]  # a date without a time of day
    try:
        return email.utils.parsedate_to_datetime(" ".join(words))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def parse_feed_date(text: str | None) -> dt.datetime | None:
    """A timezone-aware datetime from RFC 822/2822 (and common variants) or ISO 8601; None when unreadable.

    A date without a timezone (or with "-0000", "unknown zone") is taken as UTC.
    """
    value = " ".join((text or "").split())
    if len(value) > 100:
        return None  # no date is this long; and it keeps the regular expressions below cheap
    value = re.sub(r"\s*\([^)]*\)$", "", value)  # a trailing "(UTC)" comment
    if not value:
        return None
    parsed: dt.datetime | None = None
    if _ISO_START.match(value):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            parsed = None
    if parsed is None:
        parsed = _rfc822(value)
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


_BLOCK_TAGS = frozenset(
    {"address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption", "figure", "footer"}
    | {"h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table"}
    | {"tbody", "td", "tfoot", "th", "thead", "tr", "ul"}
)
_MARKUP = re.compile(r"<[A-Za-z!/][^<>]*>|&(?:#\d+|#x[0-9a-f]+|[a-z][a-z0-9]*);", re.IGNORECASE)


class _HtmlText(HTMLParser):
    """Plain text of an HTML fragment: tags dropped, block elements separated by spaces, script/style skipped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(markup: str | None) -> str | None:
    """Plain text of an HTML fragment with whitespace collapsed; None when nothing is left."""
    if not markup:
        return None
    if not _MARKUP.search(markup):
        return _collapse(markup)
    extractor = _HtmlText()
    extractor.feed(markup)
    extractor.close()
    return _collapse("".join(extractor.parts))


def _has_markup(text: str | None) -> bool:
    return bool(text and _MARKUP.search(text))


def _descriptions(plain_sources: list[str | None], html_sources: list[str | None]) -> tuple[str | None, str | None]:
    """(plain text, raw HTML). A source written as plain text wins over HTML turned into text; the raw HTML is the
    first source that holds markup (content:encoded before description), None when no source does."""
    html_source = next((h for h in html_sources if _has_markup(h)), None)
    plain = next((_collapse(p) for p in plain_sources if p and not _has_markup(p)), None)
    if plain is None:
        plain = html_to_text(html_source) or next(filter(None, map(html_to_text, html_sources)), None)
    return plain, html_source


# ---------------------------------------------------------------------------------------------------- Podcasting 2.0


def _extra(node: Any, into: list[ExtraElement]) -> None:
    """Keep an element we do not model (and its podcast:* descendants, flattened) as (name, attributes, text)."""
    has_children = any(isinstance(child.tag, str) for child in node)
    text = _collapse(node.text) if has_children else _text(node)
    into.append((_local_name(node), {str(k): str(v) for k, v in node.attrib.items()}, text or ""))
    for name, child in _children(node):
        if name[0] == "podcast":
            _extra(child, into)


def _remote_item(node: Any, base: str | None) -> RemoteItem | None:
    feed_guid, feed_url = _attr(node, "feedGuid"), _url_attr(node, "feedUrl", base)
    if feed_guid is None and feed_url is None:
        return None
    return RemoteItem(feed_guid, feed_url, _attr(node, "itemGuid"), _attr(node, "medium"), _attr(node, "title"))


def _recipient(node: Any) -> ValueRecipient:
    return ValueRecipient(
        name=_attr(node, "name"),
        type=_attr(node, "type"),
        address=_attr(node, "address"),
        split=_float(_attr(node, "split")),
        fee=_yes_no(_attr(node, "fee")) is True,
        custom_key=_attr(node, "customKey"),
        custom_value=_attr(node, "customValue"),
    )


def _time_split(node: Any, base: str | None, extra: list[ExtraElement]) -> ValueTimeSplit:
    remote: RemoteItem | None = None
    recipients: list[ValueRecipient] = []
    for (namespace, local), child in _children(node):
        if namespace != "podcast":
            continue
        if local == "remoteitem" and remote is None and (item := _remote_item(child, base)) is not None:
            remote = item
        elif local == "valuerecipient":
            recipients.append(_recipient(child))
        else:
            _extra(child, extra)
    return ValueTimeSplit(
        start_time=_float(_attr(node, "startTime")),
        duration=_float(_attr(node, "duration")),
        remote_start_time=_float(_attr(node, "remoteStartTime")),
        remote_percentage=_float(_attr(node, "remotePercentage")),
        remote_item=remote,
        recipients=tuple(recipients),
    )


def _value(node: Any, base: str | None, extra: list[ExtraElement]) -> Value:
    recipients: list[ValueRecipient] = []
    splits: list[ValueTimeSplit] = []
    for (namespace, local), child in _children(node):
        if namespace != "podcast":
            continue
        if local == "valuerecipient":
            recipients.append(_recipient(child))
        elif local == "valuetimesplit":
            splits.append(_time_split(child, base, extra))
        else:
            _extra(child, extra)
    return Value(
        type=_attr(node, "type"),
        method=_attr(node, "method"),
        suggested=_attr(node, "suggested"),
        recipients=tuple(recipients),
        time_splits=tuple(splits),
    )


def _alternate_enclosure(node: Any, base: str | None, extra: list[ExtraElement]) -> AlternateEnclosure:
    sources: list[Source] = []
    integrity: Integrity | None = None
    for (namespace, local), child in _children(node):
        if namespace != "podcast":
            continue
        uri = _url_attr(child, "uri", base)
        kind, value = _attr(child, "type"), _attr(child, "value")
        if local == "source" and uri is not None:
            sources.append(Source(uri, _attr(child, "contentType")))
        elif local == "integrity" and integrity is None and kind is not None and value is not None:
            integrity = Integrity(kind, value)
        else:
            _extra(child, extra)
    return AlternateEnclosure(
        type=_attr(node, "type"),
        length=_int(_attr(node, "length")),
        bitrate=_float(_attr(node, "bitrate")),
        height=_int(_attr(node, "height")),
        lang=_attr(node, "lang"),
        title=_attr(node, "title"),
        rel=_attr(node, "rel"),
        codecs=_attr(node, "codecs"),
        default=_yes_no(_attr(node, "default")) is True,
        sources=tuple(sources),
        integrity=integrity,
    )


def _srcset(node: Any, base: str | None) -> list[Image]:
    images: list[Image] = []
    for entry in (node.get("srcset") or "").split(","):
        words = entry.split()
        href = _resolve(node, words[0], base) if words else None
        if href is None:
            continue
        width = _int(words[1][:-1]) if len(words) > 1 and words[1].lower().endswith("w") else None
        images.append(Image(href=href, width=width, from_srcset=True))
    return images


def _person(node: Any, base: str | None) -> Person:
    return Person(
        name=_text(node) or "",
        role=(_attr(node, "role") or "host").lower(),
        group=(_attr(node, "group") or "cast").lower(),
        img=_url_attr(node, "img", base),
        href=_url_attr(node, "href", base),
    )


def _numbering(node: Any, name_attribute: str) -> Numbering | None:
    number = _float(_text(node))
    return None if number is None else Numbering(number, _attr(node, name_attribute))


def _whole(number: float | None) -> int | None:
    return int(number) if number is not None and number == int(number) and number >= 1 else None


@dataclass
class _Collected:
    """Everything gathered from the children of one channel or item before it is frozen into a record."""

    base: str | None
    persons: list[Person] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)
    licenses: list[License] = field(default_factory=list)
    value: list[Value] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    txts: list[Txt] = field(default_factory=list)
    funding: list[Funding] = field(default_factory=list)
    extra: list[ExtraElement] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def shared(self, local: str, node: Any) -> bool:
        """Collect a Podcasting 2.0 element allowed in both channel and item; False when it is not one (or unusable)."""
        base = self.base
        if local == "person":
            self.persons.append(_person(node, base))
        elif local == "location":
            name, geo, osm = _text(node), _attr(node, "geo"), _attr(node, "osm")
            if name is None and geo is None and osm is None:
                return False
            self.locations.append(Location(name, geo, osm, _attr(node, "rel"), _attr(node, "country")))
        elif local == "license" and not self.licenses:
            self.licenses.append(License(_text(node), _url_attr(node, "url", base)))
        elif local == "value":
            self.value.append(_value(node, base, self.extra))
        elif local == "image" and (href := _url_attr(node, "href", base)) is not None:
            self.images.append(
                Image(
                    href=href,
                    alt=_attr(node, "alt"),
                    purpose=_attr(node, "purpose"),
                    aspect_ratio=_attr(node, "aspect-ratio"),
                    width=_int(_attr(node, "width")),
                    height=_int(_attr(node, "height")),
                    type=_attr(node, "type"),
                )
            )
        elif local == "images" and (srcset := _srcset(node, base)):
            self.images.extend(srcset)
        elif local == "txt" and (text := _text(node)) is not None:
            self.txts.append(Txt(text, _attr(node, "purpose")))
        elif local == "funding" and (url := _url_attr(node, "url", base)) is not None:
            self.funding.append(Funding(url, _text(node)))
        else:
            return False
        return True

    @property
    def license(self) -> License | None:
        return self.licenses[0] if self.licenses else None

    @property
    def artwork(self) -> str | None:
        """The podcast:image meant as artwork (or the widest srcset entry), for when no itunes:image is given."""
        artwork = [i for i in self.images if "artwork" in (i.purpose or "artwork").lower().split()]
        if not artwork:
            return None
        return max(artwork, key=lambda i: i.width or 0).href


# ---------------------------------------------------------------------------------------------------- items


def _media(local: str, node: Any, base: str | None, enclosures: list[Enclosure], thumbnails: list[str]) -> None:
    """Media RSS content and thumbnails, directly in the item or inside media:group."""
    if local == "content":
        found = _enclosure(_url_attr(node, "url", base), _attr(node, "type"), _attr(node, "fileSize"))
        if found is not None:
            enclosures.append(found)
    elif local == "thumbnail" and (url := _url_attr(node, "url", base)) is not None:
        thumbnails.append(url)
    elif local == "group":
        for (namespace, child_local), child in _children(node):
            if namespace == "media":
                _media(child_local, child, base, enclosures, thumbnails)


def _enclosure(url: str | None, kind: str | None, length: str | None) -> Enclosure | None:
    return None if url is None else Enclosure(url, kind, _int(length))


def _distinct(enclosures: list[Enclosure]) -> list[Enclosure]:
    """Enclosures with distinct URLs, first occurrence kept (media:content often repeats the RSS enclosure)."""
    seen: set[str] = set()
    kept: list[Enclosure] = []
    for enclosure in enclosures:
        if enclosure.url not in seen:
            seen.add(enclosure.url)
            kept.append(enclosure)
    return kept


def _psc_chapters(node: Any, base: str | None) -> list[Chapter]:
    chapters: list[Chapter] = []
    for (namespace, local), child in _children(node):
        start = parse_clock(_attr(child, "start"))
        if namespace == "psc" and local == "chapter" and start is not None:
            title = _attr(child, "title") or ""
            chapters.append(Chapter(start, title, _url_attr(child, "href", base), _url_attr(child, "image", base)))
    return chapters


def _author_name(node: Any) -> str | None:
    """An Atom person construct's name, else the element's text (RSS author, dc:creator)."""
    for (_, local), child in _children(node):
        if local == "name":
            return _text(child)
    return _text(node)


def _first(*values: str | None) -> str | None:
    return next((v for v in values if v), None)


_EPISODE_TYPES = frozenset({"full", "trailer", "bonus"})
_PUBLISHED = frozenset({("", "pubdate"), ("dc", "date"), ("atom", "published"), ("atom", "issued")})
_AUTHORS = {("itunes", "author"): 0, ("dc", "creator"): 1, ("", "author"): 2, ("atom", "author"): 3}


@dataclass
class _ItemCollected(_Collected):
    transcripts: list[Transcript] = field(default_factory=list)
    chapters: list[Chapters] = field(default_factory=list)
    soundbites: list[Soundbite] = field(default_factory=list)
    alternates: list[AlternateEnclosure] = field(default_factory=list)
    socials: list[SocialInteract] = field(default_factory=list)
    content_links: list[ContentLink] = field(default_factory=list)
    season: Numbering | None = None
    episode: Numbering | None = None

    def podcast(self, local: str, node: Any) -> None:
        """Collect one podcast:* child of an item: modelled when usable, else kept in extra."""
        base = self.base
        url = _url_attr(node, "url", base)
        if local == "transcript" and url is not None:
            kind, language, rel = _attr(node, "type"), _attr(node, "language"), _attr(node, "rel")
            self.transcripts.append(Transcript(url, kind, language, rel))
        elif local == "chapters" and url is not None:
            self.chapters.append(Chapters(url, _attr(node, "type")))
        elif (
            local == "soundbite"
            and (start := _float(_attr(node, "startTime"))) is not None
            and (length := _float(_attr(node, "duration"))) is not None
        ):
            self.soundbites.append(Soundbite(start, length, _text(node)))
        elif local == "alternateenclosure":
            self.alternates.append(_alternate_enclosure(node, base, self.extra))
        elif local == "socialinteract" and (protocol := _attr(node, "protocol")) is not None:
            self.socials.append(
                SocialInteract(
                    protocol=protocol,
                    uri=_url_attr(node, "uri", base),
                    account_id=_attr(node, "accountId"),
                    account_url=_url_attr(node, "accountUrl", base),
                    priority=_int(_attr(node, "priority")),
                )
            )
        elif local == "contentlink" and (href := _url_attr(node, "href", base)) is not None:
            self.content_links.append(ContentLink(href, _text(node)))
        elif local == "season" and self.season is None and (number := _numbering(node, "name")) is not None:
            self.season = number
        elif local == "episode" and self.episode is None and (number := _numbering(node, "display")) is not None:
            self.episode = number
        elif not self.shared(local, node):
            _extra(node, self.extra)


def _permalink(guid_node: Any, guid: str, base: str | None) -> str | None:
    """The link an RSS guid stands for: when it is an http(s) URL, or explicitly marked isPermaLink="true"."""
    flag = (_attr(guid_node, "isPermaLink") or "").lower()
    if flag == "false" or " " in guid:
        return None
    if flag == "true" or re.match(r"(?i)https?://", guid):
        return _resolve(guid_node, guid, base)
    return None


def _item(node: Any, base: str | None, channel_persons: tuple[Person, ...]) -> FeedItem:
    got = _ItemCollected(base)
    titles: list[str | None] = []
    links: list[str | None] = []
    guid: str | None = None
    permalink: str | None = None
    texts: dict[str, str | None] = {}  # description sources by kind, first one of each kind
    dates: dict[str, str | None] = {}
    authors: dict[int, str | None] = {}
    enclosures: list[Enclosure] = []
    media: list[Enclosure] = []
    thumbnails: list[str] = []
    itunes: dict[str, str | None] = {}
    itunes_image: str | None = None
    payment_url: str | None = None
    inline_chapters: list[Chapter] = []

    for (namespace, local), child in _children(node):
        qualified = (namespace, local)
        if namespace in ("", "atom") and local == "title":
            titles.append(_text(child))
        elif qualified == ("", "link"):
            links.append(_resolve(child, _all_text(child) or child.get("href"), base))
        elif qualified == ("atom", "link"):
            rel = (_attr(child, "rel") or "alternate").lower()
            href = _url_attr(child, "href", base)
            if rel == "alternate":
                links.append(href)
            elif rel == "enclosure" and href is not None:
                enclosures.append(Enclosure(href, _attr(child, "type"), _int(_attr(child, "length"))))
            elif rel == "payment":
                payment_url = payment_url or href
        elif qualified in (("", "guid"), ("atom", "id")) and guid is None:
            guid = _text(child)
            if guid is not None and qualified == ("", "guid"):
                permalink = _permalink(child, guid, base)
        elif qualified in (("", "description"), ("content", "encoded"), ("itunes", "summary")):
            texts.setdefault(local, _inner_markup(child))
        elif namespace == "atom" and local in ("summary", "content"):
            kind = "html" if (_attr(child, "type") or "text").lower() in ("html", "xhtml", "text/html") else "text"
            texts.setdefault(f"atom {local} {kind}", _inner_markup(child))
        elif qualified in _PUBLISHED:
            dates.setdefault("published", _text(child))
        elif namespace == "atom" and local in ("updated", "modified"):
            dates.setdefault("updated", _text(child))
        elif qualified == ("", "enclosure"):
            found = _enclosure(_url_attr(child, "url", base), _attr(child, "type"), _attr(child, "length"))
            if found is None:
                got.warnings.append("an enclosure without a url was ignored")
            else:
                enclosures.append(found)
        elif namespace == "media":
            _media(local, child, base, media, thumbnails)
        elif qualified in _AUTHORS:
            authors.setdefault(_AUTHORS[qualified], _author_name(child))
        elif qualified == ("itunes", "image"):
            itunes_image = itunes_image or _resolve(child, child.get("href") or _all_text(child), base)
        elif namespace == "itunes":
            itunes.setdefault(local, _text(child))
        elif qualified == ("psc", "chapters"):
            inline_chapters.extend(_psc_chapters(child, base))
        elif namespace == "podcast":
            got.podcast(local, child)

    every_enclosure = _distinct(enclosures + media)
    enclosure = next((e for e in every_enclosure if (e.type or "").startswith(("audio/", "video/"))), None)
    enclosure = enclosure or (every_enclosure[0] if every_enclosure else None)
    link = _first(*links) or permalink
    description, description_html = _descriptions(
        [
            texts.get("description"),
            texts.get("summary"),
            texts.get("atom summary text"),
            texts.get("atom content text"),
        ],
        [
            texts.get("encoded"),
            texts.get("description"),
            texts.get("summary"),
            texts.get("atom content html"),
            texts.get("atom summary html"),
        ],
    )
    published_text = dates.get("published") or dates.get("updated")
    published = parse_feed_date(published_text)
    if published is None and published_text:
        got.warnings.append(f"unreadable date {published_text!r}")
    if not (guid or enclosure or link):
        got.warnings.append("no guid, enclosure URL or link: this episode cannot be told apart from others")
    episode_type = (itunes.get("episodetype") or "").lower()
    return FeedItem(
        guid=guid,
        title=_first(*titles) or itunes.get("title"),
        description=description,
        description_html=description_html,
        link=link,
        published=published,
        enclosure=enclosure,
        enclosures=tuple(every_enclosure),
        alternate_enclosures=tuple(got.alternates),
        duration=parse_duration(itunes.get("duration")),
        episode=_int(itunes.get("episode"), positive=True) or _whole(got.episode.number if got.episode else None),
        season=_int(itunes.get("season"), positive=True) or _whole(got.season.number if got.season else None),
        podcast_episode=got.episode,
        podcast_season=got.season,
        episode_type=episode_type if episode_type in _EPISODE_TYPES else None,
        explicit=_yes_no(itunes.get("explicit")),
        blocked=_yes_no(itunes.get("block")) is True,
        author=_first(*(authors.get(rank) for rank in sorted(authors))),
        subtitle=itunes.get("subtitle"),
        image=itunes_image or got.artwork or (thumbnails[0] if thumbnails else None),
        images=tuple(got.images),
        persons=tuple(got.persons) or channel_persons,
        persons_from_channel=not got.persons and bool(channel_persons),
        transcripts=tuple(got.transcripts),
        chapters=tuple(got.chapters),
        inline_chapters=tuple(inline_chapters),
        soundbites=tuple(got.soundbites),
        funding=tuple(got.funding),
        payment_url=payment_url,
        locations=tuple(got.locations),
        license=got.license,
        value=tuple(got.value),
        social_interacts=tuple(got.socials),
        content_links=tuple(got.content_links),
        txts=tuple(got.txts),
        extra=tuple(got.extra),
        warnings=tuple(got.warnings),
    )


# ---------------------------------------------------------------------------------------------------- channel


def _categories(node: Any, path: tuple[str, ...], into: list[tuple[str, ...]]) -> None:
    """One path per innermost itunes:category, e.g. ("Business", "Entrepreneurship", "Ecommerce")."""
    here = (*path, node.get("text", "").strip())
    subcategories = [
        child for (namespace, local), child in _children(node) if (namespace, local) == ("itunes", "category")
    ]
    if not subcategories:
        into.append(here)
    for child in subcategories:
        _categories(child, here, into)


def _owner(node: Any) -> Owner | None:
    fields = {local: _text(child) for (_, local), child in _children(node) if local in ("name", "email")}
    if not any(fields.values()):
        return None
    return Owner(fields.get("name"), fields.get("email"))


def _live_item(node: Any, base: str | None, channel_persons: tuple[Person, ...]) -> LiveItem:
    return LiveItem(
        status=(_attr(node, "status") or "").lower() or None,
        start=parse_feed_date(_attr(node, "start")),
        end=parse_feed_date(_attr(node, "end")),
        item=_item(node, base, channel_persons),
    )


@dataclass
class _ChannelCollected(_Collected):
    guid: str | None = None
    locked: bool | None = None
    locked_owner: str | None = None
    blocks: list[Block] = field(default_factory=list)
    medium: str | None = None
    trailers: list[Trailer] = field(default_factory=list)
    update_frequency: UpdateFrequency | None = None
    podroll: list[RemoteItem] | None = None
    remote_items: list[RemoteItem] = field(default_factory=list)
    publisher: RemoteItem | None = None
    new_feed_url: str | None = None
    live_nodes: list[Any] = field(default_factory=list)

    def podcast(self, local: str, node: Any) -> None:
        """Collect one podcast:* child of the channel: modelled when usable, else kept in extra."""
        base = self.base
        text = _text(node)
        if local == "guid" and self.guid is None and text is not None:
            self.guid = text
        elif local == "locked" and self.locked is None and (locked := _yes_no(text)) is not None:
            self.locked, self.locked_owner = locked, _attr(node, "owner")
        elif local == "block" and (blocked := _yes_no(text)) is not None:
            self.blocks.append(Block(blocked, _attr(node, "id")))
        elif local == "medium" and self.medium is None and text is not None:
            self.medium = text.lower()
        elif local == "trailer" and (url := _url_attr(node, "url", base)) is not None:
            self.trailers.append(
                Trailer(
                    url=url,
                    title=text,
                    pubdate=parse_feed_date(_attr(node, "pubdate")),
                    length=_int(_attr(node, "length")),
                    type=_attr(node, "type"),
                    season=_int(_attr(node, "season")),
                )
            )
        elif local == "liveitem":
            self.live_nodes.append(node)
        elif local == "updatefrequency" and self.update_frequency is None:
            complete = _yes_no(_attr(node, "complete")) is True
            start = parse_feed_date(_attr(node, "dtstart"))
            self.update_frequency = UpdateFrequency(text, complete, start, _attr(node, "rrule"))
        elif local == "podroll" and self.podroll is None:
            self.podroll = []
            for (namespace, child_local), child in _children(node):
                item = _remote_item(child, base) if child_local == "remoteitem" else None
                if item is not None:
                    self.podroll.append(item)
                elif namespace == "podcast":
                    _extra(child, self.extra)
        elif local == "remoteitem" and (item := _remote_item(node, base)) is not None:
            self.remote_items.append(item)
        elif local == "publisher" and self.publisher is None and self._publisher(node):
            pass
        elif local == "newfeedurl" and self.new_feed_url is None and text is not None:
            self.new_feed_url = _resolve(node, text, base)
        elif not self.shared(local, node):
            _extra(node, self.extra)

    def _publisher(self, node: Any) -> bool:
        remote = [_remote_item(child, self.base) for (_, local), child in _children(node) if local == "remoteitem"]
        if len(remote) != 1 or remote[0] is None:
            return False
        self.publisher = remote[0]
        return True


def _redirect(root: Any, base: str | None) -> str | None:
    """An old-style <redirect><newLocation> move notice, directly under the root element."""
    for (_, local), child in _children(root):
        if local == "redirect":
            for (_, child_local), grandchild in _children(child):
                if child_local == "newlocation":
                    return _resolve(grandchild, _all_text(grandchild), base)
    return None


def _channel(root: Any, channel: Any, kind: str, base: str | None) -> Feed:
    got = _ChannelCollected(base)
    item_nodes: list[Any] = []
    values: dict[str, str | None] = {}
    texts: dict[str, str | None] = {}
    images: dict[str, str | None] = {}
    authors: dict[int, str | None] = {}
    links: dict[str, str | None] = {}
    categories: list[tuple[str, ...]] = []
    owner: Owner | None = None
    itunes: dict[str, str | None] = {}

    for (namespace, local), child in _children(channel):
        qualified = (namespace, local)
        if qualified in (("", "item"), ("atom", "entry")):
            item_nodes.append(child)
        elif namespace in ("", "atom") and local in ("title", "language", "generator", "copyright", "rights"):
            values.setdefault(local, _text(child))
        elif qualified == ("dc", "language"):
            values.setdefault("language", _text(child))
        elif qualified == ("", "link"):
            links.setdefault("alternate", _resolve(child, _all_text(child) or child.get("href"), base))
        elif qualified == ("atom", "link"):
            rel = (_attr(child, "rel") or "alternate").lower()
            links.setdefault(rel, _url_attr(child, "href", base))
        elif qualified in (("", "description"), ("itunes", "summary"), ("atom", "subtitle")):
            texts.setdefault(local, _inner_markup(child))
        elif qualified == ("", "image"):
            url = next((_resolve(c, _all_text(c), base) for (_, n), c in _children(child) if n == "url"), None)
            images.setdefault("rss", url or _url_attr(child, "href", base))
        elif qualified == ("itunes", "image"):
            images.setdefault("itunes", _resolve(child, child.get("href") or _all_text(child), base))
        elif namespace == "atom" and local in ("logo", "icon"):
            images.setdefault(local, _resolve(child, _all_text(child), base))
        elif qualified in _PUBLISHED:
            values.setdefault("published", _text(child))
        elif qualified in (("", "lastbuilddate"), ("atom", "updated"), ("atom", "modified")):
            values.setdefault("updated", _text(child))
        elif qualified in _AUTHORS or qualified == ("", "managingeditor"):
            authors.setdefault(_AUTHORS.get(qualified, 4), _author_name(child))
        elif qualified == ("itunes", "category"):
            _categories(child, (), categories)
        elif qualified == ("itunes", "owner"):
            owner = owner or _owner(child)
        elif namespace == "itunes":
            itunes.setdefault(local, _text(child))
        elif namespace == "podcast":
            got.podcast(local, child)
    if channel is not root:
        item_nodes += [child for (namespace, local), child in _children(root) if (namespace, local) == ("", "item")]

    persons = tuple(got.persons)
    show_type = (itunes.get("type") or "").lower()
    description, description_html = _descriptions(
        [texts.get("description"), texts.get("summary"), texts.get("subtitle")],
        [texts.get("description"), texts.get("summary"), texts.get("subtitle")],
    )
    keywords = tuple(k.strip() for k in (itunes.get("keywords") or "").split(",") if k.strip())
    new_feed_url = _resolve(channel, itunes.get("new-feed-url"), base) or got.new_feed_url or _redirect(root, base)
    blocked = _yes_no(itunes.get("block")) is True or any(b.blocked and b.service is None for b in got.blocks)
    return Feed(
        format=kind,
        url=base,
        title=values.get("title"),
        link=links.get("alternate"),
        description=description,
        description_html=description_html,
        language=values.get("language"),
        author=_first(*(authors.get(rank) for rank in sorted(authors))),
        owner=owner,
        image=_first(images.get("itunes"), images.get("rss"), got.artwork, images.get("logo"), images.get("icon")),
        images=tuple(got.images),
        explicit=_yes_no(itunes.get("explicit")),
        show_type=show_type if show_type in ("episodic", "serial") else None,
        complete=_yes_no(itunes.get("complete")) is True,
        categories=tuple(categories),
        keywords=keywords,
        generator=values.get("generator"),
        copyright=values.get("copyright") or values.get("rights"),
        published=parse_feed_date(values.get("published")),
        updated=parse_feed_date(values.get("updated")),
        podcast_guid=got.guid,
        locked=got.locked,
        locked_owner=got.locked_owner,
        blocked=blocked,
        blocks=tuple(got.blocks),
        new_feed_url=new_feed_url,
        self_url=links.get("self"),
        first_page_url=links.get("first"),
        next_page_url=links.get("next"),
        payment_url=links.get("payment"),
        persons=persons,
        funding=tuple(got.funding),
        locations=tuple(got.locations),
        license=got.license,
        value=tuple(got.value),
        medium=got.medium,
        trailers=tuple(got.trailers),
        txts=tuple(got.txts),
        update_frequency=got.update_frequency,
        podroll=None if got.podroll is None else tuple(got.podroll),
        remote_items=tuple(got.remote_items),
        publisher=got.publisher,
        items=tuple(_item(node, base, persons) for node in item_nodes),
        live_items=tuple(_live_item(node, base, persons) for node in got.live_nodes),
        extra=tuple(got.extra),
    )


# ---------------------------------------------------------------------------------------------------- entry point


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

"""The records a feed is read into: the channel (Feed), its episodes (FeedItem) and live streams, and every
element they hold, from enclosures to Podcasting 2.0 persons, transcripts, chapters and value splits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

ExtraElement = tuple[str, dict[str, str], str]
"""A Podcasting 2.0 element kept as it was: (local name, attributes, whitespace-collapsed text)."""


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

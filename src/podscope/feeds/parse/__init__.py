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

from podscope.feeds.parse.dates import parse_feed_date
from podscope.feeds.parse.descriptions import html_to_text
from podscope.feeds.parse.feed import MAX_FEED_BYTES, FeedFormatError, parse_feed
from podscope.feeds.parse.records import (
    AlternateEnclosure,
    Block,
    Chapter,
    Chapters,
    ContentLink,
    Enclosure,
    ExtraElement,
    Feed,
    FeedItem,
    Funding,
    Image,
    Integrity,
    License,
    LiveItem,
    Location,
    Numbering,
    Owner,
    Person,
    RemoteItem,
    SocialInteract,
    Soundbite,
    Source,
    Trailer,
    Transcript,
    Txt,
    UpdateFrequency,
    Value,
    ValueRecipient,
    ValueTimeSplit,
)
from podscope.feeds.parse.values import parse_duration

__all__ = [
    "MAX_FEED_BYTES",
    "AlternateEnclosure",
    "Block",
    "Chapter",
    "Chapters",
    "ContentLink",
    "Enclosure",
    "ExtraElement",
    "Feed",
    "FeedFormatError",
    "FeedItem",
    "Funding",
    "Image",
    "Integrity",
    "License",
    "LiveItem",
    "Location",
    "Numbering",
    "Owner",
    "Person",
    "RemoteItem",
    "SocialInteract",
    "Soundbite",
    "Source",
    "Trailer",
    "Transcript",
    "Txt",
    "UpdateFrequency",
    "Value",
    "ValueRecipient",
    "ValueTimeSplit",
    "html_to_text",
    "parse_duration",
    "parse_feed",
    "parse_feed_date",
]

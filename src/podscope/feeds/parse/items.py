"""Episodes: one RSS <item> or Atom <entry> read into a FeedItem, with its enclosures, Media RSS, Podlove chapters
and item-level Podcasting 2.0 elements."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from podscope.feeds.parse.dates import parse_feed_date
from podscope.feeds.parse.descriptions import _descriptions
from podscope.feeds.parse.document import _children
from podscope.feeds.parse.podcasting import _alternate_enclosure, _Collected, _extra, _numbering, _whole
from podscope.feeds.parse.records import (
    AlternateEnclosure,
    Chapter,
    Chapters,
    ContentLink,
    Enclosure,
    FeedItem,
    Numbering,
    Person,
    SocialInteract,
    Soundbite,
    Transcript,
)
from podscope.feeds.parse.values import (
    _all_text,
    _attr,
    _float,
    _inner_markup,
    _int,
    _resolve,
    _text,
    _url_attr,
    _yes_no,
    parse_duration,
    parse_seconds,
)


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
        start = parse_seconds(_attr(child, "start"))
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

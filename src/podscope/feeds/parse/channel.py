"""The channel: an RSS <channel> or Atom <feed> read into a Feed, with its items, live items and channel-level
Podcasting 2.0 elements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from podscope.feeds.parse.dates import parse_feed_date
from podscope.feeds.parse.descriptions import _descriptions
from podscope.feeds.parse.document import _children
from podscope.feeds.parse.items import _AUTHORS, _PUBLISHED, _author_name, _first, _item
from podscope.feeds.parse.podcasting import _Collected, _extra, _remote_item
from podscope.feeds.parse.records import Block, Feed, LiveItem, Owner, Person, RemoteItem, Trailer, UpdateFrequency
from podscope.feeds.parse.values import _all_text, _attr, _inner_markup, _int, _resolve, _text, _url_attr, _yes_no


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

"""The Podcasting 2.0 namespace: its elements shared by channel and item (persons, locations, value, images,
funding...), and whatever it holds that is not modelled, kept as extra elements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from podscope.feeds.parse.document import _children, _local_name
from podscope.feeds.parse.records import (
    AlternateEnclosure,
    ExtraElement,
    Funding,
    Image,
    Integrity,
    License,
    Location,
    Numbering,
    Person,
    RemoteItem,
    Source,
    Txt,
    Value,
    ValueRecipient,
    ValueTimeSplit,
)
from podscope.feeds.parse.values import _attr, _collapse, _float, _int, _resolve, _text, _url_attr, _yes_no


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

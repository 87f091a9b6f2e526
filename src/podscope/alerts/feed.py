"""A saved search's events as an Atom feed (RFC 4287), so a feed reader follows new mentions: one entry per event, its
hits with speaker, time, text and deep link. Pure: the events in, the document out."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from podscope.alert_records import AlertEvent, SavedSearch

ATOM = "http://www.w3.org/2005/Atom"


def _rfc3339(stored: str) -> str:
    return stored if stored.endswith("Z") else f"{stored}Z"


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return (
        f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"
        if whole >= 3600
        else f"{whole // 60}:{whole % 60:02d}"
    )


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        node.text = text
    return node


def atom(alert: SavedSearch, events: Sequence[AlertEvent], *, base_url: str, self_url: str) -> bytes:
    """The feed of `alert` with `events` (newest first); `self_url` is the feed's own address (with its read key)."""
    ET.register_namespace("", ATOM)
    base = base_url.rstrip("/")
    feed = ET.Element(f"{{{ATOM}}}feed")
    _add(feed, "id", f"{base}/alerts/{alert.id}")
    _add(feed, "title", f"podscope alert: {alert.name}")
    filters = [f"speaker {alert.speaker}" if alert.speaker else "", f"podcast {alert.podcast}" if alert.podcast else ""]
    said = ", ".join(f for f in filters if f)
    _add(feed, "subtitle", f"New matches of {alert.query!r} ({alert.mode}{'; ' + said if said else ''})")
    updated = events[0].created_at if events else alert.created_at
    _add(feed, "updated", _rfc3339(updated))
    _add(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    _add(feed, "link", rel="alternate", href=f"{base}/alerts/{alert.id}", type="text/html")
    author = _add(feed, "author")
    _add(author, "name", "podscope")
    _add(feed, "generator", "podscope")
    for event in events:
        data = event.payload["data"]
        episode = data["episode"]
        hits = data["hits"]
        entry = _add(feed, "entry")
        _add(entry, "id", f"{base}/alerts/{alert.id}/events/{event.id}")
        count = data.get("total_hits", len(hits))
        _add(entry, "title", f"{count} match{'es' if count != 1 else ''} in {episode['podcast']}: {episode['title']}")
        _add(entry, "updated", _rfc3339(event.created_at))
        _add(entry, "published", _rfc3339(event.created_at))
        _add(entry, "link", rel="alternate", href=hits[0]["link"] if hits else episode["link"], type="text/html")
        lines = [f"{h['speaker']} at {_clock(h['start'])}: {h['text']} ({h['link']})" for h in hits]
        why = "a speaker was named" if event.reason == "attribution" else "a new episode"
        _add(entry, "summary", f"{why}: " + " | ".join(lines))
        content = _add(entry, "content", type="html")
        items = "".join(
            f'<li><a href="{_html(h["link"])}">{_html(h["speaker"])} at {_clock(h["start"])}</a>: '
            f"{_html(h['text'])}</li>"
            for h in hits
        )
        content.text = f"<p>{_html(why)}</p><ul>{items}</ul>"
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")

"""Reading values out of elements: collapsed text, attributes, URLs resolved against the base, numbers, yes/no flags
and durations."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urljoin

from lxml import etree


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


def parse_seconds(text: str | None) -> float | None:
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
    seconds = parse_seconds(text)
    return None if seconds is None else round(seconds)

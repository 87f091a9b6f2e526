"""Descriptions: HTML fragments turned into plain text, and the choice between a plain and an HTML source."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from podscope.feeds.parse.values import _collapse

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

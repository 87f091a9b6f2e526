"""The feed's bytes as an XML document: repairs before parsing (encoding, entity references), the hardened libxml2
parser, and element names with their namespaces mapped to the usual prefixes."""

from __future__ import annotations

import html.entities
import re
from collections.abc import Iterator
from typing import Any

from lxml import etree

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

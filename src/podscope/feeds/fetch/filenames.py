"""Episode file names made from untrusted feed titles, safe in any folder on any common file system."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

MAX_FILENAME_CHARS = 120
# ext4, APFS and NTFS allow 255 bytes (or UTF-16 units) per name; stay well under for any suffix added later.
_MAX_FILENAME_BYTES = 200
_MEDIA_EXTENSIONS = frozenset(
    {
        ".mp3", ".m4a", ".m4b", ".aac", ".ogg", ".oga", ".opus", ".flac", ".wav", ".aif", ".aiff", ".wma",
        ".mp4", ".m4v", ".mov", ".webm", ".mkv", ".3gp",
    }
)  # fmt: skip
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"} | {f"{dev}{n}" for dev in ("com", "lpt") for n in "0123456789¹²³"}
)
_UNSAFE_CHARS = re.compile(r'[/\\<>:"|?*]')


def _url_extension(url: str) -> str | None:
    path = unquote(urlsplit(url).path).split(";", 1)[0]
    suffix = PurePosixPath(path).suffix.lower()
    return suffix if suffix in _MEDIA_EXTENSIONS else None


def _clean_extension(ext: str) -> str:
    letters = "".join(ch for ch in ext.lower() if ch.isascii() and ch.isalnum())[:10]
    return f".{letters}" if letters else ""


def safe_filename(title: str, url: str, default_ext: str = ".mp3") -> str:
    """A file name for an episode that can never escape its folder, the same for the same title and URL.

    No path separators, no `..`, no leading dot or dash, no control or bidi characters, no Windows-reserved device
    name, NFC-normalised, at most MAX_FILENAME_CHARS characters. A short hash of the URL keeps episodes with the same
    title apart. The extension comes from the URL when it is a known audio/video one, else `default_ext`.
    """
    ext = _url_extension(url) or _clean_extension(default_ext)
    digest = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    suffix = f"-{digest}{ext}"
    text = unicodedata.normalize("NFC", title)
    # Control, format (bidi overrides, zero-width), unassigned and separator characters all become plain spaces.
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    text = _UNSAFE_CHARS.sub(" ", text)
    text = re.sub(r"\.{2,}", ".", text)
    stem = " ".join(text.split()).strip(" .-_~")
    stem = stem[: MAX_FILENAME_CHARS - len(suffix)]
    budget = _MAX_FILENAME_BYTES - len(suffix.encode())
    while len(stem.encode()) > budget:
        stem = stem[:-1]
    stem = stem.rstrip(" .-_~") or "episode"
    if stem.split(".", 1)[0].strip().lower() in _WINDOWS_RESERVED:
        stem = f"_{stem}"
    return unicodedata.normalize("NFC", stem + suffix)

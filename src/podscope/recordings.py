"""Where an episode's recording is, and whether it may be served: one answer for the player, the episode pages and
the audio route.

A recording is served only from the home's media folders (samples, downloads, uploads), or as exactly the file the
episode was added from (the library records it resolved): a path that now resolves anywhere else (a symlink swapped
in) is not served. A transcript an episode was imported from is not a recording.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

MEDIA_FOLDERS = ("samples", "downloads", "uploads")  # where the home keeps recordings
# Media types of the recordings podscope accepts.
AUDIO_TYPES = {
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".m4b": "audio/mp4",
    ".aac": "audio/aac",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".flac": "audio/flac",
    ".wav": "audio/wav",
    ".aif": "audio/aiff",
    ".aiff": "audio/aiff",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".mkv": "video/x-matroska",
}


def media_type(path: Path) -> str | None:
    """The audio or video media type of a recording's file name, or None when it is not one."""
    known = AUDIO_TYPES.get(path.suffix.lower())
    if known:
        return known
    guessed = mimetypes.guess_type(path.name)[0]
    return guessed if guessed and guessed.split("/")[0] in ("audio", "video") else None


def servable(home: Path, recorded: Path) -> Path | None:
    """The file to serve for a recorded source path, or None when it now resolves outside what may be served."""
    real = recorded.resolve()
    root = home.resolve()
    if any(real.is_relative_to(root / folder) for folder in MEDIA_FOLDERS) or real == recorded:
        return real
    return None


def recording(home: Path, source: str | None) -> Path | None:
    """The recording file an episode's source names, when it is a recording that may be served and is on disk."""
    if not source or media_type(Path(source)) is None:
        return None
    path = servable(home, Path(source))
    return path if path is not None and path.is_file() else None

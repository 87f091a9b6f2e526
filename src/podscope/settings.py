"""Every setting in one table, read from defaults, then `<home>/config.toml`, then `PODSCOPE_<NAME>` variables.

The table is the documentation: `podscope settings` prints it and the README's settings section is checked against
it by a test, so a setting cannot exist without being documented.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import platformdirs

from podscope.errors import InputError, StoreError


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("asr_model", "base", "Whisper model: a name (base, tiny.en, small, ...) or a CTranslate2 model folder."),
    Setting("asr_beam_size", 1, "Beam size for recognition; 1 is greedy and fastest, 5 is slightly more accurate."),
    Setting(
        "asr_batch_size",
        8,
        "Speech stretches (up to 30 s each) recognised together; 8 is about twice as fast as 1 with the same words.",
    ),
    Setting(
        "asr_language",
        "",
        "The language of every episode (a code such as en or pt-BR); empty: the language a feed declares, else"
        " detected per episode.",
    ),
    Setting("threads", 2, "CPU threads for the models."),
    Setting("allow_download", True, "Let models missing from the offline packages be downloaded from their hub."),
    Setting("min_speakers", 1, "Fewest speakers diarization may return for an episode."),
    Setting("max_speakers", 20, "Most speakers diarization may return for an episode."),
    Setting(
        "voice_profiles",
        True,
        "Keep voiceprints, enrol people and recognise them across episodes. false turns all of it off: no enrolment,"
        " no matching, and no voiceprints kept for episodes added while it is off.",
    ),
    Setting(
        "embedding_backend",
        "onnx",
        "Sentence embeddings for semantic search: onnx (exported once, faster) or torch (sentence-transformers).",
    ),
    Setting(
        "allow_private_addresses",
        False,
        "Let feeds and downloads reach private, loopback and link-local addresses (off: protects the local network).",
    ),
    Setting("fetch_timeout", 30.0, "Seconds to wait for a feed or download server before giving up (retried)."),
    Setting("max_feed_mb", 20, "Largest feed document accepted, in MB."),
    Setting("max_download_mb", 2000, "Largest enclosure (episode audio or video) downloaded, in MB."),
    Setting("keep_downloads", False, "Keep downloaded episode audio in HOME/downloads after processing."),
    Setting("voice_learning", True, "Let confirmations and verified matches add exemplars to a profile."),
    Setting(
        "low_threshold", 0.35, "Voice similarity from which a possible match is kept as `low` (hidden by default)."
    ),
    Setting("match_threshold", 0.5, "Voice similarity from which a speaker is published as the person (`matched`)."),
    Setting("verified_threshold", 0.7, "Voice similarity from which a match is `verified` and may teach the profile."),
    Setting("unknown_threshold", 0.5, "Voice similarity at which unknown speakers of different episodes are grouped."),
    Setting("max_exemplars", 8, "Most exemplars kept per person; the most diverse are kept."),
    Setting(
        "max_podcast_share",
        0.6,
        "A person machine-matched in this share of a podcast's episodes by voices that do not sound alike is held"
        " back for review.",
    ),
    Setting(
        "api_read_requires_key",
        False,
        "Reading the HTTP API (and the pages) needs an API key (`podscope keys create --scope read`); off: anyone who"
        " can reach the server can read.",
    ),
    Setting(
        "api_open_admin_on_loopback",
        True,
        "Requests from this machine (loopback address, a localhost Host header, no cross-site origin) may change the"
        " library without a key; off: every change needs an admin key.",
    ),
    Setting(
        "api_rate_per_minute",
        120,
        "Requests per minute each API key may make (anonymous clients: per address), in bursts of up to that many; 0"
        " turns the limit off.",
    ),
    Setting(
        "serve_concurrency",
        0,
        "Most connections and requests `podscope serve` takes at once; beyond it a new request is answered 503 at"
        " once instead of waiting its turn (an overloaded server sheds load rather than time out); 0: no limit.",
    ),
    Setting(
        "public_url",
        "http://127.0.0.1:8765",
        "The address the web pages are reached at, for the deep links in alert webhooks and feeds.",
    ),
    Setting(
        "webhook_retry_seconds",
        5.0,
        "Wait before the first retry of a failed alert webhook; doubled per attempt (up to an hour, with jitter), for"
        " a day.",
    ),
    Setting(
        "webhook_disable_after",
        50,
        "An alert's webhook is disabled after this many failed deliveries in a row (the reason is shown); 0: never.",
    ),
    Setting("max_upload_mb", 2000, "Largest episode upload accepted by the HTTP API, in MB."),
    Setting(
        "max_audio_hours",
        8.0,
        "Longest recording processed, in hours (uploads, feed episodes, add-audio); a longer one is refused before"
        " it is decoded.",
    ),
    Setting(
        "translate_backend",
        "apertium",
        "Translation backend for `podscope translate`: apertium (offline, Debian packages) or argos (argostranslate).",
    ),
    Setting(
        "store_url",
        "",
        "Where the library is stored: empty for the SQLite file in the home; postgresql://user@host/db for a"
        " PostgreSQL server with pgvector shared by several machines (the postgres extra).",
    ),
)
_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """The effective settings of a library, typed; `SETTINGS` above documents each one (default and help)."""

    asr_model: str
    asr_beam_size: int
    asr_batch_size: int
    asr_language: str
    threads: int
    allow_download: bool
    min_speakers: int
    max_speakers: int
    voice_profiles: bool
    embedding_backend: str
    allow_private_addresses: bool
    fetch_timeout: float
    max_feed_mb: int
    max_download_mb: int
    keep_downloads: bool
    voice_learning: bool
    low_threshold: float
    match_threshold: float
    verified_threshold: float
    unknown_threshold: float
    max_exemplars: int
    max_podcast_share: float
    api_read_requires_key: bool
    api_open_admin_on_loopback: bool
    api_rate_per_minute: int
    serve_concurrency: int
    public_url: str
    webhook_retry_seconds: float
    webhook_disable_after: int
    max_upload_mb: int
    max_audio_hours: float
    translate_backend: str
    store_url: str

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


if {f.name for f in fields(Settings)} != set(_BY_NAME):  # the table and the record must name the same settings
    raise AssertionError("podscope.settings: SETTINGS and Settings disagree")


def resolve_home(home: str | Path | None = None) -> Path:
    """The podscope home: `--home`, else PODSCOPE_HOME, else the per-user data folder. Created if missing."""
    raw = home or os.environ.get("PODSCOPE_HOME") or platformdirs.user_data_dir("podscope")
    path = Path(raw).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise StoreError(
            f"cannot use {path} as the podscope home ({reason}); pass --home DIR or set PODSCOPE_HOME to a writable"
            " folder"
        ) from exc
    return path


def _coerce(setting: Setting, value: Any, origin: str) -> Any:
    kind = type(setting.default)
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    text = str(value).strip()
    try:
        if kind is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
    except ValueError as exc:
        raise InputError(f"setting {setting.name} from {origin}: expected {kind.__name__}, got {text!r}") from exc
    return text


def load_settings(home: Path, overrides: dict[str, Any] | None = None) -> Settings:
    """Effective settings: defaults < config.toml in the home < PODSCOPE_<NAME> variables < overrides."""
    values = {s.name: s.default for s in SETTINGS}
    config = home / "config.toml"
    if config.exists():
        try:
            data = tomllib.loads(config.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{config}: not valid TOML ({exc})") from exc
        for key, value in data.items():
            if key not in _BY_NAME:
                raise InputError(f"{config}: unknown setting {key!r}; known: {', '.join(_BY_NAME)}")
            values[key] = _coerce(_BY_NAME[key], value, str(config))
    for s in SETTINGS:
        env = os.environ.get(f"PODSCOPE_{s.name.upper()}")
        if env is not None:
            values[s.name] = _coerce(s, env, f"PODSCOPE_{s.name.upper()}")
    for key, value in (overrides or {}).items():
        if value is not None:
            if key not in _BY_NAME:
                raise InputError(f"unknown setting {key!r}; known: {', '.join(_BY_NAME)}")
            values[key] = _coerce(_BY_NAME[key], value, f"--{key.replace('_', '-')}")
    return Settings(**values)

"""What every translation backend offers, and the language codes they share.

Why it looks like this:
- The rest of podscope speaks ISO 639-1 codes (`en`, `es`), as Whisper and the episodes table do; each backend maps
  them to its own names (Apertium uses 639-3: `eng`, `spa`). Codes are checked here once, so a typo is an InputError
  naming the codes we know rather than a backend's obscure failure.
- A backend works on a list of texts, not one: starting an external translator costs far more than one sentence, so
  a whole episode goes through in one call.
- A missing pair names the pairs that *are* installed, which is what the user needs to choose another or install one.
"""

from __future__ import annotations

from typing import Protocol

from podscope.errors import InputError, ModelError

# ISO 639-1 -> ISO 639-3 (the codes Apertium's modes use), for the languages Apertium or Argos have pairs for.
ISO3: dict[str, str] = {
    "af": "afr",
    "an": "arg",
    "ar": "ara",
    "be": "bel",
    "bg": "bul",
    "br": "bre",
    "bs": "bos",
    "ca": "cat",
    "cs": "ces",
    "cy": "cym",
    "da": "dan",
    "de": "deu",
    "el": "ell",
    "en": "eng",
    "eo": "epo",
    "es": "spa",
    "et": "est",
    "eu": "eus",
    "fa": "fas",
    "fi": "fin",
    "fr": "fra",
    "ga": "gle",
    "gl": "glg",
    "he": "heb",
    "hi": "hin",
    "hr": "hrv",
    "hu": "hun",
    "id": "ind",
    "is": "isl",
    "it": "ita",
    "ja": "jpn",
    "kk": "kaz",
    "ko": "kor",
    "ky": "kir",
    "lt": "lit",
    "lv": "lav",
    "mk": "mkd",
    "ms": "msa",
    "mt": "mlt",
    "nb": "nob",
    "nl": "nld",
    "nn": "nno",
    "oc": "oci",
    "pl": "pol",
    "pt": "por",
    "ro": "ron",
    "ru": "rus",
    "sc": "srd",
    "sk": "slk",
    "sl": "slv",
    "sq": "sqi",
    "sr": "srp",
    "sv": "swe",
    "tr": "tur",
    "tt": "tat",
    "uk": "ukr",
    "ur": "urd",
    "zh": "zho",
}
ISO1: dict[str, str] = {three: one for one, three in ISO3.items()}


def language_code(code: str) -> str:
    """A language as its ISO 639-1 code: `en`, `EN`, `eng` and `en-US` are all `en`."""
    raw = code.strip().lower().replace("_", "-")
    base = raw.split("-", 1)[0]
    if base in ISO3:
        return base
    if base in ISO1:
        return ISO1[base]
    raise InputError(
        f"unknown language code {code!r}; use an ISO 639-1 code such as en, es, ca, fr, pt (known: {', '.join(ISO3)})"
    )


def pair_label(pairs: list[tuple[str, str]]) -> str:
    return ", ".join(f"{a}→{b}" for a, b in sorted(set(pairs))) or "none"


class MissingPair(InputError, ModelError):
    """A language pair the backend has no model for: the request cannot be met here (bad input to an API caller)."""


def missing_pair(source: str, target: str, pairs: list[tuple[str, str]], backend: str, hint: str) -> ModelError:
    """The error for a pair the backend cannot translate, naming the pairs it can."""
    return MissingPair(
        f"no translation from {source} to {target} with {backend}; installed pairs: {pair_label(pairs)}. {hint}"
    )


class Translator(Protocol):
    """A machine translator: which language pairs it has, and translating a batch of texts along one of them."""

    name: str

    def pairs(self) -> list[tuple[str, str]]:
        """The installed (source, target) pairs, as ISO 639-1 codes."""
        ...

    def translate(self, texts: list[str], source: str, target: str) -> list[str]:
        """`texts` translated from `source` to `target` (ISO 639-1), one result per text, in order."""
        ...

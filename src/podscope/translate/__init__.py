"""Translating transcripts: an episode's segments (cached in the store) or loose texts (for quizzes).

Why it looks like this:
- Backends sit behind the `Translator` protocol: Apertium (offline, from Debian, the default) and Argos Translate
  (neural, optional, needs its language packages). The `translate_backend` setting picks one.
- Translations are cached per segment, target language and backend, so translating an episode again asks the
  backend only for the segments it has not seen (new or corrected ones), and reading a translated episode is a query.
- Languages are ISO 639-1 codes throughout; an episode's own language (recorded when it was added) is the source
  unless the caller says otherwise.
"""

from __future__ import annotations

from podscope.errors import InputError
from podscope.records import Segment
from podscope.settings import Settings
from podscope.store.contract import EpisodeRepository, TranslationRepository
from podscope.translate.apertium import ApertiumTranslator
from podscope.translate.argos import ArgosTranslator
from podscope.translate.backend import Translator, language_code, missing_pair, pair_label

BACKENDS = ("apertium", "argos")


def make_translator(settings: Settings) -> Translator:
    """The backend the `translate_backend` setting names."""
    name = str(settings.translate_backend).strip().lower()
    if name == "apertium":
        return ApertiumTranslator()
    if name == "argos":
        return ArgosTranslator(allow_download=bool(settings.allow_download))
    raise InputError(f"translate_backend {name!r}: expected one of {', '.join(BACKENDS)}")


class Translations:
    """Translate a library's episodes (cached) and texts, with the backend its settings choose."""

    def __init__(
        self,
        cache: TranslationRepository,
        episodes: EpisodeRepository,
        settings: Settings,
        translator: Translator | None = None,
    ):
        self._cache = cache
        self._episodes = episodes
        self._settings = settings
        self._translator = translator

    @property
    def translator(self) -> Translator:
        if self._translator is None:
            self._translator = make_translator(self._settings)
        return self._translator

    def pairs(self) -> list[tuple[str, str]]:
        """The (source, target) pairs the backend has installed."""
        return self.translator.pairs()

    def source_language(self, source: str | None, episode_language: str | None = None) -> str:
        """The ISO 639-1 source: `source`, else the episode's language, else the `asr_language` setting."""
        chosen = source or episode_language or self._settings.asr_language or ""
        if not chosen:
            raise InputError("the source language is not known; pass it (--from LANG)")
        return language_code(chosen)

    def translate_texts(self, texts: list[str], target: str, source: str | None = None) -> list[str]:
        """`texts` in `target` (not cached: they belong to no segment). `source` defaults to `asr_language`."""
        src, tgt = self.source_language(source), language_code(target)
        if src == tgt:
            return list(texts)
        return self.translator.translate(list(texts), src, tgt)

    def translate_episode(self, episode_id: int, target: str, source: str | None = None) -> list[tuple[Segment, str]]:
        """Each segment of the episode with its translation into `target`, from the episode's language unless
        `source` says otherwise. Only segments without a cached translation go to the backend."""
        transcript = self._episodes.transcript(episode_id)
        src, tgt = self.source_language(source, transcript.episode.language), language_code(target)
        ids = self._cache.segment_texts(episode_id)
        if len(ids) != len(transcript.segments):  # changed between the two reads
            raise InputError(f"episode {episode_id} changed while it was being translated; try again")
        if src == tgt:
            return [(segment, segment.text) for segment in transcript.segments]
        backend = self.translator
        done = self._cache.cached_translations([sid for sid, _ in ids], src, tgt, backend.name)
        todo = [(sid, text) for sid, text in ids if sid not in done]
        if todo:
            fresh = backend.translate([text for _, text in todo], src, tgt)
            new = {sid: text for (sid, _), text in zip(todo, fresh, strict=True)}
            self._cache.save_translations(new, src, tgt, backend.name)
            done.update(new)
        return [(segment, done[sid]) for segment, (sid, _) in zip(transcript.segments, ids, strict=True)]


__all__ = [
    "BACKENDS",
    "ApertiumTranslator",
    "ArgosTranslator",
    "Translations",
    "Translator",
    "language_code",
    "make_translator",
    "missing_pair",
    "pair_label",
]

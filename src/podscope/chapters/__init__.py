"""Key moments and chapters of an episode, offline and extractive (no generated text).

    found = lib.chapters.episode(12)           # EpisodeChapters: chapters shown, key moments, podscope's own chapters
    for chapter in found.chapters:
        print(chapter.start, chapter.title)
    print(lib.chapters.export(12))             # Podcasting 2.0 chapters JSON (version 1.2.0)

Why it looks like this:
- Chapters come from topic shifts (`segmentation`: TextTiling over the segments' MiniLM vectors, which search stored
  already), titles and key moments from what was said (`titles`). A publisher's chapters (the feed's
  `podcast:chapters` file, or Podlove chapters in the feed) are preferred when the episode has them; podscope's own
  are still computed and returned beside them.
- Computed on demand, never cached: the vectors are stored, so an episode's chapters take milliseconds (numpy over a
  few thousand segments), and nothing can go stale: an episode that arrives has chapters as soon as it is indexed, a
  deleted one has none, and a re-attributed speaker is named at read time (key moments join the names then, as
  search does).
- A segment not embedded yet is embedded first (`index_pending` for that episode), as search does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from podscope.chapters.records import CHAPTER_SOURCES, ChapterSource, EpisodeChapters, KeyMoment
from podscope.chapters.segmentation import SegmentationOptions, Units, find_boundaries, units_of
from podscope.chapters.titles import (
    CANDIDATE_SEGMENTS,
    MAX_MOMENTS,
    centrality,
    centroid,
    keyword_weights,
    title,
)
from podscope.errors import FormatError, InputError
from podscope.formats import chapters as chapters_json
from podscope.records import Chapter, Segment
from podscope.store.contract import EpisodeRepository, FeedRepository, PeopleRepository, SearchRepository

__all__ = [
    "CHAPTER_SOURCES",
    "ChapterSource",
    "Chapters",
    "EpisodeChapters",
    "KeyMoment",
    "SegmentationOptions",
    "analyse",
]


def _spans(starts: Sequence[float], units: Units) -> list[np.ndarray]:
    """The unit indexes of each chapter: units starting at or after its start and before the next one's."""
    edges = np.searchsorted(units.starts, np.asarray(list(starts[1:]), dtype=np.float64), side="left")
    bounds = [0, *[int(e) for e in edges], len(units)]
    return [np.arange(bounds[i], bounds[i + 1], dtype=np.int64) for i in range(len(bounds) - 1)]


def analyse(
    segments: Sequence[Segment],
    vectors: np.ndarray,
    duration: float,
    *,
    given: Sequence[Chapter] = (),
    names: Mapping[str, str] | None = None,
    options: SegmentationOptions | None = None,
) -> tuple[list[Chapter], list[Chapter], list[KeyMoment]]:
    """(podscope's chapters, the chapters shown, the key moments) of an episode's segments in transcript order with
    their vectors. `given`: a publisher's chapters, shown instead of podscope's (an untitled one gets a title from
    what is said in it); the key moments are those of the chapters shown."""
    names = names or {}
    units = units_of(segments, vectors)
    end = max(duration, float(units.ends.max()) if len(units) else 0.0)
    if not len(units) or not units.weights.any():
        return [], sorted(given, key=lambda c: c.start), []
    starts = [0.0, *find_boundaries(units, end, options)]
    computed = _titled(segments, units, starts, end, [None] * len(starts))
    if given:
        ordered = sorted(given, key=lambda c: c.start)
        shown = _titled(segments, units, [c.start for c in ordered], end, ordered)
    else:
        shown = computed
    return computed, shown, _moments(segments, units, [c.start for c in shown], names)


def _titled(
    segments: Sequence[Segment], units: Units, starts: Sequence[float], end: float, given: Sequence[Chapter | None]
) -> list[Chapter]:
    """Chapters from their starts: a given chapter kept as it is (titled from its speech when it has no title), a
    new one titled from its speech and ending where the next starts."""
    spans = _spans(starts, units)
    weights = keyword_weights([[segments[i].text for i in span] for span in spans])
    out = []
    for n, (start, span) in enumerate(zip(starts, spans, strict=True)):
        chapter = given[n]
        if chapter is not None and chapter.title:
            out.append(chapter)
            continue
        phrase = ""
        if len(span):
            scores = centrality(units, span, centroid(units, span))
            best = span[np.argsort(-scores, kind="stable")[:CANDIDATE_SEGMENTS]]
            phrase = title([segments[i].text for i in best], sorted(scores, reverse=True)[: len(best)], weights[n])
        stop = starts[n + 1] if n + 1 < len(starts) else end
        if chapter is not None:
            out.append(Chapter(chapter.start, phrase, chapter.end, chapter.url, chapter.img, chapter.toc))
        else:
            out.append(Chapter(start=float(start), title=phrase, end=float(stop)))
    return out


def _moments(
    segments: Sequence[Segment], units: Units, starts: Sequence[float], names: Mapping[str, str]
) -> list[KeyMoment]:
    """At most one moment a chapter: its most central segment; the best MAX_MOMENTS, in time order."""
    whole = centroid(units, np.arange(len(units), dtype=np.int64))
    found = []
    for n, span in enumerate(_spans(starts, units)):
        if not len(span):
            continue
        own = centrality(units, span, centroid(units, span))
        overall = centrality(units, span, whole)
        score = 0.5 * own + 0.5 * overall
        k = int(np.argmax(own))
        i = int(span[k])
        segment = segments[i]
        label = segment.speaker
        found.append(
            KeyMoment(
                start=segment.start,
                end=segment.end,
                speaker=label,
                name=names.get(label, label) if label else None,
                text=segment.text,
                chapter=n,
                score=round(float(score[k]), 4),
            )
        )
    best = sorted(found, key=lambda m: -m.score)[:MAX_MOMENTS]
    return sorted(best, key=lambda m: m.start)


class Chapters:
    """Chapters and key moments of a library's episodes, and the publisher's chapters it keeps."""

    def __init__(
        self,
        episodes: EpisodeRepository,
        search: SearchRepository,
        feeds: FeedRepository,
        people: PeopleRepository,
        index_pending: Callable[[int], int],
        options: SegmentationOptions | None = None,
    ):
        self._episodes = episodes
        self._search = search
        self._feeds = feeds
        self._people = people
        self._index_pending = index_pending
        self.options = options or SegmentationOptions()

    def episode(self, episode_id: int) -> EpisodeChapters:
        """The episode's chapters (the publisher's when it has them, else podscope's), key moments, and podscope's
        own chapters; NotFound for an episode the library does not have."""
        transcript = self._episodes.transcript(episode_id)
        ids, vectors = self._search.episode_vectors(episode_id)
        if ids and (vectors.shape[1] == 0 or not np.all(vectors.any(axis=1))):
            self._index_pending(episode_id)  # segments stored before the search index, or still being indexed
            ids, vectors = self._search.episode_vectors(episode_id)
        if len(ids) != len(transcript.segments):  # changed between the two reads
            raise InputError(f"episode {episode_id} changed while its chapters were being found; try again")
        publisher = self._feeds.chapters(episode_id)
        computed, shown, moments = analyse(
            transcript.segments,
            vectors,
            transcript.episode.duration,
            given=publisher,
            names=self._people.speaker_names(episode_id),
            options=self.options,
        )
        episode = transcript.episode
        return EpisodeChapters(
            episode_id=episode.id,
            title=episode.title,
            podcast=episode.podcast,
            duration=episode.duration,
            source="publisher" if publisher else "computed",
            chapters=tuple(shown),
            moments=tuple(moments),
            computed=tuple(computed),
        )

    def export(self, episode_id: int) -> str:
        """The chapters shown for the episode as a Podcasting 2.0 chapters file (JSON, version 1.2.0)."""
        found = self.episode(episode_id)
        return chapters_json.write(found.chapters, title=found.title, podcast=found.podcast)

    def publisher(self, episode_id: int) -> list[Chapter]:
        """The publisher's chapters the library keeps for the episode (empty when none)."""
        self._episodes.get(episode_id)
        return self._feeds.chapters(episode_id)

    def set_publisher(self, episode_id: int, chapters: Sequence[Chapter]) -> list[Chapter]:
        """Keep these as the episode's publisher chapters (shown over podscope's); an empty list removes them."""
        self._episodes.get(episode_id)
        self._feeds.set_chapters(episode_id, chapters)
        return self._feeds.chapters(episode_id)

    def import_file(self, episode_id: int, path: str | Path) -> list[Chapter]:
        """Read a Podcasting 2.0 chapters file and keep it as the episode's publisher chapters."""
        path = Path(path)
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: cannot read the chapters file ({exc.strerror or exc})") from exc
        try:
            chapters = chapters_json.read(text)
        except FormatError as exc:
            raise InputError(f"{path.name}: {exc}") from exc
        return self.set_publisher(episode_id, chapters)

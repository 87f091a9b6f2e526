"""What the chapters service hands out: an episode's chapters (the publisher's or podscope's) and its key moments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from podscope.records import Chapter

ChapterSource = Literal["publisher", "computed"]  # the publisher's chapters file (preferred), or topic shifts
CHAPTER_SOURCES: tuple[ChapterSource, ...] = get_args(ChapterSource)


@dataclass(frozen=True)
class KeyMoment:
    """One of an episode's most central statements: a segment, who said it, and the chapter it is the centre of."""

    start: float
    end: float
    speaker: str | None  # the episode speaker label
    name: str | None  # the person at tier matched or better, else the label
    text: str
    chapter: int  # index into `EpisodeChapters.chapters`
    score: float  # centrality: cosine to its chapter's and the episode's centre, damped for short segments


@dataclass(frozen=True)
class EpisodeChapters:
    """An episode's chapters as shown (`source` says whose: the publisher's when its feed gives them), its key moments
    (at most one a chapter, in time order), and the chapters podscope found from topic shifts (also when the
    publisher's are shown)."""

    episode_id: int
    title: str
    podcast: str
    duration: float
    source: ChapterSource
    chapters: tuple[Chapter, ...]
    moments: tuple[KeyMoment, ...]
    computed: tuple[Chapter, ...]

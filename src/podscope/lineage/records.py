"""The records of quote checks and threads: what the CLI prints, the API returns and the pages show."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, get_args

Verdict = Literal["verbatim", "close", "paraphrase", "not found"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
DiffKind = Literal["equal", "replace", "insert", "delete", "gap"]


def deep_link(episode_id: int, start: float) -> str:
    """The episode page, playing from `start` (the address the web pages use)."""
    return f"/episodes/{episode_id}#t={start:.2f}"


@dataclass(frozen=True)
class DiffOp:
    """One step of the word-by-word alignment of a quote against what was said: `equal` words agree, `replace` the
    quote has other words, `delete` the quote has words nobody said there, `insert` words were said that the quote
    leaves out, `gap` an ellipsis in the quote stood for these words."""

    kind: DiffKind
    quoted: str
    said: str


@dataclass(frozen=True)
class QuoteMatch:
    """A place in the library where the quote (or its meaning) was said."""

    verdict: Verdict
    agreement: float  # word agreement of the quote and the aligned words, 0-1 (1: every word, in order, nothing more)
    similarity: float  # cosine similarity of meaning (all-MiniLM-L6-v2) of the quote and the passage
    speaker: str  # the person when attributed at `matched` or better, else the episode's anonymous label
    person: str | None
    episode_id: int
    episode: str
    podcast: str
    published: dt.date | None
    start: float  # where a player should seek
    end: float
    link: str
    said: str  # the words of the transcript over the matched span, fillers included
    diff: tuple[DiffOp, ...]
    segment_ids: tuple[int, ...]


@dataclass(frozen=True)
class QuoteCheck:
    """The answer to "was this said?": the verdict of the best place, and the other places that hold the quote."""

    quote: str
    verdict: Verdict
    best: QuoteMatch | None
    others: tuple[QuoteMatch, ...] = ()
    changed: tuple[DiffOp, ...] = ()  # the best place's steps that are not `equal` or `gap`: what the quote altered


@dataclass(frozen=True)
class Statement:
    """A segment that speaks to a thread's topic."""

    segment_id: int
    episode_id: int
    podcast: str
    episode: str
    published: dt.date | None
    speaker: str
    person: str | None
    start: float
    end: float
    text: str
    relevance: float  # cosine similarity of meaning to the topic
    link: str


@dataclass(frozen=True)
class Echo:
    """A later statement by another person that restates an earlier one: "source (date) -> echo (date)"."""

    source: Statement
    echo: Statement
    similarity: float  # cosine similarity of meaning of the two statements
    overlap: float  # share of the shorter statement's content words the other also has


@dataclass(frozen=True)
class First:
    """The first statement on the topic of one person or one show."""

    name: str
    statement: Statement


@dataclass(frozen=True)
class Firsts:
    earliest: Statement | None  # the earliest dated statement in the library (else the first undated one)
    by_person: tuple[First, ...]
    by_show: tuple[First, ...]


@dataclass(frozen=True)
class PersonView:
    """How one person's statements on the topic moved: their first and last side by side, and how far apart."""

    person: str
    count: int
    segment_ids: tuple[int, ...]  # their statements, in date order
    earliest: Statement
    latest: Statement
    distance: float  # 1 - cosine similarity of the earliest and latest statements (0: the same meaning)


@dataclass(frozen=True)
class Thread:
    """A topic's history across the library."""

    topic: str
    statements: tuple[Statement, ...]  # in date order (undated episodes last), then by time in the episode
    firsts: Firsts
    echoes: tuple[Echo, ...]
    people: tuple[PersonView, ...]

"""Quote check: where was a quoted passage said, and was it said that way?

    candidates  the text index on the quote's rarer words (bm25) and the vector index on its meaning
    windows     each candidate with its neighbouring segments in the episode (a quote can span segments)
    align       the quote's words against each window's (`podscope.lineage.text`), fillers and ellipses allowed for
    judge       verbatim (every word, in order) / close (most words: the changed ones are shown) / paraphrase (the
                same meaning, by sentence vectors, with other words) / not found

The thresholds are calibrated by `bench/lineage.py` on real transcripts (the figures it prints say how well they
separate the verdicts); they are not tuned per library.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from podscope.errors import InputError
from podscope.lineage.records import QuoteCheck, QuoteMatch, Verdict, deep_link
from podscope.lineage.text import FILLERS, Alignment, Words, align, pieces, plain, read, spoken
from podscope.records import SearchFilters, SegmentRow
from podscope.search.engine import Search
from podscope.search.query import STOPWORDS, words
from podscope.store.contract import SearchRepository

CLOSE_AGREEMENT = 0.75  # word agreement (2 x agreeing / all words) from which a quote is "close" to what was said
PARAPHRASE_SIMILARITY = 0.60  # cosine of meaning (all-MiniLM-L6-v2) from which other words say the same thing
RARE_WORDS = 4  # the rarest content words of the quote: segments holding any two of them are candidates
COUNTED_WORDS = 8  # the quote's longest content words, whose segment counts pick the rarest
TEXT_CANDIDATES = 8
MEANING_CANDIDATES = 4
MIN_WORDS = 3
MAX_WORDS = 300
OTHERS = 5


@dataclass(frozen=True)
class Window:
    """Consecutive segments of one episode, read as one run of words."""

    episode: SegmentRow  # the candidate's row (episode, podcast, date)
    rows: tuple[SegmentRow, ...]
    words: Words
    owner: tuple[int, ...]  # for each word (fillers included), the index of its row


def check_input(quote: str) -> list[Words]:
    found = pieces(quote)
    count = sum(len(p.norm) for p in found)
    if count < MIN_WORDS:
        raise InputError(f"the quote has {count} words: expected at least {MIN_WORDS} words to look for")
    if count > MAX_WORDS:
        raise InputError(f"the quote has {count} words: expected at most {MAX_WORDS}")
    return found


def candidates(search: Search, quote: str, filters: SearchFilters) -> list[int]:
    """Segment ids worth aligning: bm25 over an OR of the quote's rarest words, then the nearest in meaning."""
    segments = search.segments
    terms = [w for w in dict.fromkeys(words(quote)) if w not in STOPWORDS and w not in FILLERS and len(w) > 1]
    # Counting a word's segments walks its postings: only the longest words (the likely rare ones) are counted.
    terms = sorted(terms, key=len, reverse=True)[:COUNTED_WORDS]
    counts = segments.term_documents(terms) if terms else {}
    rare = sorted((t for t in terms if counts.get(t)), key=lambda t: counts[t])[:RARE_WORDS]
    ids: list[int] = []
    if rare:
        ids += [i for i, _ in segments.text_search(_any_two(rare), filters, limit=TEXT_CANDIDATES)]
    ids += [i for i, _ in search.nearest(plain(quote), filters)[:MEANING_CANDIDATES]]
    return list(dict.fromkeys(ids))


def _any_two(rare: list[str]) -> str:
    """An FTS5 expression for segments holding at least two of the words (one word alone when there is only one): a
    quote with one word changed still finds its place, and intersecting postings stays fast in a large library."""
    quoted = ['"' + t.replace('"', '""') + '"' for t in rare]
    if len(quoted) == 1:
        return quoted[0]
    pairs = [f"({a} AND {b})" for n, a in enumerate(quoted) for b in quoted[n + 1 :]]
    return " OR ".join(pairs)


def windows(segments: SearchRepository, ids: list[int], reach: int, filters: SearchFilters) -> list[Window]:
    """Each candidate with `reach` segments either side; candidates already inside an earlier window are skipped."""
    rows = segments.segment_rows(ids, filters)
    out: list[Window] = []
    seen: set[int] = set()
    for segment_id in ids:
        row = rows.get(segment_id)
        if row is None or segment_id in seen:
            continue
        before, after = segments.neighbours(segment_id, reach, filters)
        run = (*before, row, *after)
        seen.update(r.id for r in run)
        out.append(_window(row, run))
    return out


def _window(row: SegmentRow, run: tuple[SegmentRow, ...]) -> Window:
    norm: list[str] = []
    surface: list[str] = []
    at: list[int] = []
    owner: list[int] = []
    for k, r in enumerate(run):
        w = read(r.text, offset=len(owner))
        owner.extend([k] * (len(spoken(r.text))))
        norm += w.norm
        surface += w.surface
        at += w.at
    return Window(row, run, Words(tuple(norm), tuple(surface), tuple(at)), tuple(owner))


def judge(alignment: Alignment | None, similarity: float) -> Verdict:
    if alignment is not None and alignment.matched == alignment.quoted == alignment.spoken:
        return "verbatim"
    if alignment is not None and alignment.agreement >= CLOSE_AGREEMENT:
        return "close"
    if similarity >= PARAPHRASE_SIMILARITY:
        return "paraphrase"
    return "not found"


def _said_by(rows: tuple[SegmentRow, ...], speaker: str | None) -> bool:
    """Whether the speaker filter holds for every segment of a span (a window's neighbours are anyone's)."""
    if speaker is None:
        return True
    if speaker.lower() == "any":
        return all(r.person for r in rows)
    return all((r.person or "").casefold() == speaker.casefold() for r in rows)


def _match(
    window: Window, alignment: Alignment | None, meaning: Meaning, verdict: Verdict, speaker: str | None
) -> QuoteMatch | None:
    similarity = meaning.similarity
    if alignment is not None and verdict in ("verbatim", "close"):
        first = window.owner[window.words.at[alignment.start]]
        last = window.owner[window.words.at[alignment.end - 1]]
        said_words = spoken(" ".join(r.text for r in window.rows))
        said = " ".join(said_words[window.words.at[alignment.start] : window.words.at[alignment.end - 1] + 1])
        diff = alignment.diff
        agreement = alignment.agreement
    else:
        first, last = meaning.first, meaning.last
        said = meaning.said or " ".join(r.text for r in window.rows[first : last + 1])
        diff = ()
        agreement = alignment.agreement if alignment is not None else 0.0
    rows = window.rows[first : last + 1]
    if not _said_by(rows, speaker):
        return None
    head = window.episode
    speaker = rows[0].person or rows[0].label or "unknown"
    start = round(rows[0].start, 2)
    return QuoteMatch(
        verdict=verdict,
        agreement=round(agreement, 3),
        similarity=round(similarity, 3),
        speaker=speaker,
        person=rows[0].person,
        episode_id=head.episode_id,
        episode=head.episode,
        podcast=head.podcast,
        published=dt.date.fromisoformat(head.published) if head.published else None,
        start=start,
        end=round(rows[-1].end, 2),
        link=deep_link(head.episode_id, start),
        said=said,
        diff=diff,
        segment_ids=tuple(r.id for r in rows),
    )


RANK: dict[Verdict, int] = {"verbatim": 3, "close": 2, "paraphrase": 1, "not found": 0}


def check(
    search: Search, embed: Callable[[list[str]], npt.NDArray[np.float32]], quote: str, filters: SearchFilters
) -> QuoteCheck:
    """The verdict on a quote, the best place it was said and the other places that hold it."""
    parts = check_input(quote)
    search.segments.check_filters(filters)
    ids = candidates(search, quote, filters)
    count = sum(len(p.norm) for p in parts)
    reach = 1 + count // 25
    found = windows(search.segments, ids, min(reach, 6), filters)
    aligned = [align(parts, w.words) for w in found]
    settled = {k for k, a in enumerate(aligned) if judge(a, 0.0) in ("verbatim", "close")}
    meaning = _similarities(search.segments, embed, plain(quote), found, settled)
    matches: list[QuoteMatch] = []
    for window, alignment, sense in zip(found, aligned, meaning, strict=True):
        verdict = judge(alignment, sense.similarity)
        match = _match(window, alignment, sense, verdict, filters.speaker) if verdict != "not found" else None
        if match is not None:
            matches.append(match)
    # Words decide among verbatim and close places, meaning among paraphrases.
    matches.sort(key=lambda m: (-RANK[m.verdict], -(m.agreement if RANK[m.verdict] > 1 else m.similarity), m.start))
    unique = list({(m.episode_id, m.start): m for m in reversed(matches)}.values())[::-1]
    if not unique:
        return QuoteCheck(quote=quote, verdict="not found", best=None)
    best = unique[0]
    changed = tuple(d for d in best.diff if d.kind not in ("equal", "gap"))
    return QuoteCheck(quote=quote, verdict=best.verdict, best=best, others=tuple(unique[1:OTHERS]), changed=changed)


@dataclass(frozen=True)
class Meaning:
    similarity: float
    first: int  # the window's rows that say it best
    last: int
    said: str = ""  # the sentences that say it best (empty: the rows' whole text)


NEAREST = 1  # windows whose sentences are read one by one (those nearest in meaning among the unsettled)
SENTENCE_FLOOR = 0.35  # ... when their best segment is at least this near in meaning
MAX_SPANS = 10  # sentence runs embedded at most (the cost of a check that words did not settle)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _sentences(rows: tuple[SegmentRow, ...], around: int) -> list[tuple[int, str]]:
    """(row index, sentence) of the row `around` and its neighbours, in order."""
    out = []
    for k in range(max(0, around - 1), min(len(rows), around + 2)):
        out += [(k, t) for t in _SENTENCE.split(rows[k].text.strip()) if t]
    return out


def _similarities(
    segments: SearchRepository,
    embed: Callable[[list[str]], npt.NDArray[np.float32]],
    quote: str,
    found: list[Window],
    settled: set[int],
) -> list[Meaning]:
    """Each window's best cosine with the quote: over its segments' stored vectors, then, for the windows nearest in
    meaning whose words did not settle the verdict (`settled`: verbatim or close), over runs of consecutive sentences
    as long as the quote's (a segment's vector mixes the quote's meaning with its other sentences; a paraphrase can
    also span two segments)."""
    if not found:
        return []
    center = embed([quote])[0]
    stored = segments.vectors_of([r.id for w in found for r in w.rows])
    best: list[Meaning] = []
    for w in found:
        scored = [(float(stored[r.id] @ center), k) for k, r in enumerate(w.rows) if r.id in stored]
        top = max(scored, default=(-1.0, 0))
        best.append(Meaning(top[0], top[1], top[1]))
    length = min(2, len(_SENTENCE.split(quote.strip())) + 1)
    # Once the words settle a place, meaning can change no verdict: the sentences are read only when none did.
    open_ = [k for k in range(len(found)) if not settled and best[k].similarity >= SENTENCE_FLOOR]
    texts: list[str] = []
    spans: list[tuple[int, int, int]] = []
    for k in sorted(open_, key=lambda k: -best[k].similarity)[:NEAREST]:
        sentences = _sentences(found[k].rows, best[k].first)
        for a in range(len(sentences)):
            for b in range(a, min(len(sentences), a + length)):
                text = " ".join(t for _, t in sentences[a : b + 1])
                row = found[k].rows[sentences[a][0]]
                if sentences[a][0] == sentences[b][0] and text == row.text.strip():
                    continue  # a whole segment: its stored vector was scored above
                texts.append(text)
                spans.append((k, sentences[a][0], sentences[b][0]))
    texts, spans = texts[:MAX_SPANS], spans[:MAX_SPANS]
    if texts:
        scores = embed(texts) @ center
        for (k, lo, hi), text, s in zip(spans, texts, scores.tolist(), strict=True):
            if s > best[k].similarity:
                best[k] = Meaning(float(s), lo, hi, text)
    return best

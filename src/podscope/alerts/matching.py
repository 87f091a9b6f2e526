"""Which segments of one episode a saved search matches: pure functions over the episode's rows and vectors.

Why it looks like this: an episode is searched once for every saved search as it arrives, so the work must not grow
with the library. The episode's segments are read once (and their sentence vectors, for searches by meaning); each
saved search's query tree (`podscope.search.query`) is then evaluated on the segments' words in memory, the way the
text index reads it: words folded to lower case without accents, a phrase as consecutive words, `word*` as a prefix.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from podscope.alert_records import SavedSearch
from podscope.records import SegmentRow
from podscope.search.query import And, Node, Or, Term, normalise, parse, words
from podscope.store.names import name_key

# A segment is about a saved search by meaning from this cosine (all-MiniLM-L6-v2) on: above the search's own floor
# (0.25, which ranks; an alert must not fire on a vague likeness). Calibrated by bench/alerts.py.
ALERT_SIMILARITY = 0.5


@lru_cache(maxsize=4096)
def semantic_text(query: str) -> str:
    """What a saved search by meaning embeds: its words without the syntax."""
    return parse(query).semantic_text


@lru_cache(maxsize=4096)
def folded_tree(query: str) -> Node:
    """A saved search's query tree with its words folded as the index folds them (parsed once per query)."""
    return _fold(parse(query).tree)


def _fold(node: Node) -> Node:
    if isinstance(node, Term):
        return Term(tuple(normalise(w) for w in node.words), node.prefix)
    if isinstance(node, And):
        return And(tuple(_fold(n) for n in node.include), tuple(_fold(n) for n in node.exclude))
    return Or(tuple(_fold(n) for n in node.options))


class EpisodeText:
    """One episode's segments as an inverted index of their words: a query tree is evaluated on sets of segment ids,
    so each saved search costs a few set operations, whatever the episode's length."""

    def __init__(self, rows: Sequence[SegmentRow]):
        self.words = {r.id: words(r.text) for r in rows}
        self.index: dict[str, set[int]] = defaultdict(set)
        for segment_id, toks in self.words.items():
            for w in toks:
                self.index[w].add(segment_id)
        self.every = set(self.words)

    def _term(self, term: Term) -> set[int]:
        *head, last = term.words
        if term.prefix:
            found: set[int] = set().union(*(ids for w, ids in self.index.items() if w.startswith(last)))
        else:
            found = set(self.index.get(last, ()))
        for w in head:
            found &= self.index.get(w, set())
        if not head:
            return found
        return {i for i in found if self._sequence(term, self.words[i])}

    @staticmethod
    def _sequence(term: Term, toks: Sequence[str]) -> bool:
        n = len(term.words)
        for i in range(len(toks) - n + 1):
            if all(toks[i + k] == w for k, w in enumerate(term.words[:-1])):
                last = toks[i + n - 1]
                if last == term.words[-1] or (term.prefix and last.startswith(term.words[-1])):
                    return True
        return False

    def matching(self, node: Node) -> set[int]:
        """The segments a (folded) query tree matches."""
        if isinstance(node, Term):
            return self._term(node)
        if isinstance(node, And):
            found = set(self.every)
            for n in node.include:
                found &= self.matching(n)
            for n in node.exclude:
                found -= self.matching(n)
            return found
        return set().union(*(self.matching(n) for n in node.options))


def _allowed(alert: SavedSearch, rows: Sequence[SegmentRow], keys: Mapping[int, tuple[str, str | None]]) -> set[int]:
    """The segments an alert's filters let through (`keys`: segment id -> its podcast's and its person's keys)."""
    podcast = None if alert.podcast is None else name_key(alert.podcast)
    speaker = alert.speaker
    person = None if speaker is None or speaker.lower() == "any" else name_key(speaker)
    return {
        r.id
        for r in rows
        if (podcast is None or keys[r.id][0] == podcast)
        and (speaker is None or (keys[r.id][1] is not None and (person is None or keys[r.id][1] == person)))
    }


def match_episode(
    alerts: Sequence[SavedSearch],
    rows: Sequence[SegmentRow],
    vectors: tuple[Sequence[int], npt.NDArray[np.float32]] | None = None,
    query_vectors: Mapping[int, npt.NDArray[np.float32]] | None = None,
    similarity: float = ALERT_SIMILARITY,
) -> dict[int, list[SegmentRow]]:
    """The rows each alert matches (alert id -> rows by start); alerts matching nothing are left out. `vectors` (the
    episode's segment ids and vectors) and `query_vectors` (alert id -> its query's vector) serve the searches by
    meaning."""
    text = EpisodeText(rows)
    by_id = {r.id: r for r in rows}
    close: dict[int, set[int]] = {}
    if vectors is not None and query_vectors and len(vectors[0]) and vectors[1].shape[1]:  # a row per segment
        ids, matrix = vectors
        wanted = [a.id for a in alerts if a.mode != "text" and a.id in query_vectors]
        if wanted:
            queries = np.stack([query_vectors[i] for i in wanted])  # (alerts, 384)
            scores = queries @ matrix.T  # (alerts, segments): cosines, the vectors being unit length
            for k, alert_id in enumerate(wanted):
                close[alert_id] = {int(ids[int(j)]) for j in np.nonzero(scores[k] >= similarity)[0]}
    keys = {r.id: (name_key(r.podcast), None if r.person is None else name_key(r.person)) for r in rows}
    found: dict[int, list[SegmentRow]] = {}
    for alert in alerts:
        allowed = text.every if alert.podcast is None and alert.speaker is None else _allowed(alert, rows, keys)
        if not allowed:
            continue
        hits: set[int] = set()
        if alert.mode != "semantic":
            hits |= text.matching(folded_tree(alert.query)) & allowed
        if alert.mode != "text":
            hits |= close.get(alert.id, set()) & allowed
        if hits:
            found[alert.id] = sorted((by_id[i] for i in hits), key=lambda r: (r.start, r.id))
    return found

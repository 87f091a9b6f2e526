"""Voice profiles: scoring episode speakers against people, tiers, exemplar upkeep and unknown-voice clustering.

Pure functions over arrays and small records; the library decides when to call them and the store keeps the results.

Why it looks like this:
- A profile is a handful of exemplars (one L2-normalised embedding per enrolment, confirmation or verified match), not
  one averaged vector: a person on a studio microphone and over a telephone line are two points, and their mean sits
  near neither. A speaker's score against a person is its best cosine against that person's active exemplars.
- One person speaks at most once per episode, so an episode's speakers and the people are matched jointly (the
  Hungarian algorithm on the score matrix), never by each speaker's greedy best.
- Tiers come from calibrated thresholds (see `bench/voices.py`): `verified` far above the publication threshold,
  `matched` above it, `low` below it but close (kept, hidden by default). A human decision is the tier `confirmed`.
- A profile must not learn from its own guesses, so exemplars are added only from human decisions and `verified`
  matches, and an exemplar that does not sound like the rest of its profile is flagged and left out of scoring: one
  wrong confirmation cannot turn the profile into a magnet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import squareform

FloatArray = npt.NDArray[np.float32]

# Ordered from most to least certain; "confirmed" is a human's decision.
TIERS = ("confirmed", "verified", "matched", "low")
# A speaker whose best and second-best people score within this margin (both above the publication threshold) is
# ambiguous: it is held back from `matched` and asked about in review.
AMBIGUITY_MARGIN = 0.05
# An exemplar this close to one already kept adds nothing: it is not stored.
REDUNDANT_COSINE = 0.92


def tier_rank(tier: str) -> int:
    """0 for the most certain tier; used for "at least this tier" filters."""
    return TIERS.index(tier)


@dataclass(frozen=True)
class Thresholds:
    """Cosine thresholds between an episode speaker and a profile's best exemplar."""

    low: float
    matched: float
    verified: float

    def tier(self, score: float) -> str | None:
        if score >= self.verified:
            return "verified"
        if score >= self.matched:
            return "matched"
        if score >= self.low:
            return "low"
        return None


@dataclass(frozen=True)
class Profile:
    """A person's active exemplars, shape (k, d), rows L2-normalised (k may be 0: the profile scores nothing)."""

    person_id: int
    exemplars: FloatArray


@dataclass(frozen=True)
class Match:
    """One machine attribution proposed for an episode speaker."""

    speaker_index: int
    person_id: int
    score: float
    tier: str
    held: str | None = None  # why a score above the publication threshold was held back to `low`


def normalise(x: npt.ArrayLike) -> FloatArray:
    a = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(a, axis=-1, keepdims=True)
    return (a / np.maximum(norms, 1e-12)).astype(np.float32)


def score_matrix(speakers: FloatArray, profiles: Sequence[Profile]) -> FloatArray:
    """(n speakers, m profiles): each speaker's best cosine against each profile's exemplars (-1 when empty)."""
    out = np.full((len(speakers), len(profiles)), -1.0, dtype=np.float32)
    if len(speakers) == 0:
        return out
    s = normalise(speakers)
    for j, p in enumerate(profiles):
        if len(p.exemplars):
            out[:, j] = (s @ normalise(p.exemplars).T).max(axis=1)
    return out


def assign(
    scores: FloatArray,
    person_ids: Sequence[int],
    thresholds: Thresholds,
    *,
    forbidden: set[tuple[int, int]] | frozenset[tuple[int, int]] = frozenset(),
    taken_people: set[int] | frozenset[int] = frozenset(),
    fixed_speakers: set[int] | frozenset[int] = frozenset(),
) -> list[Match]:
    """The joint assignment of one episode's speakers to people (each at most once), with tiers.

    `forbidden` holds (speaker_index, person_id) pairs a human rejected; `taken_people` are people a human already
    placed in this episode; `fixed_speakers` are speaker indices a human decided. Pairs below the low threshold are
    never assigned.
    """
    n, m = scores.shape
    if n == 0 or m == 0:
        return []
    allowed = scores >= thresholds.low
    for j, pid in enumerate(person_ids):
        if pid in taken_people:
            allowed[:, j] = False
    for i in fixed_speakers:
        allowed[i, :] = False
    for i, pid in forbidden:
        if pid in person_ids:
            allowed[i, list(person_ids).index(pid)] = False
    if not allowed.any():
        return []
    # Maximise the total score over allowed pairs; disallowed pairs cost more than any allowed one can gain.
    cost = np.where(allowed, -scores.astype(np.float64), 10.0)
    rows, cols = linear_sum_assignment(cost)
    chosen = {int(j) for i, j in zip(rows.tolist(), cols.tolist(), strict=True) if allowed[i, j]}
    matches = []
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        if not allowed[i, j]:
            continue
        score = float(scores[i, j])
        tier = thresholds.tier(score)
        if tier is None:
            continue
        held = None
        # The runner-up among people not placed on another speaker of this episode.
        free = [k for k in range(m) if k != j and k not in chosen and allowed[i, k]]
        if free and tier == "matched":
            k = max(free, key=lambda c: float(scores[i, c]))
            runner_up = float(scores[i, k])
            if runner_up >= thresholds.matched and score - runner_up < AMBIGUITY_MARGIN:
                held = f"ambiguous: person {person_ids[k]} scores {runner_up:.2f} against {score:.2f}"
                tier = "low"
        matches.append(Match(i, int(person_ids[j]), round(score, 4), tier, held))
    return matches


# -- exemplar upkeep ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExemplarInfo:
    """What the upkeep rules need to know about an exemplar."""

    id: int
    embedding: FloatArray
    origin: str  # enrolled | confirmed | assigned | named | verified
    created: int  # order of arrival (an id or a counter)


HUMAN_ORIGINS = frozenset({"enrolled", "confirmed", "assigned", "named"})


def disagreeing(exemplars: Sequence[ExemplarInfo], threshold: float) -> dict[int, float]:
    """Exemplars that do not sound like the rest of their profile: id -> best cosine to the trusted ones.

    The first enrolment exemplars are the anchor. The others are taken in order of arrival; each must reach
    `threshold` against at least one exemplar already trusted, else it is flagged (and does not vouch for later ones).
    With a single wrong confirmation this flags exactly that one; a person heard in a new condition (a telephone line)
    usually still reaches the lower threshold against one exemplar.
    """
    if len(exemplars) < 2:
        return {}
    ordered = sorted(exemplars, key=lambda e: (e.origin != "enrolled", e.created))
    trusted = [ordered[0].embedding]
    flagged: dict[int, float] = {}
    for ex in ordered[1:]:
        best = float((normalise(np.stack(trusted)) @ normalise(ex.embedding)).max())
        if best >= threshold:
            trusted.append(ex.embedding)
        else:
            flagged[ex.id] = round(best, 4)
    return flagged


def redundant(candidate: FloatArray, kept: Sequence[FloatArray]) -> bool:
    """True when the candidate sounds almost exactly like an exemplar already kept (it would add nothing)."""
    if not kept:
        return False
    return float((normalise(np.stack(kept)) @ normalise(candidate)).max()) >= REDUNDANT_COSINE


def to_drop(exemplars: Sequence[ExemplarInfo], cap: int) -> list[int]:
    """Ids to remove so at most `cap` remain, keeping the set diverse.

    Repeatedly removes the exemplar closest to another one (the most redundant), preferring machine-learnt (`verified`)
    ones over human ones, and never the first enrolment.
    """
    keep = list(exemplars)
    dropped: list[int] = []
    if len(keep) <= cap:
        return dropped
    anchor = min(keep, key=lambda e: (e.origin != "enrolled", e.created)).id
    while len(keep) > cap:
        emb = normalise(np.stack([e.embedding for e in keep]))
        sims = emb @ emb.T
        np.fill_diagonal(sims, -np.inf)
        closeness = sims.max(axis=1)
        candidates = [i for i, e in enumerate(keep) if e.id != anchor]
        machine = [i for i in candidates if keep[i].origin not in HUMAN_ORIGINS]
        pool = machine or candidates
        victim = max(pool, key=lambda i: (closeness[i], keep[i].created))
        dropped.append(keep[victim].id)
        del keep[victim]
    return dropped


# -- coherence and recurring unknown voices -------------------------------------------------------------------------


def coherence(embeddings: FloatArray) -> float:
    """Median pairwise cosine of a set of speakers (1.0 for fewer than two): do they sound like one voice?"""
    if len(embeddings) < 2:
        return 1.0
    e = normalise(embeddings)
    sims = e @ e.T
    return float(np.median(sims[np.triu_indices(len(e), k=1)]))


def cluster_voices(embeddings: FloatArray, groups: Sequence[int], threshold: float) -> list[list[int]]:
    """Clusters of speakers that sound like one voice, never two speakers of the same group (episode) together.

    Average linkage on cosine distance, cut at 1 - threshold; a cluster that still holds two speakers of one episode
    is split again with complete linkage. Returns lists of row indices, largest first; singletons included.
    """
    n = len(embeddings)
    if n == 0:
        return []
    if n == 1:
        return [[0]]
    e = normalise(embeddings)
    dist = np.clip(1.0 - e @ e.T, 0.0, 2.0).astype(np.float64)
    g = np.asarray(groups)
    same = g[:, None] == g[None, :]
    dist[same] = 2.0
    np.fill_diagonal(dist, 0.0)
    condensed = squareform(dist, checks=False)
    labels = fcluster(linkage(condensed, method="average"), t=1.0 - threshold, criterion="distance")
    clusters: list[list[int]] = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label).tolist()
        if len(set(g[members].tolist())) == len(members) or len(members) < 2:
            clusters.append(members)
            continue
        sub = dist[np.ix_(members, members)]
        sub_labels = fcluster(
            linkage(squareform(sub, checks=False), method="complete"), t=1.0 - threshold, criterion="distance"
        )
        for s in np.unique(sub_labels):
            clusters.append([members[k] for k in np.flatnonzero(sub_labels == s).tolist()])
    return sorted(clusters, key=lambda c: (-len(c), c[0]))

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
from scipy.optimize import linear_sum_assignment

from podscope.records import ExemplarOrigin

FloatArray = npt.NDArray[np.float32]

# A speaker whose best and second-best people score within this margin (both above the publication threshold) is
# ambiguous: it is held back from `matched` and asked about in review.
AMBIGUITY_MARGIN = 0.05
# An exemplar this close to one already kept adds nothing: it is not stored.
REDUNDANT_COSINE = 0.92


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
    """A person's active exemplars, shape (k, d), rows L2-normalised (k may be 0: the profile scores nothing), and
    which of them come from human decisions (`grounded`): only those can make a match `verified`."""

    person_id: int
    exemplars: FloatArray
    grounded: npt.NDArray[np.bool_] | None = None  # None: all of them


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


def score_matrix(speakers: FloatArray, profiles: Sequence[Profile], *, grounded: bool = False) -> FloatArray:
    """(n speakers, m profiles): each speaker's best cosine against each profile's exemplars (-1 when empty).

    With grounded=True only the exemplars from human decisions count: the score that may make a match `verified`, so
    exemplars learnt from verified matches widen what a profile recognises but never verify on their own (no chain of
    machine guesses)."""
    out = np.full((len(speakers), len(profiles)), -1.0, dtype=np.float32)
    if len(speakers) == 0:
        return out
    columns, blocks = [], []
    for j, p in enumerate(profiles):
        ex = p.exemplars if not grounded or p.grounded is None else p.exemplars[p.grounded]
        if len(ex):
            columns.append(j)
            blocks.append(ex)
    if not blocks:
        return out
    sims = normalise(speakers) @ normalise(np.concatenate(blocks)).T  # one product for every profile at once
    starts = np.cumsum([0] + [len(b) for b in blocks[:-1]])
    out[:, columns] = np.maximum.reduceat(sims, starts, axis=1)  # each profile's best exemplar
    return out


def assign(
    scores: FloatArray,
    person_ids: Sequence[int],
    thresholds: Thresholds,
    *,
    forbidden: set[tuple[int, int]] | frozenset[tuple[int, int]] = frozenset(),
    taken_people: set[int] | frozenset[int] = frozenset(),
    fixed_speakers: set[int] | frozenset[int] = frozenset(),
    grounded: FloatArray | None = None,
) -> list[Match]:
    """The joint assignment of one episode's speakers to people (each at most once), with tiers.

    `forbidden` holds (speaker_index, person_id) pairs a human rejected; `taken_people` are people a human already
    placed in this episode; `fixed_speakers` are speaker indices a human decided; `grounded` are the scores against
    human-decided exemplars only (a match is `verified` only if that score also clears the threshold). Pairs below
    the low threshold are never assigned.
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
        if tier == "verified" and grounded is not None and grounded[i, j] < thresholds.verified:
            tier = "matched"
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
    origin: ExemplarOrigin
    created: int  # order of arrival (an id or a counter)
    kept: bool = False  # a human vouched for it: never flagged


HUMAN_ORIGINS = frozenset({"enrolled", "confirmed", "assigned", "named"})


def disagreeing(
    exemplars: Sequence[ExemplarInfo],
    threshold: float,
    others: Sequence[tuple[str, FloatArray]] = (),
) -> dict[int, str]:
    """Exemplars that do not sound like the rest of their profile: id -> why.

    The first enrolment is the anchor. The others are taken in order of arrival; each must reach `threshold` against
    at least one exemplar already trusted, and must not sound more like another person's profile (`others`: name and
    active exemplars) than like this one; else it is flagged (and does not vouch for later ones). A single wrong
    confirmation is flagged this way, by either test. An exemplar a human chose to keep is never flagged.
    """
    if len(exemplars) < 2:
        return {}
    ordered = sorted(exemplars, key=lambda e: (e.origin != "enrolled", e.created))
    trusted = [ordered[0].embedding]
    flagged: dict[int, str] = {}
    for ex in ordered[1:]:
        vec = normalise(ex.embedding)
        own = float((normalise(np.stack(trusted)) @ vec).max())
        rival = max(
            ((float((normalise(emb) @ vec).max()), name) for name, emb in others if len(emb)),
            default=(-1.0, ""),
        )
        if ex.kept:
            trusted.append(ex.embedding)
        elif own < threshold:
            flagged[ex.id] = f"does not sound like the rest of the profile (best similarity {own:.2f})"
        elif rival[0] >= threshold and rival[0] > own:
            flagged[ex.id] = f"sounds more like {rival[1]} ({rival[0]:.2f}) than the rest of this profile ({own:.2f})"
        else:
            trusted.append(ex.embedding)
    return flagged


def one_voice(windows: Sequence[FloatArray], exemplars: FloatArray, threshold: float, share: float = 0.9) -> bool:
    """Whether an episode speaker is one voice throughout: at least `share` of its window voiceprints reach
    `threshold` against the profile. A speaker that diarization merged from two people has an averaged voiceprint
    that can still match well; learning it would pull the profile towards the other person."""
    if not windows or not len(exemplars):
        return True
    sims = normalise(np.stack(windows)) @ normalise(exemplars).T
    return float((sims.max(axis=1) >= threshold).mean()) >= share


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


def cluster_voices(embeddings: FloatArray, groups: Sequence[int], threshold: float, floor: float) -> list[list[int]]:
    """Clusters of speakers that sound like one voice, never two speakers of the same group (episode) together.

    The same rule as matching a profile: two clusters join when their closest pair of speakers reaches `threshold`
    (as a speaker reaching a profile's best exemplar), provided they agree on average (mean similarity of all their
    pairs at least `floor`, so one lucky pair cannot chain two voices together). Closest pairs join first. Returns
    lists of row indices, largest first; singletons included.
    """
    n = len(embeddings)
    if n == 0:
        return []
    e = normalise(embeddings)
    sims = (e @ e.T).astype(np.float64)
    g = np.asarray(groups)
    conflict = g[:, None] == g[None, :]
    best = np.where(conflict, -np.inf, sims)  # closest pair between clusters (rows/cols of live clusters)
    total = sims.copy()  # sum of pair similarities between clusters
    size = np.ones(n)
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    np.fill_diagonal(best, -np.inf)
    while True:
        mean = total / np.outer(size, size)
        candidate = np.where(mean >= floor, best, -np.inf)
        flat = int(np.argmax(candidate))
        i, j = divmod(flat, n)
        if candidate[i, j] < threshold:
            break
        # Merge j into i.
        members[i] += members.pop(j)
        joined_conflict = np.isneginf(best[i]) | np.isneginf(best[j])
        best[i] = np.where(joined_conflict, -np.inf, np.maximum(best[i], best[j]))
        best[:, i] = best[i]
        total[i] += total[j]
        total[:, i] = total[i]
        size[i] += size[j]
        best[j], best[:, j] = -np.inf, -np.inf
        best[i, i] = -np.inf
    return sorted(members.values(), key=lambda c: (-len(c), c[0]))

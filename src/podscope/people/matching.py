"""What the machine proposes for episode speakers: every person's profile, the best joint match per episode, and the
podcast-share safeguard. Functions over the people repository; `People` stores what they propose and learns from it.

Why it looks like this: matching is scoped by podcast (`proposals(..., podcast_id)`) because the podcast-share
safeguard judges a podcast as a whole, so a new episode is matched by scoring its podcast only and gets exactly what
the full re-score would give it while the profiles stay as they are.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from podscope.people.records import Change
from podscope.records import HUMAN_TIER, Exemplar, SpeakerVoice
from podscope.store.contract import PeopleRepository
from podscope.voices import profiles as rules

Proposal = tuple[SpeakerVoice, rules.Match | None]  # an episode speaker and the match proposed for it (or none)


def profiles(people: PeopleRepository) -> list[rules.Profile]:
    """Every person's profile: their exemplars not flagged, and which of them a human gave."""
    by_person: dict[int, list[Exemplar]] = defaultdict(list)
    for x in people.exemplars():
        if not x.flagged:
            by_person[x.person_id].append(x)
    out = []
    for person_id in people.names():
        xs = by_person[person_id]
        out.append(
            rules.Profile(
                person_id,
                np.stack([x.embedding for x in xs]) if xs else np.zeros((0, 1), np.float32),
                np.array([x.origin in rules.HUMAN_ORIGINS for x in xs], dtype=bool),
            )
        )
    return out


def proposals(
    people: PeopleRepository, thresholds: rules.Thresholds, share_limit: float, podcast_id: int | None = None
) -> list[Proposal]:
    """What the machine would say about every episode speaker (or one podcast's), with the podcast-share
    safeguard applied."""
    found_profiles = [p for p in profiles(people) if len(p.exemplars)]
    person_ids = [p.person_id for p in found_profiles]
    voices = people.speaker_voices(podcast_id=podcast_id)
    human = {a.speaker_id: a for a in people.attributions(tiers=(HUMAN_TIER,), podcast_id=podcast_id)}
    rejected: dict[int, set[int]] = defaultdict(set)  # speaker id -> the people a human said it is not
    for speaker_id, person_id in people.rejections():
        rejected[speaker_id].add(person_id)
    if not found_profiles:
        return [(v, None) for v in voices]
    embeddings = np.stack([v.embedding for v in voices]) if voices else np.zeros((0, 1), np.float32)
    scores = rules.score_matrix(embeddings, found_profiles)  # every speaker at once, then episode by episode
    grounded = rules.score_matrix(embeddings, found_profiles, grounded=True)
    by_episode: dict[int, list[int]] = defaultdict(list)
    for k, v in enumerate(voices):
        by_episode[v.episode_id].append(k)
    out: list[Proposal] = []
    for rows in by_episode.values():
        group = [voices[k] for k in rows]
        matches = rules.assign(
            scores[rows],
            person_ids,
            thresholds,
            forbidden={(i, pid) for i, v in enumerate(group) for pid in rejected.get(v.speaker_id, ())},
            taken_people={human[v.speaker_id].person_id for v in group if v.speaker_id in human},
            fixed_speakers={i for i, v in enumerate(group) if v.speaker_id in human},
            grounded=grounded[rows],
        )
        found = {m.speaker_index: m for m in matches}
        out.extend((v, found.get(i)) for i, v in enumerate(group))
    return hold_implausible(out, thresholds, share_limit)


def hold_implausible(proposals: list[Proposal], thresholds: rules.Thresholds, share_limit: float) -> list[Proposal]:
    """Hold back to `low` a person machine-matched in an implausible share of a podcast's episodes by voices that
    do not sound alike (a profile turned magnet), however well each scores on its own."""
    episodes_in: dict[int, set[int]] = defaultdict(set)
    claims: dict[tuple[int, int], list[int]] = defaultdict(list)
    for k, (v, m) in enumerate(proposals):
        episodes_in[v.podcast_id].add(v.episode_id)
        if m is not None and m.tier == "matched":
            claims[(m.person_id, v.podcast_id)].append(k)
    held = list(proposals)
    for (_person_id, podcast_id), ks in claims.items():
        total = len(episodes_in[podcast_id])
        if len(ks) < 3 or len(ks) / total < share_limit:
            continue
        spread = rules.coherence(np.stack([proposals[k][0].embedding for k in ks]))
        if spread >= thresholds.matched:
            continue
        why = (
            f"implausible: matched in {len(ks)} of {total} episodes of this podcast by voices that do not sound"
            f" alike (median similarity {spread:.2f})"
        )
        for k in ks:
            v, m = proposals[k]
            assert m is not None
            held[k] = (v, rules.Match(m.speaker_index, m.person_id, m.score, "low", why))
    return held


def merged(first: list[Change], then: list[Change]) -> list[Change]:
    """Two rounds of changes as one per speaker: the state before the first, after the last."""
    out = {c.speaker_id: c for c in first}
    for c in then:
        earlier = out.get(c.speaker_id)
        before = earlier.before if earlier else c.before
        out[c.speaker_id] = Change(c.speaker_id, c.episode_id, c.label, before, c.after)
    return [c for c in out.values() if c.before != c.after]

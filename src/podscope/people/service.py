"""The People service: enrolment, review, matching and learning, unknown voices, pages and privacy."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from podscope.errors import InputError, NotFound
from podscope.people import matching
from podscope.people.records import (
    Change,
    FlaggedExemplar,
    MonthlyTalk,
    PersonPage,
    ReviewItem,
    UnknownVoice,
    describe,
    exemplar_dict,
)
from podscope.records import (
    HUMAN_TIER,
    SHOWN_TIERS,
    Attribution,
    AttributionChange,
    Embedding,
    Person,
    SpeakerVoice,
    Tier,
)
from podscope.settings import Settings
from podscope.store import StoreBackend
from podscope.timefmt import now_iso
from podscope.voices import profiles as rules

ClipEmbedder = Callable[[Path, float | None, float | None], tuple[Embedding, float]]
LEARNING_ROUNDS = 3  # verified matches can add exemplars, which can verify more: bounded


class People:
    """The voice-profile operations of one library. Built by `Library`; `clip_embedder` embeds an audio sample."""

    def __init__(self, store: StoreBackend, settings: Settings, clip_embedder: ClipEmbedder):
        self.store = store
        self.settings = settings
        self._embed_clip = clip_embedder
        self.defer_rescores = False  # set by a batch on many workers: see match_episode
        self.rescore_due: str | None = None  # why a full re-score is owed, when one was deferred

    # -- settings -------------------------------------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        return bool(self.settings.voice_profiles)

    @property
    def thresholds(self) -> rules.Thresholds:
        s = self.settings
        low, matched, verified = s.low_threshold, s.match_threshold, s.verified_threshold
        if not low <= matched <= verified:
            raise InputError(
                f"voice thresholds must satisfy low_threshold <= match_threshold <= verified_threshold;"
                f" got {low}, {matched}, {verified}"
            )
        return rules.Thresholds(low=low, matched=matched, verified=verified)

    def _require_enabled(self) -> None:
        if not self.enabled:
            raise InputError(
                "voice profiles are switched off (setting voice_profiles = false): no enrolment and no matching;"
                " set it to true to use them"
            )

    # -- enrolment ------------------------------------------------------------------------------------------------

    def _person(self, name: str, create: bool) -> Person:
        person = self.store.people.find(name)
        if person is not None:
            return person
        if not create:
            raise NotFound(f"no person named {name!r}; `podscope people list` shows them")
        return self.store.people.create(name)

    def enroll_speaker(self, name: str, episode_id: int, label: str) -> list[Change]:
        """Name an episode speaker: a human decision and an exemplar of the person's voice."""
        self._require_enabled()
        with self.store.transaction():
            speaker_id = self.store.people.find_speaker(episode_id, label)
            voice = self._voice(speaker_id)
            person = self._person(name, create=True)
            self._take_slot(person.id, speaker_id, voice.episode_id)
            self.store.people.set_attribution(
                speaker_id, person.id, score=None, tier=HUMAN_TIER, reason="enrolled by a human", machine=False
            )
            self._learn(person.id, voice, "enrolled", force=True)
            return self.rescore(f"profile of person {person.id} changed: enrolment from episode {episode_id}")

    def enroll_audio(
        self, name: str, path: str | Path, start: float | None = None, end: float | None = None
    ) -> list[Change]:
        """Enrol a clean sample of one voice from an audio file (optionally a stretch of it)."""
        self._require_enabled()
        path = Path(path)
        if start is not None and end is not None and end <= start:
            raise InputError(f"--end {end} must be after --start {start}")
        embedding, seconds = self._embed_clip(path, start, end)
        span = f" {start or 0:.1f}-{end:.1f} s" if end is not None else (f" from {start:.1f} s" if start else "")
        with self.store.transaction():
            person = self._person(name, create=True)
            self.store.people.add_exemplar(
                person.id, embedding, origin="enrolled", source=f"{path.name}{span}", seconds=seconds
            )
            self._upkeep(person.id)
            return self.rescore(f"profile of person {person.id} changed: enrolment from an audio sample")

    def enroll_unknown(self, name: str, unknown_id: str) -> list[Change]:
        """Name a recurring unknown voice: every one of its appearances becomes that person (a human decision)."""
        self._require_enabled()
        wanted = unknown_id.strip().upper()
        if not wanted.startswith("U"):
            wanted = "U" + wanted
        voices = {v.id: v for v in self.unknown(recurring_only=False)}
        if wanted not in voices:
            raise NotFound(f"no unknown voice {unknown_id!r}; `podscope people unknown` lists them")
        with self.store.transaction():
            person = self._person(name, create=True)
            for speaker_id in voices[wanted].speaker_ids:
                voice = self._voice(speaker_id)
                self._take_slot(person.id, speaker_id, voice.episode_id)
                self.store.people.set_attribution(
                    speaker_id,
                    person.id,
                    score=None,
                    tier=HUMAN_TIER,
                    reason=f"named unknown voice {wanted}",
                    machine=False,
                )
                self._learn(person.id, voice, "named", force=True)
            return self.rescore(f"profile of person {person.id} changed: unknown voice {wanted} named")

    # -- review ---------------------------------------------------------------------------------------------------

    def review(self, tier: str = "matched") -> list[ReviewItem]:
        """Machine attributions waiting for a human, most uncertain first. `tier` is "matched" (matched and held-back
        ones), "low" or "verified"."""
        if tier not in ("verified", "matched", "low"):
            raise InputError(f"review tier {tier!r}: expected matched, low or verified")
        items = [
            a
            for a in self.store.people.attributions(tiers=(tier, "low") if tier == "matched" else (tier,))
            if tier != "matched" or a.tier == "matched" or a.held
        ]
        items.sort(key=lambda a: (a.score if a.score is not None else 1.0, a.episode_id))
        return [ReviewItem(a, self.store.people.speaker_stretch(a.speaker_id)) for a in items]

    def review_waiting(self) -> int:
        """How many attributions `review()` would list by default (its "matched" queue)."""
        return self.store.people.review_waiting()

    def flagged_exemplars(self) -> list[FlaggedExemplar]:
        names = self.store.people.names()
        return [FlaggedExemplar(names[x.person_id], x) for x in self.store.people.exemplars() if x.flagged]

    def keep_exemplar(self, exemplar_id: int) -> list[Change]:
        """A human says a flagged exemplar is right (the person in another condition): it counts again, for good."""
        self._require_enabled()
        with self.store.transaction():
            x = self.store.people.exemplar(exemplar_id)
            self.store.people.keep_exemplar(exemplar_id)
            return self.rescore(f"profile of person {x.person_id} changed: exemplar {exemplar_id} kept by a human")

    def drop_exemplar(self, exemplar_id: int) -> list[Change]:
        """Remove an exemplar from a profile (and its voiceprint copy with it)."""
        with self.store.transaction():
            x = self.store.people.exemplar(exemplar_id)
            self.store.people.delete_exemplars([exemplar_id])
            self._upkeep(x.person_id)
            return self.rescore(f"profile of person {x.person_id} changed: exemplar {exemplar_id} removed by a human")

    def _attribution(self, speaker_id: int) -> Attribution:
        a = self.store.people.attribution(speaker_id)
        if a is None:
            raise NotFound(f"no attribution {speaker_id}; `podscope review` lists them with their ids")
        return a

    def confirm(self, speaker_id: int) -> list[Change]:
        """A human says the attribution is right: it becomes `confirmed` and (with learning on) an exemplar."""
        self._require_enabled()
        with self.store.transaction():
            a = self._attribution(speaker_id)
            self.store.people.set_attribution(
                speaker_id, a.person_id, score=a.score, tier=HUMAN_TIER, reason="confirmed by a human", machine=False
            )
            voice = self._voice_or_none(speaker_id)
            if voice is not None and self._learn(a.person_id, voice, "confirmed"):
                return self.rescore(f"profile of person {a.person_id} changed: confirmation in episode {a.episode_id}")
            return []

    def reject(self, speaker_id: int) -> list[Change]:
        """A human says the voice is not that person: remembered for good, and the speaker is matched again."""
        self._require_enabled()
        with self.store.transaction():
            a = self._attribution(speaker_id)
            self.store.people.add_rejection(speaker_id, a.person_id)
            self.store.people.set_attribution(
                speaker_id, None, score=None, tier=None, reason="rejected by a human", machine=False
            )
            stale = [x.id for x in self.store.people.exemplars(a.person_id) if x.speaker_id == speaker_id]
            self.store.people.delete_exemplars(stale)
            self._upkeep(a.person_id)
            return self.rescore(f"rejection in episode {a.episode_id}")

    def assign(self, episode_id: int, label: str, name: str) -> list[Change]:
        """A human names an episode speaker directly (creating the person if needed)."""
        self._require_enabled()
        with self.store.transaction():
            speaker_id = self.store.people.find_speaker(episode_id, label)
            person = self._person(name, create=True)
            self._take_slot(person.id, speaker_id, episode_id)
            self.store.people.set_attribution(
                speaker_id, person.id, score=None, tier=HUMAN_TIER, reason="assigned by a human", machine=False
            )
            voice = self._voice_or_none(speaker_id)
            if voice is not None:
                self._learn(person.id, voice, "assigned")
            return self.rescore(f"profile of person {person.id} changed: assignment in episode {episode_id}")

    def name_by_publisher(self, episode_id: int, names: Mapping[str, str]) -> None:
        """The episode's speakers its publisher's transcript names (label -> name) become those people (created if
        new), a decision no re-score overrides (`confirmed`, not by the machine). One person is one speaker per
        episode: when two labels carry one name, the first keeps it. Voice profiles may be off; nothing is learnt and
        nothing re-scored here (storing the episode does that)."""
        with self.store.transaction():
            used: set[int] = set()
            for label, name in names.items():
                person = self._person(name, create=True)  # the store says which names are one person
                if person.id in used:
                    continue
                used.add(person.id)
                self.store.people.set_attribution(
                    self.store.people.find_speaker(episode_id, label),
                    person.id,
                    score=None,
                    tier=HUMAN_TIER,
                    reason="named in the publisher's transcript",
                    machine=False,
                )

    def rename(self, old: str, new: str) -> Person:
        person = self._person(old, create=False)
        self.store.people.rename(person.id, new)
        return self.store.people.by_id(person.id)

    def merge(self, source: str, target: str) -> list[Change]:
        """Join two people who are one: `source`'s exemplars and attributions move to `target`."""
        a, b = self._person(source, create=False), self._person(target, create=False)
        if a.id == b.id:
            raise InputError(f"{source!r} and {target!r} are the same person")
        with self.store.transaction():
            self.store.people.merge(a.id, b.id, reason=f"merged person {a.id} into {b.id}")
            self._upkeep(b.id)
            return self.rescore(f"profile of person {b.id} changed: merge") if self.enabled else []

    # -- matching -------------------------------------------------------------------------------------------------

    def match(self) -> list[Change]:
        """Re-score every stored episode speaker against every profile (also run after each ingest)."""
        self._require_enabled()
        with self.store.transaction():
            return self.rescore("re-matched on request")

    def rescore(self, reason: str) -> list[Change]:
        """The full re-score, after a profile changed: match every episode speaker with a voiceprint against the
        profiles and store what changed.

        Human decisions are kept; `verified` matches may add exemplars (learning), after which the library is scored
        again, at most LEARNING_ROUNDS times.
        """
        if not self.enabled:
            return []
        for person_id in self.store.people.names():  # a change to one profile can reveal a wrong exemplar in another
            self._upkeep(person_id)
        self.rescore_due = None
        return self._score(reason)[0]

    def match_episode(self, episode_id: int) -> list[Change]:
        """Match a new episode's speakers against the profiles, without re-scoring the library: only its podcast's
        speakers are scored (the podcast-share safeguard judges a podcast as a whole), and nothing else can change
        while the profiles stay as they are. When a verified match in it taught a profile (learning), the rest of the
        library may now match differently: the full re-score follows at once, or, with `defer_rescores` set (a batch
        on many workers), `rescore_due` says why one is owed and the batch runs it once at its end."""
        if not self.enabled:
            return []
        podcast_id = self.store.episodes.get(episode_id).podcast_id
        reason = f"new episode {episode_id}"
        changes, learnt = self._score(reason, podcast_id=podcast_id, learn_from=episode_id)
        if not learnt:
            return changes
        why = f"profile changed: learnt from a verified match in episode {episode_id}"
        if self.defer_rescores:
            self.rescore_due = why
            return changes
        return matching.merged(changes, self.rescore(why))

    def _score(
        self, reason: str, *, podcast_id: int | None = None, learn_from: int | None = None
    ) -> tuple[list[Change], bool]:
        """Score the library's speakers (or one podcast's) and store what changed; returns the changes and whether a
        profile learnt. Learning re-scores the same speakers, at most LEARNING_ROUNDS times, except in one podcast
        (`learn_from`: only that episode's matches may teach, and a profile that learnt is the full re-score's)."""
        changes: dict[int, Change] = {}
        names = self.store.people.names()
        learnt_any = False
        for _ in range(LEARNING_ROUNDS):
            learnt = False
            current = {a.speaker_id: a for a in self.store.people.attributions(podcast_id=podcast_id)}
            share_limit = float(self.settings.max_podcast_share)
            for voice, match in matching.proposals(self.store.people, self.thresholds, share_limit, podcast_id):
                before = current.get(voice.speaker_id)
                if before is not None and before.tier == HUMAN_TIER:
                    continue
                state = (match.person_id, match.tier, match.held, match.score) if match else None
                if state != ((before.person_id, before.tier, before.held, before.score) if before else None):
                    changed = self.store.people.set_attribution(
                        voice.speaker_id,
                        match.person_id if match else None,
                        score=match.score if match else None,
                        tier=match.tier if match else None,
                        held=match.held if match else None,
                        reason=reason,
                    )
                    if changed:
                        first = changes.get(voice.speaker_id)
                        changes[voice.speaker_id] = Change(
                            voice.speaker_id,
                            voice.episode_id,
                            voice.label,
                            first.before if first else describe(before.person, before.tier) if before else None,
                            describe(names[match.person_id], match.tier) if match else None,
                        )
                teaches = learn_from is None or voice.episode_id == learn_from
                if teaches and match is not None and match.tier == "verified" and self.settings.voice_learning:
                    learnt |= self._learn(match.person_id, voice, "verified")
            learnt_any |= learnt
            if not learnt or podcast_id is not None:
                break
            reason = "profile changed: learnt from a verified match"
        return [c for c in changes.values() if c.before != c.after], learnt_any

    # -- learning -------------------------------------------------------------------------------------------------

    def _voice(self, speaker_id: int) -> SpeakerVoice:
        voice = self._voice_or_none(speaker_id)
        if voice is None:
            raise InputError(
                f"episode speaker {speaker_id} has no voiceprint (it spoke too little, or its voiceprint was forgotten"
                " or never kept): it can be named with `podscope people assign` but not used as a voice sample"
            )
        return voice

    def _voice_or_none(self, speaker_id: int) -> SpeakerVoice | None:
        found = self.store.people.speaker_voices(speaker_ids=[speaker_id])
        return found[0] if found else None

    def _take_slot(self, person_id: int, speaker_id: int, episode_id: int) -> None:
        """One person at most once per episode: a human naming them moves a machine guess off the other speaker,
        and naming them twice in one episode is refused."""
        for a in self.store.people.attributions(episode_id=episode_id, person_id=person_id):
            if a.speaker_id == speaker_id:
                continue
            if a.tier == HUMAN_TIER:
                raise InputError(
                    f"{a.person} is already {a.label} in episode {episode_id} (a human decision); one person speaks"
                    " as one speaker per episode: reject that one first"
                )
            self.store.people.set_attribution(
                a.speaker_id, None, score=None, tier=None, reason="the person was named on another speaker"
            )

    def _learn(self, person_id: int, voice: SpeakerVoice, origin: str, *, force: bool = False) -> bool:
        """Add an episode speaker's voiceprint to a person's exemplars when it adds something; returns whether the
        profile changed. Only human decisions and verified matches call this; `force` is for enrolment."""
        if not force and not self.settings.voice_learning:
            return False
        current = self.store.people.exemplars(person_id)
        if any(x.speaker_id == voice.speaker_id for x in current):
            return False
        active = [x.embedding for x in current if not x.flagged]
        human = [x.embedding for x in current if not x.flagged and x.origin in rules.HUMAN_ORIGINS]
        if not force and (
            voice.speaker_id in self.store.people.exemplar_sources()
            or rules.redundant(voice.embedding, active)
            or (
                origin == "verified"
                and active
                and not rules.one_voice(
                    self.store.people.window_voiceprints(voice.speaker_id),
                    np.stack(human) if human else np.zeros((0, 1), np.float32),
                    self.thresholds.matched,
                )
            )
        ):
            return False
        episode = self.store.episodes.get(voice.episode_id)
        self.store.people.add_exemplar(
            person_id,
            voice.embedding,
            origin=origin,
            source=f"episode {voice.episode_id} {voice.label} ({episode.title})",
            seconds=voice.speaking_time,
            speaker_id=voice.speaker_id,
        )
        self._upkeep(person_id)
        return True

    def _upkeep(self, person_id: int) -> None:
        """Flag exemplars that disagree with the profile (or sound like someone else), then cap the rest keeping the
        most diverse."""
        everyone = self.store.people.exemplars()
        names = self.store.people.names()
        others: dict[int, list[Embedding]] = defaultdict(list)
        for x in everyone:
            if x.person_id != person_id and not x.flagged:
                others[x.person_id].append(x.embedding)
        infos = [
            rules.ExemplarInfo(x.id, x.embedding, x.origin, x.id, x.kept) for x in everyone if x.person_id == person_id
        ]
        flags = rules.disagreeing(
            infos, self.thresholds.matched, [(names[pid], np.stack(embs)) for pid, embs in others.items()]
        )
        self.store.people.set_exemplar_flags(person_id, flags)
        active = [i for i in infos if i.id not in flags]
        self.store.people.delete_exemplars(rules.to_drop(active, int(self.settings.max_exemplars)))

    # -- unknown voices -------------------------------------------------------------------------------------------

    def unknown(self, recurring_only: bool = True) -> list[UnknownVoice]:
        """Voices that match nobody, clustered across episodes; recurring ones (2+ episodes) by default."""
        if not self.enabled:
            return []
        named = {a.speaker_id for a in self.store.people.attributions(tiers=SHOWN_TIERS)}
        voices = [v for v in self.store.people.speaker_voices() if v.speaker_id not in named]
        if not voices:
            return []
        clusters = rules.cluster_voices(
            np.stack([v.embedding for v in voices]),
            [v.episode_id for v in voices],
            float(self.settings.unknown_threshold),
            self.thresholds.low,
        )
        out = []
        for members in clusters:
            group = sorted((voices[k] for k in members), key=lambda v: v.speaker_id)
            episodes = tuple(sorted({v.episode_id for v in group}))
            if recurring_only and len(episodes) < 2:
                continue
            longest = max(group, key=lambda v: v.speaking_time)
            credited: dict[str, int] = defaultdict(int)
            for episode_id in episodes:
                heard = {a.person for a in self.store.people.attributions(episode_id=episode_id, tiers=SHOWN_TIERS)}
                for row in self.store.feeds.credits(episode_id):
                    if row.name not in heard:
                        credited[row.name] += 1
            out.append(
                UnknownVoice(
                    id=f"U{group[0].speaker_id}",
                    speaker_ids=tuple(v.speaker_id for v in group),
                    episodes=episodes,
                    seconds=round(sum(v.speaking_time for v in group), 1),
                    stretch=self.store.people.speaker_stretch(longest.speaker_id),
                    suggestions=tuple(sorted(credited, key=lambda n: (-credited[n], n))),
                )
            )
        return out

    # -- pages ----------------------------------------------------------------------------------------------------

    def person(self, name: str) -> Person:
        """The person with this name (any case); NotFound names the command that lists them."""
        return self._person(name, create=False)

    def history(self, name: str) -> list[AttributionChange]:
        """Every change of an attribution to or from this person, oldest first, with its reason."""
        return self.store.people.history(person_id=self.person(name).id)

    def attribution(self, speaker_id: int) -> Attribution | None:
        """Who an episode speaker is (any tier, `low` included), or None when nobody is attributed."""
        return self.store.people.attribution(speaker_id)

    def speaker_attribution(self, episode_id: int, label: str) -> Attribution | None:
        """The attribution of an episode's speaker by its label (`SPEAKER_00`); NotFound for an unknown label."""
        return self.store.people.attribution(self.store.people.find_speaker(episode_id, label))

    def attributions(self, *, episode_id: int | None = None, tiers: Sequence[Tier] = SHOWN_TIERS) -> list[Attribution]:
        """Attributions of the given tiers (by default what a reader sees), of one episode or of the library."""
        return self.store.people.attributions(episode_id=episode_id, tiers=tiers)

    def names(self) -> list[str]:
        """Every person's name, without the counts `roster` adds: the choices of a speaker filter, shown on every
        search."""
        return list(self.store.people.names().values())

    def roster(self) -> list[tuple[Person, bool]]:
        """Every person with whether their profile is active."""
        active = self._active_people()
        return [(p, p.id in active) for p in self.store.people.list_people()]

    def _active_people(self) -> set[int]:
        if not self.enabled:
            return set()
        return {x.person_id for x in self.store.people.exemplars() if not x.flagged}

    def show(self, name: str, quotes: int = 5) -> PersonPage:
        person = self._person(name, create=False)
        appearances = tuple(self.store.people.appearances(person.id))
        episodes: dict[str, set[int]] = defaultdict(set)
        seconds: dict[str, float] = defaultdict(float)
        for a in appearances:  # speaking time as shown (to the tenth of a second), summed
            month = (a.published or "")[:7] or "undated"
            episodes[month].add(a.episode_id)
            seconds[month] += round(a.speaking_time, 1)
        return PersonPage(
            person=person,
            active=person.id in self._active_people(),
            verified_seconds=sum(round(a.speaking_time, 1) for a in appearances if a.tier in ("confirmed", "verified")),
            exemplars=tuple(self.store.people.exemplars(person.id)),
            monthly=tuple(
                MonthlyTalk(month=m, episodes=len(episodes[m]), seconds=round(seconds[m], 1))
                for m in sorted(episodes, key=lambda m: (m == "undated", m))
            ),
            appearances=appearances,
            quotes=tuple(self.store.people.quotes(person.id, quotes)),
            sounds_like=tuple(self.sound_alikes().get(person.id, [])),
        )

    def sound_alikes(self) -> dict[int, list[tuple[str, float]]]:
        """People whose profiles are near-identical (best exemplar pair at or above the verified threshold): two
        names for one voice, or two voices the model cannot tell apart. Their matches are ambiguous."""
        people = self.store.people.names()
        profiles = [p for p in matching.profiles(self.store.people) if len(p.exemplars)]
        out: dict[int, list[tuple[str, float]]] = defaultdict(list)
        limit = self.thresholds.verified
        for i, a in enumerate(profiles):
            for b in profiles[i + 1 :]:
                score = float((rules.normalise(a.exemplars) @ rules.normalise(b.exemplars).T).max())
                if score >= limit:
                    out[a.person_id].append((people[b.person_id], round(score, 3)))
                    out[b.person_id].append((people[a.person_id], round(score, 3)))
        return dict(out)

    # -- privacy --------------------------------------------------------------------------------------------------

    def forget(self, name: str) -> dict[str, int]:
        """Remove a person, their exemplars and every stored voiceprint tied to them; returns counts by kind."""
        person = self._person(name, create=False)
        return self.store.people.forget(person.id)

    def export(self, name: str) -> dict[str, Any]:
        """Everything held about a person, voiceprints included (a subject-access export)."""
        person = self._person(name, create=False)
        page = self.show(name, quotes=1000)
        data = page.to_dict()
        data["exported_at"] = now_iso()
        data["created_at"] = person.created_at
        data["profile"]["exemplars"] = [
            {**exemplar_dict(x), "embedding": [round(float(v), 6) for v in x.embedding]}
            for x in self.store.people.exemplars(person.id)
        ]
        data["all_attributions"] = [
            {
                "episode_id": a.episode_id,
                "speaker": a.label,
                "speaker_id": a.speaker_id,
                "tier": a.tier,
                "score": a.score,
                "held": a.held,
            }
            for a in self.store.people.attributions(person_id=person.id)
        ]
        data["rejected_speakers"] = sorted(sid for sid, pid in self.store.people.rejections() if pid == person.id)
        data["history"] = [
            {
                "speaker_id": h.speaker_id,
                "before": describe(h.person_before, h.tier_before),
                "after": describe(h.person_after, h.tier_after),
                "score": h.score,
                "reason": h.reason,
                "at": h.at,
            }
            for h in self.store.people.history(person_id=person.id)
        ]
        return data


__all__ = ["Change", "FlaggedExemplar", "People", "PersonPage", "ReviewItem", "UnknownVoice"]

"""What the people operations hand back: changes, review items, unknown voices and person pages, with their JSON
shapes (`to_dict`, `exemplar_dict`, `review_dict`) for the CLI and the HTTP API."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from podscope.records import (
    Appearance,
    Attribution,
    Exemplar,
    Person,
    Quote,
    Stretch,
)


@dataclass(frozen=True)
class Change:
    """One attribution that a re-score changed."""

    speaker_id: int
    episode_id: int
    label: str
    before: str | None  # "Maya Chen (matched)" or None
    after: str | None


@dataclass(frozen=True)
class ReviewItem:
    attribution: Attribution
    stretch: Stretch


@dataclass(frozen=True)
class FlaggedExemplar:
    person: str
    exemplar: Exemplar


@dataclass(frozen=True)
class UnknownVoice:
    """A voice heard in several episodes that matches nobody. `id` is "U" + its first speaker's id."""

    id: str
    speaker_ids: tuple[int, ...]
    episodes: tuple[int, ...]
    seconds: float
    stretch: Stretch
    suggestions: tuple[str, ...] = ()  # people credited (podcast:person) in its episodes and not yet heard there


@dataclass(frozen=True)
class MonthlyTalk:
    """How much a person spoke in one month (`2025-03`, or `undated`), over how many episodes."""

    month: str
    episodes: int
    seconds: float


@dataclass(frozen=True)
class PersonPage:
    """Everything a person page shows, as data."""

    person: Person
    active: bool
    verified_seconds: float
    exemplars: tuple[Exemplar, ...]
    monthly: tuple[MonthlyTalk, ...]  # by month, undated last
    appearances: tuple[Appearance, ...]  # by date
    quotes: tuple[Quote, ...]  # the longest lines first
    sounds_like: tuple[tuple[str, float], ...]  # other people whose profile is near-identical

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.person.name,
            "profile": {
                "active": self.active,
                "status": status_line(self.active, self.person),
                "exemplars": [exemplar_dict(x) for x in self.exemplars],
                "verified_seconds": round(self.verified_seconds, 1),
                "sounds_like": [{"name": n, "score": s} for n, s in self.sounds_like],
            },
            "episodes": self.person.episodes,
            "appearances_by_month": [asdict(m) for m in self.monthly],
            "appearances": [
                {
                    "podcast": a.podcast,
                    "episode_id": a.episode_id,
                    "episode": a.episode,
                    "published": a.published,
                    "speaker": a.label,
                    "speaker_id": a.speaker_id,
                    "tier": a.tier,
                    "score": a.score,
                    "speaking_seconds": round(a.speaking_time, 1),
                }
                for a in self.appearances
            ],
            "quotes": [
                {
                    "episode_id": q.episode_id,
                    "episode": q.episode,
                    "podcast": q.podcast,
                    "published": q.published,
                    "start": round(q.start, 2),
                    "end": round(q.end, 2),
                    "text": q.text,
                }
                for q in self.quotes
            ],
        }


def status_line(active: bool, person: Person) -> str:
    if active:
        return "voice profile active: this voice is recognised automatically across episodes"
    if person.exemplars and person.exemplars == person.flagged:
        return "voice profile inactive: every exemplar is flagged for review"
    if person.exemplars:
        return "voice profile inactive: voice profiles are switched off (setting voice_profiles)"
    return "no voice profile: enrol a sample of this person's voice to recognise them"


def exemplar_dict(x: Exemplar) -> dict[str, Any]:
    return {
        "id": x.id,
        "origin": x.origin,
        "source": x.source,
        "seconds": x.seconds,
        "flagged": x.flagged,
        "kept": x.kept,
        "created_at": x.created_at,
    }


def review_dict(item: ReviewItem) -> dict[str, Any]:
    """A review item as data (the CLI's --json and the API's review queue)."""
    a, s = item.attribution, item.stretch
    return {
        "id": a.speaker_id,
        "person": a.person,
        "tier": a.tier,
        "score": a.score,
        "held": a.held,
        "podcast": s.podcast,
        "episode_id": s.episode_id,
        "episode": s.episode_title,
        "published": s.published,
        "speaker": s.label,
        "speaking_seconds": round(a.speaking_time, 1),
        "listen": {"start": s.start, "end": s.end},
        "quote": s.quote,
    }


def describe(person: str | None, tier: str | None) -> str | None:
    return f"{person} ({tier})" if person else None

"""The episodes: list, detail (speakers, who spoke when, credits), transcript and exports, and deletion."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from podscope import formats
from podscope.library import Library
from podscope.records import SHOWN_TIERS, TIERS, Episode
from podscope.web.api.base import Route, RowId
from podscope.web.auth import ADMIN, READ
from podscope.web.state import lib_of

router = APIRouter(route_class=Route)


class SpeakerOut(BaseModel):
    """An episode speaker: its anonymous label, and who it is when a voice profile or a human says so."""

    id: int = Field(description="The episode speaker's id (also the id of its attribution in the review queue).")
    label: str
    name: str = Field(description="The person at tier matched or better, else the label.")
    person: str | None = Field(description="The attributed person at any tier (low included).")
    tier: str | None = Field(description="confirmed | verified | matched | low, or null when nobody.")
    score: float | None
    held: str | None = Field(description="Why a score above the publication threshold was held back to low.")
    speaking_time: float
    voiceprint: bool = Field(description="Whether the speaker's voiceprint is kept (it can be enrolled from).")


class Credit(BaseModel):
    name: str
    role: str
    group: str


class TurnOut(BaseModel):
    """A stretch of time in which one speaker talks, with or without recognised words in it."""

    start: float
    end: float
    speaker: str = Field(description="The episode speaker label.")
    name: str = Field(description="The person's name at tier matched or better, else the label.")


class EpisodeDetail(BaseModel):
    episode: Episode
    speakers: list[SpeakerOut]
    turns: list[TurnOut] = Field(
        description="Who spoke when, by start: the diarization turns (turns of different speakers may overlap), or"
        " for an episode without any (a transcript imported without audio), its segments that have a speaker."
    )
    credits: list[Credit]
    audio_url: str | None = Field(description="Where to stream the recording, or null when the library has none.")
    transcript_url: str


class WordOut(BaseModel):
    start: float
    end: float
    text: str
    probability: float


class SegmentOut(BaseModel):
    start: float
    end: float
    speaker: str | None = Field(description="The episode speaker label.")
    name: str | None = Field(description="The person's name at tier matched or better, else the label.")
    text: str
    words: list[WordOut]


class TranscriptOut(BaseModel):
    episode: Episode
    speakers: dict[str, str] = Field(description="Speaker label -> name shown (the label when nobody is named).")
    segments: list[SegmentOut]


@router.get("/episodes", response_model=list[Episode], dependencies=READ, tags=["episodes"])
def episodes(
    request: Request, podcast: Annotated[str | None, Query(description="Only this podcast.")] = None
) -> list[Episode]:
    """Every episode (pending ones from feeds included), by podcast and date."""
    return lib_of(request).episodes(podcast)


@router.get("/episodes/{episode_id}", response_model=EpisodeDetail, dependencies=READ, tags=["episodes"])
def episode(request: Request, episode_id: RowId) -> EpisodeDetail:
    """An episode with its speakers (who each one is, how sure, how long they talk), who spoke when, and its
    credits."""
    lib = lib_of(request)
    found = lib.episode(episode_id)
    names = lib.speaker_names(episode_id)
    return EpisodeDetail(
        episode=found,
        speakers=_speakers(lib, episode_id),
        turns=[
            TurnOut(
                start=round(t.start, 3), end=round(t.end, 3), speaker=t.speaker, name=names.get(t.speaker, t.speaker)
            )
            for t in lib.timeline(episode_id)
        ],
        credits=[Credit(name=r.name, role=r.role, group=r.group) for r in lib.credits(episode_id)],
        audio_url=f"/api/episodes/{episode_id}/audio" if lib.recording(found) else None,
        transcript_url=f"/api/episodes/{episode_id}/transcript",
    )


def _speakers(lib: Library, episode_id: RowId) -> list[SpeakerOut]:
    attributed = {a.speaker_id: a for a in lib.people.attributions(episode_id=episode_id, tiers=TIERS)}
    out = []
    for s in lib.episode_speakers(episode_id):
        a = attributed.get(s.id)
        out.append(
            SpeakerOut(
                id=s.id,
                label=s.label,
                name=a.person if a is not None and a.tier in SHOWN_TIERS else s.label,
                person=a.person if a else None,
                tier=a.tier if a else None,
                score=a.score if a else None,
                held=a.held if a else None,
                speaking_time=round(s.speaking_time, 2),
                voiceprint=s.embedding is not None,
            )
        )
    return out


class PodcastSegment(BaseModel):
    speaker: str | None = Field(default=None, description="Absent for a segment nobody is known to speak.")
    startTime: float  # the Podcasting 2.0 field names
    endTime: float
    body: str


class PodcastTranscript(BaseModel):
    """`?format=json`: the Podcasting 2.0 transcript JSON (version 1.0.0), which is JSON too."""

    version: str
    segments: list[PodcastSegment]


TRANSCRIPT_TYPES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Without `format`: the transcript as JSON segments with words and speaker names. With it: the"
        " export in that format and media type.",
        "content": {t.mime_type: {} for t in formats.MEDIA_TYPES.values() if t.mime_type != "application/json"},
    }
}


@router.get(
    "/episodes/{episode_id}/transcript",
    response_model=TranscriptOut | PodcastTranscript,
    responses=TRANSCRIPT_TYPES,
    dependencies=READ,
    tags=["episodes"],
)
def transcript(
    request: Request,
    episode_id: RowId,
    fmt: Annotated[
        str | None,
        Query(
            alias="format",
            description="An export format; omit it for JSON segments with words.",
            json_schema_extra={"enum": list(formats.FORMATS)},
        ),
    ] = None,
    download: Annotated[bool, Query(description="Ask the browser to save the export as a file.")] = False,
) -> Any:
    """The episode's transcript: JSON segments with word timings and speaker names, or an export (txt, json, srt,
    vtt, rttm, md) in its own media type, with people's names wherever a speaker is attributed at matched or
    better."""
    lib = lib_of(request)
    if fmt is None:
        stored = lib.transcript(episode_id)
        names = lib.speaker_names(episode_id)
        return TranscriptOut(
            episode=stored.episode,
            speakers={s.label: names.get(s.label, s.label) for s in stored.speakers},
            segments=[
                SegmentOut(
                    start=round(s.start, 3),
                    end=round(s.end, 3),
                    speaker=s.speaker,
                    name=names.get(s.speaker, s.speaker) if s.speaker else None,
                    text=s.text,
                    words=[WordOut(start=w.start, end=w.end, text=w.text, probability=w.probability) for w in s.words],
                )
                for s in stored.segments
            ],
        )
    text = lib.export_transcript(episode_id, fmt)
    media = formats.MEDIA_TYPES[fmt.strip().lower().lstrip(".")]
    disposition = "attachment" if download else "inline"
    return Response(
        text,
        media_type=media.content_type,
        headers={"Content-Disposition": f'{disposition}; filename="episode-{episode_id}{media.extension}"'},
    )


@router.delete("/episodes/{episode_id}", response_model=Episode, dependencies=ADMIN, tags=["episodes"])
def delete_episode(request: Request, episode_id: RowId) -> Episode:
    """Remove an episode and everything derived from it (transcript, speakers, voiceprints, search entries)."""
    return lib_of(request).delete_episode(episode_id)

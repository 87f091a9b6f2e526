"""The store's contract: what a storage backend implements, one repository per kind of record.

The embedded SQLite store (`podscope.store.sqlite`) is the reference implementation; a second backend implements the
same protocols over its own engine. Every signature speaks in records (`podscope.records`) and plain values: no
driver type crosses this line. Writes that must land together are grouped with `StoreBackend.transaction()`; each
repository method is atomic on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from podscope.records import (
    SHOWN_TIERS,
    ApiKey,
    Appearance,
    Attribution,
    AttributionChange,
    Chapter,
    Credit,
    Embedding,
    Episode,
    EpisodeSpeaker,
    Exemplar,
    FacetCount,
    FollowedFeed,
    FollowedItem,
    Job,
    JobHold,
    NewItem,
    Orphans,
    Person,
    Podcast,
    ProcessedEpisode,
    QuizAttempt,
    Quote,
    SearchFilters,
    SegmentRow,
    Snapshot,
    SpeakerVoice,
    StoredTranscript,
    Stretch,
    TextIndexState,
    TextPage,
    Turn,
)
from podscope.store.alerts import AlertTables


class EpisodeRepository(Protocol):
    """Episodes with their podcasts, speakers, turns, segments and words."""

    def find_by_hash(self, content_hash: str) -> Episode | None: ...

    def hold_recording(self, content_hash: str) -> None:
        """Inside a transaction: until it ends, no other writer may store this recording (so checking whether it is
        stored already, then storing it, cannot race another process doing the same)."""
        ...

    def save(
        self,
        processed: ProcessedEpisode,
        processing_seconds: float | None = None,
        *,
        voiceprints: bool = True,
        into: int | None = None,
    ) -> int:
        """Store a processed episode with its speakers, turns, segments and words, in one transaction.

        With voiceprints=False the speakers' embeddings are not kept (voice profiles switched off). `into` is a
        pending episode (from a feed) that this fills in place, keeping its id."""
        ...

    def get(self, episode_id: int) -> Episode: ...

    def list_episodes(self, podcast: str | None = None) -> list[Episode]: ...

    def recent_episodes(self, limit: int) -> list[Episode]:
        """The newest `limit` episodes that are done: latest published first (undated ones last), then latest added,
        then highest id. The home page's list, read without reading every episode."""
        ...

    def podcasts(self) -> list[Podcast]: ...

    def podcast(self, podcast_id: int) -> Podcast:
        """One podcast with its episode count; NotFound when there is none with this id."""
        ...

    def delete(self, episode_id: int) -> None: ...

    def speakers(self, episode_id: int) -> list[EpisodeSpeaker]: ...

    def turns(self, episode_id: int) -> list[Turn]: ...

    def transcript(self, episode_id: int) -> StoredTranscript: ...

    def counts(self) -> dict[str, int]:
        """Row counts of the main tables: what the library holds."""
        ...


class PeopleRepository(Protocol):
    """People, voice exemplars, attributions of episode speakers, rejections and their history."""

    def create(self, name: str) -> Person: ...

    def find(self, name: str) -> Person | None: ...

    def get(self, name: str) -> Person: ...

    def by_id(self, person_id: int) -> Person: ...

    def names(self) -> dict[int, str]:
        """id -> name of every person, in list order: the cheap lookup (no counts) matching needs."""
        ...

    def list_people(self) -> list[Person]: ...

    def rename(self, person_id: int, name: str) -> None: ...

    def add_exemplar(
        self,
        person_id: int,
        embedding: Embedding,
        *,
        origin: str,
        source: str,
        seconds: float,
        speaker_id: int | None = None,
    ) -> int: ...

    def exemplars(self, person_id: int | None = None) -> list[Exemplar]: ...

    def exemplar(self, exemplar_id: int) -> Exemplar: ...

    def keep_exemplar(self, exemplar_id: int) -> None: ...

    def set_exemplar_flags(self, person_id: int, flags: dict[int, str]) -> None:
        """Flag exactly the given exemplars of a person (id -> why); clear every other flag of theirs."""
        ...

    def delete_exemplars(self, ids: Iterable[int]) -> None: ...

    def exemplar_sources(self) -> set[int]:
        """Episode speakers already used as an exemplar by anyone."""
        ...

    def speaker_voices(
        self,
        episode_id: int | None = None,
        speaker_ids: Sequence[int] | None = None,
        *,
        podcast_id: int | None = None,
    ) -> list[SpeakerVoice]:
        """Episode speakers that have a voiceprint (all, one episode's, one podcast's, or the given ones)."""
        ...

    def window_voiceprints(self, speaker_id: int) -> list[Embedding]:
        """The per-window voiceprints kept for an episode speaker (a sample spread over the episode)."""
        ...

    def find_speaker(self, episode_id: int, label: str) -> int:
        """The id of an episode speaker by its label (e.g. SPEAKER_01); NotFound lists the episode's labels."""
        ...

    def speaker_stretch(self, speaker_id: int) -> Stretch:
        """The speaker's longest turn (at most STRETCH_SECONDS of it) and their longest line as a quote."""
        ...

    def attributions(
        self,
        *,
        episode_id: int | None = None,
        person_id: int | None = None,
        tiers: Sequence[str] | None = None,
        podcast_id: int | None = None,
    ) -> list[Attribution]: ...

    def attribution(self, speaker_id: int) -> Attribution | None: ...

    def review_waiting(self) -> int:
        """How many machine attributions wait in the default review queue (matched ones, and low ones held back):
        counted by the store, as every page's navigation shows it."""
        ...

    def set_attribution(
        self,
        speaker_id: int,
        person_id: int | None,
        *,
        score: float | None,
        tier: str | None,
        reason: str,
        held: str | None = None,
        machine: bool = True,
    ) -> bool:
        """Attribute an episode speaker to a person (or to nobody with person_id None), recording why.

        With machine=True a human decision (tier `confirmed`) is left alone. Returns whether who or the tier changed
        (a new score alone is stored without a history row)."""
        ...

    def rejections(self) -> set[tuple[int, int]]:
        """(speaker_id, person_id) pairs a human said are not the same voice."""
        ...

    def add_rejection(self, speaker_id: int, person_id: int) -> None: ...

    def history(self, *, speaker_id: int | None = None, person_id: int | None = None) -> list[AttributionChange]: ...

    def speaker_names(self, episode_id: int, tiers: Sequence[str] = SHOWN_TIERS) -> dict[str, str]:
        """Episode speaker label -> person name, for attributions of the given tiers."""
        ...

    def appearances(self, person_id: int, tiers: Sequence[str] = SHOWN_TIERS) -> list[Appearance]:
        """One row per attributed episode speaker: podcast, episode, date, tier, score, speaking seconds."""
        ...

    def quotes(self, person_id: int, limit: int, tiers: Sequence[str] = SHOWN_TIERS) -> list[Quote]:
        """The person's longest lines (by words) across their attributed episodes, with where they are."""
        ...

    def merge(self, source_id: int, target_id: int, reason: str) -> int:
        """Move everything of `source` to `target` and delete `source`; returns how many attributions moved.

        Where both are attributed in one episode, the more certain attribution stays and the other goes to nobody."""
        ...

    def forget(self, person_id: int) -> dict[str, int]:
        """Remove a person and every voiceprint tied to them; returns what was removed, by kind."""
        ...


class SearchRepository(Protocol):
    """The full-text index over segments and the segments' sentence vectors."""

    def check_filters(self, f: SearchFilters) -> None:
        """NotFound for a speaker or podcast the library does not have (a typo should not look like no results)."""
        ...

    def text_search(
        self, fts: str, f: SearchFilters, *, sort: str = "relevance", limit: int = 10, offset: int = 0
    ) -> list[tuple[int, float]]:
        """(segment id, bm25 score: lower is better) for one page of matches. The lookups of a match's episode and
        speaker read the covering index `segments_lookup`, never the segment rows with their text."""
        ...

    def text_count(self, fts: str, f: SearchFilters | None = None) -> int:
        """How many segments match (without filters the FTS index alone counts: fast even for a million matches)."""
        ...

    def text_facets(self, fts: str, f: SearchFilters, step: int = 1) -> list[FacetCount]:
        """(podcast, person, year, count) over the matches: the total and the facets in one pass, grouped by episode
        speaker first so the names are joined once per group rather than once per matching segment. With step > 1
        only every step-th segment (by id) is counted: an estimate for very large result sets."""
        ...

    def text_page(
        self,
        fts: str,
        f: SearchFilters,
        *,
        sort: str = "relevance",
        limit: int = 10,
        offset: int = 0,
        exact: int = 2000,
        sample: int = 1000,
    ) -> TextPage:
        """What a text search shows: one page of matches, how many pass the filters, and the facets over them
        (every match when at most `exact` segments pass, else every step-th, step = that count / `sample` rounded
        up), in as few passes over the matches as the backend can."""
        ...

    def common_terms(self, terms: Sequence[str], above: int) -> set[str]:
        """The (normalised) terms that more than `above` segments hold."""
        ...

    def keep_matching(self, ids: Sequence[int], f: SearchFilters) -> list[int]:
        """The ids (in the given order) of segments that exist and pass the filters."""
        ...

    def term_documents(self, terms: Sequence[str]) -> dict[str, int]:
        """How many segments hold each (normalised) term, from the FTS5 vocabulary."""
        ...

    def segment_id_bound(self) -> int:
        """The highest segment id: about how many segments the library holds, read in no time."""
        ...

    def matching_fts(self, ids: Sequence[int], fts: str) -> set[int]:
        """Which of the ids also match an FTS5 expression."""
        ...

    def facets_of(self, ids: Sequence[int], f: SearchFilters) -> list[FacetCount]: ...

    def segment_rows(self, ids: Sequence[int], f: SearchFilters) -> dict[int, SegmentRow]: ...

    def neighbours(self, segment_id: int, count: int, f: SearchFilters) -> tuple[list[SegmentRow], list[SegmentRow]]:
        """Up to `count` segments before and after one segment in its episode (in time order)."""
        ...

    def segments_without_vectors(self, limit: int, episode_id: int | None = None) -> list[tuple[int, str]]: ...

    def save_vectors(self, ids: Sequence[int], vectors: npt.NDArray[np.float32]) -> None: ...

    def vector_count(self) -> int:
        """How many segments have a vector (kept by triggers: no count over a million rows per query)."""
        ...

    def vectors_behind(self) -> bool:
        """Whether the newest segment has no vector yet (a cheap check for each search; a full look for missing
        vectors anywhere is `segments_without_vectors`, run after each ingest)."""
        ...

    def vector_batches(self, size: int = 50000) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]]:
        """Every stored vector, in id order, in batches (for rebuilding the vector index)."""
        ...

    def episode_segment_ids(self, episode_id: int) -> list[int]: ...

    def episode_vectors(self, episode_id: int) -> tuple[list[int], npt.NDArray[np.float32]]:
        """An episode's segment ids in transcript order (start, then id) and their sentence vectors, one row each (a
        row of zeros for a segment not embedded yet)."""
        ...

    def vectors_of(self, ids: Sequence[int]) -> dict[int, npt.NDArray[np.float32]]:
        """The stored sentence vectors of these segments (those that have one), by segment id."""
        ...


class FeedRepository(Protocol):
    """Followed feeds, their items and the credits they name."""

    def add(
        self,
        url: str,
        podcast: str,
        *,
        podcast_guid: str | None,
        blocked: bool,
        language: str | None = None,
        language_set: str | None = None,
    ) -> int: ...

    def list_feeds(self) -> list[FollowedFeed]: ...

    def get(self, feed_id: int) -> FollowedFeed: ...

    def remove(self, feed_id: int) -> int:
        """Stop following a feed; its pending episodes go, processed ones stay. Returns how many pending went."""
        ...

    def set_language(self, feed_id: int, language: str | None) -> None:
        """Set the language the user chose for a feed's podcast (None: back to the declared one)."""
        ...

    def update(self, feed_id: int, **values: Any) -> None:
        """Update what reading the feed tells (never `language_set`: see `set_language`)."""
        ...

    def add_items(self, feed_id: int, items: Sequence[NewItem]) -> int:
        """Record the items not seen before, each with a pending episode; returns how many were new."""
        ...

    def pending_items(
        self, feed_id: int | None = None, since: str | None = None, limit: int | None = None
    ) -> list[FollowedItem]:
        """Items still to process (pending, or failed fewer than three times), newest first, each with its feed's URL,
        podcast, declared language (`feed_language`) and the language the user set (`feed_language_set`)."""
        ...

    def claim_item(self, item_id: int, claimer: str, stale_seconds: float) -> FollowedItem | None:
        """Claim an item still to process for `claimer` (one run: its host and home), as `pending_items` returns it;
        None when it is no longer to process (done, failed three times, its feed blocked) or another claimer holds
        it. A claim is won when the item is unclaimed, already this claimer's, or was claimed more than
        `stale_seconds` ago (by the database's clock); of claimers racing for one item exactly one wins."""
        ...

    def release_claims(self, claimer: str) -> int:
        """Give back the items `claimer` holds and has not finished; returns how many."""
        ...

    def finish_item(self, item_id: int, status: str, error: str | None = None, claimer: str | None = None) -> bool:
        """Record an item's outcome (`done`, or `failed` with its error: its pending episode is marked failed), one
        more attempt, and clear its claim. With `claimer`, only while that claimer holds the item (so an outcome is
        recorded once); returns whether it was recorded."""
        ...

    def items(self, feed_id: int) -> list[FollowedItem]: ...

    def link_item(self, item_id: int, episode_id: int, *, drop_pending: int | None = None) -> None:
        """Point an item at an episode already in the library (the same recording), dropping its pending one."""
        ...

    def set_credits(self, episode_id: int, credits: Sequence[tuple[int, str, str]]) -> None:
        """Replace an episode's credits: (person id, role, group)."""
        ...

    def credits(self, episode_id: int) -> list[Credit]: ...

    def set_chapters(self, episode_id: int, chapters: Sequence[Chapter]) -> None:
        """Replace an episode's publisher chapters (from its feed), kept in time order."""
        ...

    def chapters(self, episode_id: int) -> list[Chapter]:
        """An episode's publisher chapters in time order (empty when its feed gives none)."""
        ...


class KeyRepository(Protocol):
    """API keys, kept as hashes."""

    def create(self, scope: str, name: str = "") -> tuple[ApiKey, str]:
        """A new key with `scope` (read or admin); returns the stored key and the key itself, which is not kept."""
        ...

    def get(self, key_id: int) -> ApiKey: ...

    def list_keys(self) -> list[ApiKey]: ...

    def revoke(self, key_id: int) -> ApiKey:
        """Revoke a key for good (revoking it again changes nothing)."""
        ...

    def verify(self, key: str) -> ApiKey | None:
        """The active key `key` is, or None; notes when it was used (at most once a minute)."""
        ...

    def open_session(self, key_id: int, seconds: int) -> str:
        """A new browser session for a key, valid for `seconds`: the session's secret (kept only as its hash).
        Sessions that have expired are forgotten on the way."""
        ...

    def session_key(self, secret: str) -> ApiKey | None:
        """The active key behind a session that has not expired, or None."""
        ...

    def close_session(self, secret: str) -> None:
        """Forget a session (signing out); an unknown one changes nothing."""
        ...


class JobRepository(Protocol):
    """Background jobs: queued, claimed by one worker at a time, followed, finished or cancelled."""

    def create(
        self, kind: str, parameters: Mapping[str, Any], *, input_path: str | None = None, node: str | None = None
    ) -> Job:
        """Queue a job: `parameters` (JSON) say what to do; `input_path` is a file in the home it holds until it ends;
        `node` the host and home that alone may run it (None: any worker)."""
        ...

    def get(self, job_id: str) -> Job:
        """One job; NotFound when there is none with this id."""
        ...

    def list_jobs(self, status: str | None = None, limit: int = 50) -> list[Job]:
        """The newest jobs first, at most `limit` (only those with `status`, when given)."""
        ...

    def active_ids(self) -> list[str]:
        """The ids of the running jobs, then of the queued ones in the order they will run."""
        ...

    def claim_next(self, claimer: str, node: str) -> Job | None:
        """Take the oldest queued job that `node` may run for the worker `claimer`, now running with its heartbeat
        started; None when there is none. Of claimers racing for one job exactly one wins."""
        ...

    def touch(self, job_id: str, claimer: str, stage: str | None = None, progress: float | None = None) -> JobHold:
        """A running job's heartbeat (and its stage and progress, when `stage` is given), written only while
        `claimer` holds it: "held" (go on), "cancel" (a cancel was asked for) or "lost" (it is not this worker's)."""
        ...

    def finish(
        self,
        job_id: str,
        claimer: str,
        status: str,
        *,
        error: str | None = None,
        result: Mapping[str, Any] | None = None,
        episode_id: int | None = None,
        created: bool | None = None,
    ) -> bool:
        """Record how a running job ended (done, failed or cancelled), only while `claimer` holds it; returns whether
        it was recorded."""
        ...

    def requeue(self, job_id: str, claimer: str) -> bool:
        """Put a running job back in the queue (its worker stopped or died), only while `claimer` holds it."""
        ...

    def cancel(self, job_id: str) -> Job:
        """A queued job is cancelled at once; a running one is asked to stop (its worker reads it from `touch`);
        a finished one is left as it is. Returns the job as it is now."""
        ...

    def stale(self, stale_seconds: float) -> list[Job]:
        """Running jobs whose worker has not written a heartbeat for `stale_seconds` (by the database's clock)."""
        ...

    def held_inputs(self) -> list[str]:
        """The files queued and running jobs hold (an upload's recording until its job ends)."""
        ...


class QuizRepository(Protocol):
    """Every answer a learner gives to a listening quiz."""

    def add_attempt(
        self,
        *,
        learner: str,
        episode_id: int,
        seed: int,
        level: str,
        question_id: str,
        kind: str,
        chosen: int,
        chosen_text: str,
        answer_text: str,
        correct: bool,
        at: str,
    ) -> QuizAttempt: ...

    def attempts(self, learner: str, episode_id: int | None = None) -> list[QuizAttempt]:
        """A learner's attempts, oldest first (optionally of one episode)."""
        ...

    def learners(self) -> list[str]: ...

    def recent_segment_texts(self, limit: int = 20000) -> list[str]:
        """The text of the most recent segments of finished episodes: the library's own vocabulary, bounded."""
        ...


class TranslationRepository(Protocol):
    """Segment translations, cached per segment, language pair and backend."""

    def segment_texts(self, episode_id: int) -> list[tuple[int, str]]:
        """An episode's segments as (id, text), in transcript order (the order of `transcript`)."""
        ...

    def cached_translations(self, segment_ids: Sequence[int], source: str, target: str, backend: str) -> dict[int, str]:
        """segment id -> its cached translation, for those of `segment_ids` that have one."""
        ...

    def save_translations(self, translated: dict[int, str], source: str, target: str, backend: str) -> None: ...

    def translation_count(self, episode_id: int | None = None) -> int:
        """How many translations are cached (for one episode, or in all)."""
        ...


class MaintenanceRepository(Protocol):
    """The store's upkeep: checks of its own soundness, orphaned rows, the text index, and snapshots for backups."""

    engine: Literal["sqlite", "postgresql"]

    def integrity(self) -> list[str]:
        """What is wrong with the engine's own structures (empty when sound): SQLite's integrity_check; on PostgreSQL
        whether the server answers and every migration is applied."""
        ...

    def text_index(self, deep: bool = False) -> TextIndexState:
        """How the full-text index compares with the segments: the rows on each side; with `deep`, also the engine's
        own check of every entry against the text (slow: SQLite's FTS5 integrity-check, about 30 s a million
        segments, holding the write lock meanwhile)."""
        ...

    def rebuild_text_index(self) -> None:
        """Build the full-text index again from the segments (InputError where the server keeps it itself)."""
        ...

    def orphans(self) -> list[Orphans]:
        """Rows whose parent row is gone, per foreign key that has any."""
        ...

    def forgotten_voiceprints(self) -> int:
        """Episode speakers still holding a voiceprint though the person they were attributed to, or gave an
        exemplar to, is gone (what `forget` would have removed)."""
        ...

    def delete_orphans(self) -> dict[str, int]:
        """Remove the forgotten voiceprints, then every orphaned row as its foreign key's ON DELETE would have
        (delete it, or clear the reference), in one transaction; returns rows changed per table."""
        ...

    def missing_vectors(self) -> int:
        """Segments without a stored sentence vector."""
        ...

    def vector_ids(self) -> npt.NDArray[np.int64]:
        """The ids of the segments that have a stored vector, ascending."""
        ...

    def recording_sources(self) -> list[tuple[int, str]]:
        """(episode id, source) of every processed episode: the file each was made from."""
        ...

    def rehome(self, old: str, new: str) -> int:
        """Point episode sources under the folder `old` at the same place under `new`; returns how many moved."""
        ...

    def snapshot(self, path: Path, hook: Callable[[int, int], None] | None = None) -> Snapshot:
        """Copy the whole store, consistent as of one moment, into a new file at `path` while other processes go on
        writing (SQLite's online backup); `hook(done, total)` follows it. InputError on a server store (pg_dump)."""
        ...


class StoreBackend(Protocol):
    """A whole library store: its repositories, one transaction across them, and its upkeep."""

    location: str  # where it is, for messages: the SQLite file, or the server's URL without its password
    episodes: EpisodeRepository
    people: PeopleRepository
    search: SearchRepository
    feeds: FeedRepository
    keys: KeyRepository
    jobs: JobRepository
    quizzes: QuizRepository
    translations: TranslationRepository
    alerts: AlertTables  # written once for both engines (podscope.store.alerts)
    maintenance: MaintenanceRepository

    def transaction(self) -> AbstractContextManager[None]:
        """One write transaction across repositories: everything inside commits together or not at all."""
        ...

    def migrate(self) -> list[str]:
        """Bring the schema up to date; returns the names of the migrations applied."""
        ...

    def applied_migrations(self) -> list[str]: ...

    def close(self) -> None: ...

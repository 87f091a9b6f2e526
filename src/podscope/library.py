"""The podscope library: one object that the CLI, the HTTP API and the tests build, over one home folder.

    lib = Library("~/podscope")            # or Library() for PODSCOPE_HOME / the per-user data folder
    result = lib.add_audio("interview.mp3", podcast="Dwarkesh Podcast", title="Richard Sutton")
    print(lib.export_transcript(result.episode.id, "vtt"))

It never prints; errors are `podscope.errors` exceptions that the shells turn into messages.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podscope import audio, formats, ingest, upkeep
from podscope.alerts import Alerts, Poster
from podscope.align import speaker_over
from podscope.asr.whisper import AsrOptions, WhisperTranscriber, check_language
from podscope.chapters import Chapters
from podscope.distributed import AudioJob, FeedJob, Pool, RayReport, ingest_files, require_ray, sync_items
from podscope.errors import InputError
from podscope.ingest import AddResult
from podscope.jobs import JobOutcome, Jobs
from podscope.keys import Keys
from podscope.lineage import Lineage
from podscope.people import People
from podscope.recordings import recording
from podscope.records import (
    SAMPLE_RATE,
    TIERS,
    CastMember,
    Credit,
    Embedding,
    Episode,
    EpisodeMeta,
    EpisodeSpeaker,
    Hook,
    Job,
    LabelledHook,
    Podcast,
    StoredTranscript,
    Tier,
    Turn,
)
from podscope.search.embed import SentenceEmbedder
from podscope.search.engine import Search
from podscope.settings import Settings, load_settings, resolve_home
from podscope.store import StoreBackend, copy_store, open_store
from podscope.upkeep import BackupReport, CheckReport, RestoreReport

if TYPE_CHECKING:  # built on first use: they bring in the models, the HTTP client, the XML parser
    from podscope.feeds.follow import Feeds
    from podscope.quiz import Quizzes
    from podscope.translate import Translations
    from podscope.voices.diarize import DiarizationOptions

# The one real recording in the sample library: a two-speaker telephone conversation (pyannote.audio's sample, MIT).
REAL_SAMPLE_PODCAST = "Phone Line"
REAL_SAMPLE_TITLE = "Diane and Sheila on the line"
# The sample library's hosts and the episode each is named from (podscope/sample/episodes.json).
SAMPLE_HOSTS = {
    "Callum Reid": "long-context-learning-without-forgetting",
    "Daniel Brooks": "weekend-projects-the-patience-of-sourdough",
}
MIN_SAMPLE_SECONDS = 3.0  # speech an enrolment sample needs


def parse_published(value: str | dt.date | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"published date {value!r}: expected YYYY-MM-DD") from exc


class Library:
    """A podscope home: its settings, its store, and the operations on them."""

    def __init__(self, home: str | Path | None = None, settings: Settings | dict[str, Any] | None = None):
        """`settings`: values that override the home's config.toml and PODSCOPE_<NAME> variables, or a whole
        `Settings` to use as it is."""
        self.home = resolve_home(home)
        self.settings = settings if isinstance(settings, Settings) else load_settings(self.home, settings)
        self.store: StoreBackend = open_store(self.settings.store_url, self.home)
        self.cache_dir = self.home / "models"
        self.work_dir = self.home / "tmp"
        self._transcribers: dict[AsrOptions, WhisperTranscriber] = {}
        self.people = People(self.store, self.settings, self.embed_clip)
        self.keys = Keys(self.store.keys)
        self.jobs = Jobs(self.store.jobs, self.home)
        self._quizzes: Quizzes | None = None
        self._translations: Translations | None = None
        self.search = Search(
            self.store.search,
            self.home / "index" / "segments.faiss",
            lambda: SentenceEmbedder(self.cache_dir, self.settings.embedding_backend, self.settings.threads),
            self.settings.threads,
        )
        s = self.store
        self.chapters = Chapters(s.episodes, s.search, s.feeds, s.people, lambda e: self.search.index_pending(e))
        self.lineage = Lineage(self.search)
        self.alerts = Alerts(self.store.alerts, self.search, self.settings, self._webhook_poster)

    def _webhook_poster(self) -> Poster:
        """What sends alert webhooks: the feed fetcher, with its address rules and timeout (no retries of its own)."""
        from podscope.feeds.fetch import Fetcher

        s = self.settings
        return Fetcher(allow_private=s.allow_private_addresses, timeout=s.fetch_timeout, retries=0)

    @property
    def quizzes(self) -> Quizzes:
        """Listening quizzes and learners' progress (built once, on first use)."""
        if self._quizzes is None:
            from podscope.quiz import Quizzes

            self._quizzes = Quizzes(self.store.quizzes, self.store.episodes, self.store.people)
        return self._quizzes

    @property
    def translations(self) -> Translations:
        """Segment translations with a per-segment cache (the backend from `translate_backend`)."""
        if self._translations is None:
            from podscope.translate import Translations

            self._translations = Translations(self.store.translations, self.store.episodes, self.settings)
        return self._translations

    @property
    def feeds(self) -> Feeds:
        """Followed feeds (built on first use: it brings in the HTTP client and the XML parser)."""
        from podscope.feeds.follow import Feeds

        return Feeds(self.store, self.settings, self.home, self.work_dir, arrivals=self)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- ingestion ------------------------------------------------------------------------------------------------

    def asr_options(self, model: str | None = None) -> AsrOptions:
        s = self.settings
        return AsrOptions(
            model=model or s.asr_model,
            language=s.asr_language or None,
            beam_size=s.asr_beam_size,
            batch_size=s.asr_batch_size,
            cpu_threads=s.threads,
            allow_download=s.allow_download,
        )

    def transcriber(self, model: str | None = None) -> WhisperTranscriber:
        options = self.asr_options(model)
        if options not in self._transcribers:
            self._transcribers[options] = WhisperTranscriber(options, self.cache_dir)
        return self._transcribers[options]

    def diarization_options(self) -> DiarizationOptions:
        from podscope.voices.diarize import DiarizationOptions

        return DiarizationOptions(min_speakers=self.settings.min_speakers, max_speakers=self.settings.max_speakers)

    def add_audio(
        self,
        path: str | Path,
        *,
        podcast: str,
        title: str,
        published: str | dt.date | None = None,
        model: str | None = None,
        hook: Hook | None = None,
        into: int | None = None,
        language: str | None = None,
        declared_language: str | None = None,
    ) -> AddResult:
        """Process a recording and store it; a recording already in the library is not processed again. `into` is a
        pending episode (from a feed) to fill in place.

        The language: `language` if given, else the `asr_language` setting, else `declared_language` (what a feed
        declares for the episode, when Whisper knows it), else detected from the recording."""
        path = Path(path)
        if not podcast.strip():
            raise InputError("podcast name is empty: expected --podcast NAME")
        if not title.strip():
            raise InputError("episode title is empty: expected --title TITLE")
        date = parse_published(published)
        check_language(language)  # a language nobody can transcribe in fails now, not after diarization
        check_language(self.settings.asr_language)
        return self._alerted(
            ingest.add_audio(
                self.store,
                self.people,
                self.search,
                path,
                EpisodeMeta(podcast=podcast.strip(), title=title.strip(), published=date, source=str(path.resolve())),
                transcriber=lambda: self.transcriber(model),
                diarization=self.diarization_options,
                workdir=self.work_dir,
                language=language,
                declared_language=declared_language,
                into=into,
                hook=hook,
                max_seconds=self.max_audio_seconds,
            )
        )

    def _alerted(self, result: AddResult) -> AddResult:
        """An episode just stored is searched for the saved searches (with whatever an earlier run left queued)."""
        self.alerts.scan()
        return result

    @property
    def max_audio_seconds(self) -> float:
        """The longest recording the library takes (setting max_audio_hours), in seconds."""
        return float(self.settings.max_audio_hours) * 3600.0

    def check_recording(self, path: str | Path) -> audio.AudioInfo:
        """What a recording is, once it proves to be one podscope opens and no longer than the library takes: the
        checks `add_audio` makes before any work, for a surface that wants to refuse a file at once (an upload)."""
        return audio.check_length(Path(path), self.max_audio_seconds)

    def add_audio_on_ray(
        self,
        jobs: Sequence[AudioJob],
        *,
        address: str = "local",
        workers: int | None = None,
        hook: Callable[[RayReport], None] | None = None,
    ) -> RayReport:
        """Add many recordings on Ray (`podscope.distributed`): `address` "local" for Ray on this machine, else a
        cluster's; `workers` actors (default: the cluster's CPUs), each with its own library on this one's
        PostgreSQL store and settings. Episodes that fail are reported, not raised; `hook(report)` follows the batch."""
        for job in jobs:  # what the user typed is checked here, before any worker starts
            if not job.podcast.strip():
                raise InputError("podcast name is empty: expected --podcast NAME")
            if not job.title.strip():
                raise InputError(f"{job.path}: the episode title is empty")
            parse_published(job.published)
        check_language(self.settings.asr_language)
        return self._rescore_owed(ingest_files(list(jobs), self._pool(address, workers), hook))

    def sync_on_ray(
        self,
        feed_id: int | None = None,
        *,
        limit: int | None = None,
        since: str | None = None,
        retranscribe: bool = False,
        address: str = "local",
        workers: int | None = None,
        hook: Callable[[RayReport], None] | None = None,
    ) -> RayReport:
        """`feeds.sync` on Ray (`podscope.distributed`): the feeds (or one) are read here, then their pending items,
        newest first (at most `limit`, published on or after `since`), are processed by `workers` actors, each with
        its own library on this one's PostgreSQL store and settings. Each item is claimed for this run before a
        worker gets it, so another run never processes it too; items that fail are reported, not raised, and what
        reading the feeds found is the report's `feeds`. One sync per home at a time, as `feeds.sync`."""
        require_ray(self.settings.store_url, workers)  # a SQLite store or no Ray: refused before any feed is read
        check_language(self.settings.asr_language)
        feeds = self.feeds
        with feeds.sync_lock():
            refreshed = feeds.refresh_feeds(feed_id)
            items = [FeedJob(i.id, i.title) for i in feeds.pending(feed_id, since=since, limit=limit)]
            report = sync_items(items, self._pool(address, workers), feeds, retranscribe=retranscribe, hook=hook)
        report.feeds = refreshed
        return self._rescore_owed(report)

    def _rescore_owed(self, report: RayReport) -> RayReport:
        """The batch's one full re-score, when a profile learnt on a worker (each episode was matched on its own)."""
        if report.rescore_due and self.people.enabled:
            reason = report.rescore_due[0] + (
                f" (and {len(report.rescore_due) - 1} more)" if report.rescore_due[1:] else ""
            )
            with self.store.transaction():
                self.people.rescore(reason)
            self.alerts.scan()  # speakers the re-score named fire their alerts
        return report

    def _pool(self, address: str, workers: int | None) -> Pool:
        """Ray workers like this library: each opens its own on this store, home and settings."""
        return Pool(self.settings.store_url, self.home, self.settings.as_dict(), _worker_library, address, workers)

    def add_samples(
        self,
        *,
        model: str | None = None,
        build_hook: Callable[[int, int], None] | None = None,
        episode_hook: Callable[[int, int, str], Hook | None] | None = None,
    ) -> list[AddResult]:
        """Build the bundled sample library (synthesised with flite) and add it, with one real recording.

        `build_hook(done, total)` follows the synthesis; `episode_hook(index, total, title)` may return a stage hook
        for each episode's processing. Then the two hosts are named once each, from their first episode, the way a
        listener would (unless voice profiles are off or they are named already): every other appearance of their
        voices is recognised from that.
        """
        from podscope.sample_scripts import build_sample_library

        built = build_sample_library(
            self.home / "samples", hook=(lambda i, n, _ep: build_hook(i, n)) if build_hook else None
        )
        jobs: list[tuple[Path, str, str, str | None]] = [
            (ep.audio_path, ep.podcast, ep.title, ep.published.isoformat()) for ep in built
        ]
        real = resources.files("podscope").joinpath("sample/pyannote-sample.wav")
        with resources.as_file(real) as real_path:
            jobs.append((Path(real_path), REAL_SAMPLE_PODCAST, REAL_SAMPLE_TITLE, None))
            results = []
            for i, (path, podcast, title, published) in enumerate(jobs, start=1):
                hook = episode_hook(i, len(jobs), title) if episode_hook else None
                results.append(
                    self.add_audio(path, podcast=podcast, title=title, published=published, model=model, hook=hook)
                )
        if self.people.enabled:
            for name, key in SAMPLE_HOSTS.items():
                index = next(i for i, ep in enumerate(built) if ep.key == key)
                if self.store.people.find(name) is None:
                    spans = [(t.start, t.end) for t in built[index].conversation.turns if t.speaker == name]
                    episode_id = results[index].episode.id
                    self.people.enroll_speaker(name, episode_id, self._label_over(episode_id, spans))
        return results

    def _label_over(self, episode_id: int, spans: list[tuple[float, float]]) -> str:
        """The episode speaker label that talks most during the given stretches (the first one to speak when none
        talks there)."""
        turns = self.store.episodes.turns(episode_id)
        if not turns:
            raise InputError(f"episode {episode_id} has no speaker turns")
        found = speaker_over(spans, turns)
        return found.speaker if found else turns[0].speaker

    def import_transcript(
        self,
        path: str | Path,
        *,
        podcast: str,
        title: str,
        published: str | dt.date | None = None,
        language: str = "en",
        fmt: str | None = None,
        audio_path: str | Path | None = None,
        into: int | None = None,
        hook: Hook | None = None,
    ) -> AddResult:
        """Store an episode from a transcript alone (Podcasting 2.0 JSON, WebVTT or SRT; the format from the file's
        extension unless given). Caption-sized cues are joined into sentence-sized segments per speaker; speakers the
        transcript names become people attributed by the publisher (tier `confirmed`).

        With `audio_path` (the episode's recording) the audio is diarized too: segments get the diarized speakers,
        voiceprints are kept and matched against voice profiles, and each diarized speaker the transcript names is
        attributed to that person."""
        path = Path(path)
        if not podcast.strip() or not title.strip():
            raise InputError("expected --podcast NAME and --title TITLE")
        date = parse_published(published)
        return self._alerted(
            ingest.import_transcript(
                self.store,
                self.people,
                self.search,
                path,
                EpisodeMeta(podcast=podcast.strip(), title=title.strip(), published=date, source=str(path.resolve())),
                language=language,
                fmt=fmt,
                audio_path=None if audio_path is None else Path(audio_path),
                diarization=self.diarization_options,
                workdir=self.work_dir,
                into=into,
                hook=hook,
            )
        )

    def embed_clip(
        self, path: str | Path, start: float | None = None, end: float | None = None
    ) -> tuple[Embedding, float]:
        """The voiceprint of the one voice in an audio sample (optionally a stretch of it) and its seconds of speech.

        The sample goes through the same diarization as episodes, so its voiceprint is comparable with theirs; a
        sample with two voices is refused rather than averaged.
        """
        from podscope.voices.diarize import diarize

        path = Path(path)
        audio.probe(path)  # a clear message for a missing, empty or broken file
        waveform = audio.load_audio(path)
        sr = SAMPLE_RATE
        total = len(waveform) / sr
        lo = 0.0 if start is None else start
        hi = total if end is None else end
        if lo < 0 or lo >= total:
            raise InputError(f"--start {lo:.1f} s is outside {path.name}, which lasts {total:.1f} s")
        waveform = waveform[int(lo * sr) : int(min(hi, total) * sr)]
        result = diarize(waveform, options=self.diarization_options())
        if not result.speakers:
            raise InputError(f"no speech found in {path.name}: expected a sample of one person talking")
        tracks = sorted(result.speakers, key=lambda t: -t.speaking_time)
        if len(tracks) > 1 and tracks[1].speaking_time >= 0.2 * tracks[0].speaking_time:
            raise InputError(
                f"{path.name} holds {len(tracks)} voices: give --start/--end around a stretch where only the person"
                " speaks"
            )
        if tracks[0].speaking_time < MIN_SAMPLE_SECONDS:
            raise InputError(
                f"{path.name} has {tracks[0].speaking_time:.1f} s of speech: a voice sample needs at least"
                f" {MIN_SAMPLE_SECONDS:.0f} s"
            )
        return tracks[0].embedding, tracks[0].speaking_time

    def run_job(self, job: Job, hook: LabelledHook) -> JobOutcome:
        """Do a stored job's work (`podscope.jobs.Runner` calls this on its own library): process an upload, sync the
        feeds, or re-score the voices; `hook` hears the stages and may raise `JobStopped` between them."""
        p = job.parameters
        if job.kind == "upload":
            if not job.input_path:
                raise InputError(f"job {job.id} names no uploaded file")
            result = self.add_audio(
                job.input_path, podcast=p["podcast"], title=p["title"], published=p.get("published"), hook=hook
            )
            keep = Path(result.episode.source) == Path(job.input_path).resolve()
            return JobOutcome(episode_id=result.episode.id, created=result.created, keep_input=keep)
        if job.kind == "sync":
            report = self.feeds.sync(
                p.get("feed_id"),
                limit=p.get("limit"),
                since=p.get("since"),
                retranscribe=bool(p.get("retranscribe")),
                hook=hook,
            )
            return JobOutcome(result=asdict(report))
        if job.kind == "rescore":
            hook("rescore", 0, 1)
            changes = self.people.match()
            hook("rescore", 1, 1)
            return JobOutcome(result={"changes": len(changes)})
        raise InputError(f"job {job.id} is of kind {job.kind!r}: expected upload, sync or rescore")

    # -- reading --------------------------------------------------------------------------------------------------

    def episodes(self, podcast: str | None = None) -> list[Episode]:
        return self.store.episodes.list_episodes(podcast)

    def recent_episodes(self, limit: int = 6) -> list[Episode]:
        """The newest episodes that are done, latest published first (the home page's list)."""
        return self.store.episodes.recent_episodes(limit)

    def podcasts(self) -> list[Podcast]:
        return self.store.episodes.podcasts()

    def delete_episode(self, episode_id: int) -> Episode:
        """Remove an episode with everything derived from it (segments, speakers, voiceprints, index entries).

        The vector index lets go of its segments first: a process killed between the two steps leaves the episode
        there, for the same delete to finish, rather than an index holding segments that are gone (whose ids the
        next import may take)."""
        episode = self.store.episodes.get(episode_id)
        segment_ids = self.store.search.episode_segment_ids(episode_id)
        self.search.forget_segments(segment_ids)
        self.store.episodes.delete(episode_id)
        return episode

    def transcript(self, episode_id: int) -> StoredTranscript:
        return self.store.episodes.transcript(episode_id)

    def timeline(self, episode_id: int) -> list[Turn]:
        """Who spoke when, by start: the episode's diarization turns (they may overlap), or for an episode without any,
        its segments that have a speaker."""
        return self.store.episodes.turns(episode_id) or list(self.transcript(episode_id).timeline)

    def episode(self, episode_id: int) -> Episode:
        """One episode; NotFound names the command that lists them."""
        return self.store.episodes.get(episode_id)

    def episode_speakers(self, episode_id: int) -> list[EpisodeSpeaker]:
        """The speakers diarization found in an episode, by label."""
        return self.store.episodes.speakers(episode_id)

    def speaker_names(self, episode_id: int) -> dict[str, str]:
        """Episode speaker label -> the person's name, for speakers attributed at `matched` or better."""
        return self.store.people.speaker_names(episode_id)

    def credits(self, episode_id: int) -> list[Credit]:
        """The people the episode's feed credits (`podcast:person`)."""
        return self.store.feeds.credits(episode_id)

    def counts(self) -> dict[str, int]:
        """What the library holds: rows per main table (podcasts, episodes, speakers, voiceprints, turns, segments)."""
        return self.store.episodes.counts()

    def podcast(self, podcast_id: int) -> Podcast:
        """One podcast with its episode count; NotFound when there is none with this id."""
        return self.store.episodes.podcast(podcast_id)

    def cast(self, episodes: Sequence[Episode]) -> list[CastMember]:
        """The people of these episodes (a podcast's): those heard in them (attributed at `matched` or better) and
        those their feed credits, most heard first (speaking time, then episodes, then name)."""
        ids = {e.id for e in episodes}
        heard: dict[str, tuple[set[int], float, Tier]] = {}
        for a in self.people.attributions():
            if a.episode_id in ids:
                seen, seconds, tier = heard.get(a.person, (set(), 0.0, a.tier))
                heard[a.person] = (seen | {a.episode_id}, seconds + a.speaking_time, min(tier, a.tier, key=TIERS.index))
        roles: dict[str, set[str]] = {}
        for episode_id in sorted(ids):
            for credit in self.credits(episode_id):
                roles.setdefault(credit.name, set()).add(credit.role)
        cast = [
            CastMember(
                name=name,
                episodes=len(heard[name][0]) if name in heard else 0,
                seconds=heard[name][1] if name in heard else 0.0,
                tier=heard[name][2] if name in heard else None,
                roles=tuple(sorted(roles.get(name, ()))),
            )
            for name in {*heard, *roles}
        ]
        return sorted(cast, key=lambda c: (-c.seconds, -c.episodes, c.name.lower()))

    def recording(self, episode: Episode) -> Path | None:
        """The recording of a processed episode that may be played (see `podscope.recordings`), or None when it was
        imported from a transcript alone, is still pending, or its file is gone."""
        return recording(self.home, episode.source) if episode.status == "done" else None

    def copy_store(self, to: str, hook: Callable[[str, int, int], None] | None = None) -> dict[str, int]:
        """Copy this library, kept in the SQLite file, into an empty PostgreSQL store at `to` (ids kept, one
        transaction, counts verified); returns the rows copied per table. `hook(table, done, total)` follows it."""
        return copy_store(self.store, to, hook)

    # -- upkeep ---------------------------------------------------------------------------------------------------

    def backup(self, dest: str | Path, hook: upkeep.Progress | None = None) -> BackupReport:
        """Back up the library into the new or empty folder `dest` while other processes may go on using it: a
        consistent copy of the SQLite file, config.toml, the vector index, the recordings in the home's media folders
        its episodes name, and a manifest with every file's sha256 (see `podscope.upkeep.backup`). On a PostgreSQL
        store the database is left to pg_dump (`BackupReport.guidance` says how) and the backup holds the home's
        files. `hook(step, done, total)` follows it: "database" in pages, "files" in bytes."""
        return upkeep.backup(self.store, self.search, self.home, Path(dest), hook)

    def check(
        self,
        *,
        repair: bool = False,
        delete_unreferenced: bool = False,
        deep: bool = False,
        hook: upkeep.Progress | None = None,
    ) -> CheckReport:
        """Check the library (`upkeep.CHECKS`: the database's integrity, the text and vector indexes against the
        segments, orphaned rows, voiceprints of people who are gone, missing recordings, recordings nothing names);
        with `repair`, set right what can be rebuilt or removed (recordings nothing names only with
        `delete_unreferenced`). `deep` adds the text index's own check of every entry (slow)."""
        return upkeep.check(
            self.store,
            self.search,
            self.home,
            self.settings,
            repair=repair,
            delete_unreferenced=delete_unreferenced,
            deep=deep,
            hook=hook,
        )

    @classmethod
    def restore(
        cls,
        source: str | Path,
        home: str | Path | None = None,
        *,
        force: bool = False,
        settings: dict[str, Any] | None = None,
        hook: upkeep.Progress | None = None,
    ) -> RestoreReport:
        """Restore the backup in `source` into `home` (empty, unless `force` replaces its library): every file is
        checked against the manifest before any is put in place; recording paths move to this home, then the library
        is checked (`RestoreReport.check`), after mending a vector index that does not hold exactly the stored
        vectors."""
        t0 = time.perf_counter()
        target = resolve_home(home)
        restored = upkeep.restore_files(Path(source), target, force=force, overrides=settings, hook=hook)
        with cls(target, settings=settings) as lib:
            old, new = restored.manifest.home, str(target.resolve())
            rehomed = lib.store.maintenance.rehome(old, new) if old != new else 0
            report = lib.check(hook=hook)
            if any(f.kind == "vector index" for f in report.findings):  # vectors written while the backup ran
                lib.search.mend_index()
                report = lib.check(hook=hook)
        return RestoreReport(
            home=str(target),
            source=str(Path(source).expanduser().resolve()),
            files=restored.files,
            size=restored.size,
            rehomed=rehomed,
            notes=restored.notes,
            check=report,
            seconds=time.perf_counter() - t0,
        )

    def export_transcript(self, episode_id: int, fmt: str) -> str:
        """The episode's transcript in one of `formats.FORMATS` (txt, json, srt, vtt, rttm, md), with people's names
        where a speaker is attributed at `matched` or better; `md` lists the episode's chapters too."""
        transcript, names = self.transcript(episode_id), self.store.people.speaker_names(episode_id)
        if fmt.strip().lower().lstrip(".") == "md":  # with the chapters shown on the episode page
            return formats.md.write(transcript, names, chapters=self.chapters.episode(episode_id).chapters)
        return formats.write(transcript, fmt, names)


def _worker_library(home: Path, settings: dict[str, Any]) -> Library:
    """How a Ray worker opens its library (`podscope.distributed` never imports this module)."""
    return Library(home, settings=settings)

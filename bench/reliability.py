"""Reliability in one command: the figures a hardened podscope is judged by, each from the tests that prove it.

    .venv/bin/python bench/reliability.py                          # every part (an hour or more; --quick: minutes)
    .venv/bin/python bench/reliability.py --only fuzz --examples 100 --seed 7
    .venv/bin/python bench/reliability.py --only kill --fractions 0.1,0.3,0.5,0.7,0.9 --command add-audio
    .venv/bin/python bench/reliability.py --only concurrency --rounds 3
    .venv/bin/python bench/reliability.py --only load --rate 100 --seconds 60
    .venv/bin/python bench/reliability.py --only backup --episodes 10000

Parts (`--only`, repeatable; all by default):
- fuzz: schemathesis against a real server over a small real library (tests/test_api_fuzz.py's run), `--examples`
  per operation with `--seed`; failures and errors by kind (the target is none).
- kill: every writing command of tests/test_crash.py killed (SIGKILL) at each of its kill points, the library
  checked and the command run again; kill points tried and survived per command (the target is all).
  `--fractions` replaces the fractions of each command's run where kills land (the moments seen from outside,
  mid-download and mid-VACUUM, stay).
- concurrency: tests/test_concurrency.py's scenario (`podscope serve` answering two readers while two imports and a
  sync write from the command line), `--rounds` times; commands and requests run and failed (the target is none).
- load: bench/load.py's sustained load (`--rate` requests/s for `--seconds`) on its library of `--episodes`
  episodes: p50/p95/p99 and errors, overall and per kind. Skipped, saying so, where bench/load.py is missing.
- backup: the time to back up and check a library of `--episodes` episodes: the load run's library when it was
  built, else bench/backup.py's (built once and kept in `--workdir`; at 10,000, the default, an hour or more to build
  the first time on 2 cores).
`--quick` makes each part small: 3 examples per operation, two kill points per command, one round, 10 s of load
and a library of 500 episodes. Nothing is asserted: it prints what happened, and a failure's reason.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for folder in ("src", "bench", "tests"):  # the tests' scenarios are imported, not copied
    sys.path.insert(0, str(ROOT / folder))

PARTS = ("fuzz", "kill", "concurrency", "load", "backup")


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "..."


def fuzz(args: argparse.Namespace, work: Path) -> None:
    from test_api_fuzz import failures_by_kind, fuzz_small_library

    folder = work / "fuzz"
    folder.mkdir()
    t0 = time.perf_counter()
    run = fuzz_small_library(folder, examples=args.examples, seed=args.seed)
    seconds = time.perf_counter() - t0
    kinds = failures_by_kind(run.stdout)
    tested = re.search(r"Tested: (\d+)", run.stdout)
    cases = re.search(r"(\d+) generated", run.stdout)
    print(
        f"fuzz         {tested[1] if tested else '?'} operations, {args.examples} examples each (seed {args.seed}),"
        f" {cases[1] if cases else '?'} test cases in {seconds:.0f} s: {sum(kinds.values())} failures and errors"
        f" (schemathesis exit {run.returncode})"
    )
    for kind, count in sorted(kinds.items()):
        print(f"               {count:4d}  {kind}")
    if run.returncode and not kinds:
        print("             " + run.stdout[-1500:].replace("\n", "\n             "), run.stderr[-800:])


def kill(args: argparse.Namespace, work: Path) -> None:
    import test_crash as crash

    tried = survived = 0
    with crash.feed_server(work / "served") as url:
        bases = crash.Bases(work / "bases", url)
        for name, command in crash.COMMANDS.items():
            if args.command and name not in args.command:
                continue
            points = [p for p in command.points if not isinstance(p, float)]
            points += args.fractions or [p for p in command.points if isinstance(p, float)]
            if args.quick:
                points = points[:2]
            folder = work / "kill" / re.sub(r"\W+", "-", name)
            folder.mkdir(parents=True)
            t0 = time.perf_counter()
            try:
                base = bases[command.base]
                seconds, ends = crash.timed_run(base, folder, command)
            except Exception as exc:  # a home that cannot be built or a command that fails: say so
                print(f"kill         {name:24} not run: {_short(exc)}")
                tried += len(points)
                continue
            outcomes = []
            for point in points:
                try:
                    outcomes.append(crash.kill_once(base, folder, command, point, seconds, ends))
                    survived += 1
                except Exception as exc:  # an assertion of the harness: what did not hold
                    outcomes.append(f"FAILED at {crash.describe(point)}: {_short(exc)}")
                tried += 1
            ok = sum(not o.startswith("FAILED") for o in outcomes)
            counted = {o: outcomes.count(o) for o in dict.fromkeys(outcomes) if not o.startswith("FAILED")}
            print(
                f"kill         {name:24} {ok}/{len(points)} survived (run {seconds:.1f} s; "
                + ", ".join(f"{n} {o}" for o, n in counted.items())
                + f"; {time.perf_counter() - t0:.0f} s in all)"
            )
            for o in outcomes:
                if o.startswith("FAILED"):
                    print(f"               {o}")
            shutil.rmtree(folder, ignore_errors=True)
    print(f"kill         in all: {survived}/{tried} kill points survived")


def concurrency(args: argparse.Namespace, work: Path) -> None:
    from test_concurrency import share_one_home

    commands = requests = 0
    failed: list[str] = []
    for n in range(args.rounds):
        folder = work / f"concurrency-{n}"
        folder.mkdir()
        shared = share_one_home(folder)
        commands += len(shared.commands)
        requests += len(shared.answers)
        failed += shared.failed()
        whole = shared.integrity == "ok" and shared.vectors == shared.segments == shared.text_index
        if not whole or len(shared.titles) != 5:
            failed.append(
                f"round {n + 1}: the library ended with {shared.titles}, integrity {shared.integrity},"
                f" {shared.segments} segments, {shared.vectors} vectors, {shared.text_index} text index entries"
            )
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"concurrency  {commands} commands (imports and syncs) and {requests} page loads and searches at once on one"
        f" home, {args.rounds} rounds: {len(failed)} failed"
    )
    for f in failed[:10]:
        print(f"               {f}")


def _latency(figures: dict[str, Any]) -> str:
    def ms(key: str) -> str:
        value = figures.get(key)
        return f"{value:.1f}" if isinstance(value, int | float) else "?"

    return f"p50 {ms('p50_ms')} / p95 {ms('p95_ms')} / p99 {ms('p99_ms')} ms, {figures.get('errors', '?')} errors"


def load(args: argparse.Namespace, work: Path) -> None:
    if not (ROOT / "bench" / "load.py").exists():
        print("load         not run: bench/load.py missing")
        return
    import load as load_bench

    home, built = args.workdir / f"load-{args.episodes}", args.workdir / f"load-{args.episodes}.built"
    t0 = time.perf_counter()
    if not built.exists():  # built once and kept, as bench/backup.py keeps its library
        load_bench.build_library(home, args.episodes)
        built.touch()
        print(f"load         library of {args.episodes:,} episodes built in {time.perf_counter() - t0:.0f} s ({home})")
    result = load_bench.run(home, rate=args.rate, seconds=args.seconds)
    overall = result["overall"]
    print(
        f"load         {args.rate} requests/s for {args.seconds} s on {args.episodes:,} episodes: {_latency(overall)}"
    )
    for kind, figures in result["kinds"].items():
        print(f"               {kind:22} {_latency(figures)}")


def backup(args: argparse.Namespace, work: Path) -> None:
    import backup as backup_bench
    from podscope.library import Library

    t0 = time.perf_counter()
    if (args.workdir / f"load-{args.episodes}.built").exists():  # the load run's library, when there is one
        home, built = args.workdir / f"load-{args.episodes}", "bench/load.py's, kept from the load run"
    else:
        home = args.workdir / "backup" / f"library-{args.episodes}"
        info = backup_bench.build(home, args.episodes, media=10, media_mb=1.0)
        built = "kept from an earlier run" if info.get("cached") else f"built in {time.perf_counter() - t0:.0f} s"
    with Library(home) as lib:
        counts = lib.counts()
        report = lib.backup(work / "backup")
        seconds, per, ok = backup_bench.timed_check(lib)
    steps = ", ".join(f"{k} {v:.1f}" for k, v in per.items() if k != "done")
    print(f"backup       library of {counts['episodes']:,} episodes, {counts['segments']:,} segments ({built})")
    print(
        f"backup       backup {report.seconds:.1f} s ({report.size / 1e6:,.0f} MB in {len(report.files)} files),"
        f" check {seconds:.1f} s ({'ok' if ok else 'PROBLEMS'}: {steps} s)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", choices=PARTS, help="run only this part (repeatable)")
    ap.add_argument("--quick", action="store_true", help="every part small: minutes, not an hour")
    ap.add_argument("--examples", type=int, help="fuzz: examples per operation (default 10; --quick 3)")
    ap.add_argument("--seed", type=int, default=1, help="fuzz: schemathesis's seed (default 1)")
    ap.add_argument("--fractions", help="kill: fractions of each command's run to kill at, as 0.2,0.5,0.8")
    ap.add_argument("--command", action="append", help="kill: only this command, as test_crash.COMMANDS names it")
    ap.add_argument("--rounds", type=int, default=1, help="concurrency: how many times to run the scenario")
    ap.add_argument("--rate", type=int, default=100, help="load: requests per second (default 100)")
    ap.add_argument("--seconds", type=int, help="load: how long (default 60; --quick 10)")
    ap.add_argument("--episodes", type=int, help="load and backup: the library's episodes (10,000; --quick 500)")
    ap.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out" / "reliability", help="kept libraries")
    args = ap.parse_args()
    args.examples = args.examples or (3 if args.quick else 10)
    args.seconds = args.seconds or (10 if args.quick else 60)
    args.episodes = args.episodes or (500 if args.quick else 10_000)
    args.fractions = [float(f) for f in args.fractions.split(",")] if args.fractions else None
    parts: dict[str, Callable[[argparse.Namespace, Path], None]] = {
        "fuzz": fuzz,
        "kill": kill,
        "concurrency": concurrency,
        "load": load,
        "backup": backup,
    }
    args.workdir.mkdir(parents=True, exist_ok=True)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # each figure as it comes, into a log too
    for name in args.only or PARTS:
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix=f"reliability-{name}-") as scratch:
            try:
                parts[name](args, Path(scratch))
            except Exception as exc:  # one part failing says why and leaves the others to run
                print(f"{name:12} failed: {_short(exc)}")
                traceback.print_exc(limit=3)
        print(f"{'':12} ({name}: {time.perf_counter() - t0:.0f} s)\n", flush=True)


if __name__ == "__main__":
    main()

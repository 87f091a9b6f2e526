"""The HTTP API against its own OpenAPI document, fuzzed by schemathesis (a property-based API tester driven by
/api/openapi.json) over a real server and a small real library: every check schemathesis has, every operation,
a fixed seed and a bounded number of examples, so a run is repeatable and takes about half a minute.

The server runs as a remote client meets it (no loopback exception for changes, an admin key sent, a rate limit high
enough not to hide operations behind 429s). Four operations take input whose validity the document cannot state: an
upload must be audio ffmpeg can decode, and a feed URL must answer with a feed; a saved search's query must be one
the search syntax reads, and a test of it needs a match in the library. A schema-valid request there may get a 400
with the reason; `schemathesis.toml` below says so for those four only. Longer runs: `fuzz(url, key, folder,
examples=100, seed=N)` against any served library, or schemathesis's own command line (README, "HTTP API").
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import DATA, served
from podscope.library import Library

pytest.importorskip("schemathesis", reason="the dev extra: pip install 'podscope[dev]'")
# Importing a transcript embeds its segments with MiniLM; the run takes 1-2 minutes, so `make test-all` runs it.
pytestmark = [pytest.mark.models, pytest.mark.slow]

CONFIG = """
[[operations]]
include-name = ["POST /api/episodes", "POST /api/feeds", "POST /api/alerts", "POST /api/alerts/{alert_id}/test"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", 400, 401, 403, 404, 409, 429, "5xx"]
"""
SETTINGS = {"api_open_admin_on_loopback": False, "api_rate_per_minute": 1_000_000, "fetch_timeout": 3}


def fuzz(url: str, key: str, folder: Path, *, examples: int, seed: int) -> subprocess.CompletedProcess[str]:
    """schemathesis's own command line against the server at `url`, with every check, as an admin."""
    (folder / "schemathesis.toml").write_text(CONFIG)
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{url}/api/openapi.json"]
    command += ["--checks", "all", "--max-examples", str(examples), "--seed", str(seed), "--no-color"]
    command += ["--header", f"Authorization: Bearer {key}"]
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=900)


def failures_by_kind(output: str) -> dict[str, int]:
    """The failures (❌, by check: "N001 Server error") and errors (🚫) a run's summary counts, by kind."""
    return {m[2]: int(m[3]) for m in re.finditer(r"^ +(❌|🚫) (.+): (\d+)$", output, re.MULTILINE)}


def fuzz_small_library(folder: Path, *, examples: int, seed: int) -> subprocess.CompletedProcess[str]:
    """`fuzz` against a real server over a small real library (one imported transcript, an admin key) in `folder`."""
    with Library(folder / "home", settings=SETTINGS) as lib:
        lib.import_transcript(DATA / "transcripts" / "example.srt", podcast="Podcasting Q&A", title="Rookie mistakes")
        _, key = lib.keys.create("admin", "fuzzer")
        with served(lib) as url:
            return fuzz(url, key, folder, examples=examples, seed=seed)


def test_the_api_keeps_to_its_own_schema(tmp_path: Path) -> None:
    run = fuzz_small_library(tmp_path, examples=10, seed=1)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert failures_by_kind(run.stdout) == {}, run.stdout[-3000:]
    summary = run.stdout.strip().splitlines()[-1]  # "=== 2 warnings in 88.71s ===", or "N failures, ..."
    assert "failure" not in summary and "error" not in summary, run.stdout[-3000:]
    assert "43 selected" in run.stdout  # every operation of the document was tried

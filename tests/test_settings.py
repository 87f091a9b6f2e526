"""Settings: one documented table; config file and environment variables; clear errors."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from helpers import cli
from podscope.errors import InputError, StoreError
from podscope.settings import SETTINGS, load_settings, resolve_home

README = Path(__file__).parent.parent / "README.md"


def test_every_setting_is_documented_in_the_readme() -> None:
    documented = set(re.findall(r"^\| `(\w+)` \|", README.read_text(), flags=re.M))
    assert {s.name for s in SETTINGS} <= documented


def test_layers_defaults_config_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(tmp_path).asr_model == "base"
    (tmp_path / "config.toml").write_text('asr_model = "tiny.en"\nthreads = 1\nallow_download = false\n')
    values = load_settings(tmp_path)
    assert (values.asr_model, values.threads, values.allow_download) == ("tiny.en", 1, False)
    monkeypatch.setenv("PODSCOPE_THREADS", "4")
    assert load_settings(tmp_path).threads == 4
    assert load_settings(tmp_path, {"threads": 3}).threads == 3


def test_bad_values_name_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODSCOPE_THREADS", "many")
    with pytest.raises(InputError, match=r"threads .*expected int"):
        load_settings(tmp_path)
    monkeypatch.delenv("PODSCOPE_THREADS")
    (tmp_path / "config.toml").write_text("colour = 'blue'\n")
    with pytest.raises(InputError, match="unknown setting 'colour'"):
        load_settings(tmp_path)
    (tmp_path / "config.toml").write_text("this is not toml = = \n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_settings(tmp_path)


def test_home_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODSCOPE_HOME", str(tmp_path / "env-home"))
    assert resolve_home() == tmp_path / "env-home"
    assert resolve_home(tmp_path / "explicit") == tmp_path / "explicit"
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match=r"cannot use .* as the podscope home"):
        resolve_home(tmp_path / "file" / "home")


def test_serve_concurrency_sheds_load_with_503_beyond_the_limit(tmp_path: Path) -> None:
    """`podscope serve` with serve_concurrency 2: one connection is served; while another connection is held open, a
    new request is answered 503 at once rather than queued; once it closes, requests are served again. A limit that
    would refuse everything is refused itself."""
    import socket
    import subprocess
    import sys
    import time

    import httpx

    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("serve_concurrency = 1\n")
    bad = cli(home, "serve", "--port", "1")
    assert bad.returncode != 0 and "serve_concurrency 1: expected 0 (no limit) or 2 or more" in bad.stderr
    (home / "config.toml").write_text("serve_concurrency = 2\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODSCOPE_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "podscope.cli", "serve", "--home", str(home), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api/health"

    def status_until(wanted: int) -> int:
        deadline = time.monotonic() + 60
        status = 0
        while time.monotonic() < deadline and status != wanted:
            try:
                with httpx.Client() as client:  # a new connection each time
                    status = client.get(url).status_code
            except httpx.TransportError:
                status = 0
            if status != wanted:
                time.sleep(0.1)
        return status

    try:
        assert status_until(200) == 200
        with socket.create_connection(("127.0.0.1", port)):  # held open, idle: it counts
            assert status_until(503) == 503
        assert status_until(200) == 200
    finally:
        server.terminate()
        server.wait(20)


def test_serve_runs_several_worker_processes_on_one_home(tmp_path: Path) -> None:
    """`podscope serve --workers 2`: two server processes answer on one port over the same home (each its own
    library connection), and stopping the server stops them."""
    import socket
    import subprocess
    import sys
    import time

    import httpx

    home = tmp_path / "home"
    home.mkdir()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODSCOPE_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "podscope.cli", "serve", "--home", str(home), "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )

    def children() -> set[int]:
        found = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == server.pid:
                found.add(int(stat.parent.name))
        return found

    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 90
        answered = 0
        while time.monotonic() < deadline and answered < 20:
            try:
                answered += httpx.get(f"http://127.0.0.1:{port}/api/podcasts", timeout=10).status_code == 200
            except httpx.TransportError:
                time.sleep(0.2)
        assert answered == 20
        workers = children()
        assert len(workers) >= 2  # uvicorn's worker processes
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert "Traceback" not in err

    def running(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
        except OSError:
            return False

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(running(pid) for pid in workers):
        time.sleep(0.2)
    assert not [pid for pid in workers if running(pid)]  # stopped with the server

"""Settings: one documented table; config file and environment variables; clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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

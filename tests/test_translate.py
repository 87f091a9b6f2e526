"""Translation: a real publisher transcript through the real Apertium, the cache, and the errors users meet."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import DATA, cli_here
from podscope.errors import InputError, ModelError
from podscope.library import Library
from podscope.translate import ApertiumTranslator, ArgosTranslator, Translations, Translator, language_code
from podscope.translate.apertium import clean

SRT = DATA / "transcripts" / "example.srt"


def with_backend(lib: Library, backend: Translator) -> Translations:
    """The library's translations through a given backend (the cache is still the library's store)."""
    return Translations(lib.store.translations, lib.store.episodes, lib.settings, backend)


def _has_eng_spa() -> bool:
    if shutil.which("apertium") is None:
        return False
    modes = subprocess.run(["apertium", "-l"], capture_output=True, text=True, check=False).stdout.split()
    return "eng-spa" in modes


needs_apertium = pytest.mark.skipif(
    not _has_eng_spa(), reason="apertium with eng-spa is not installed (apt-get install apertium apertium-eng-spa)"
)


class CountingApertium(ApertiumTranslator):
    """The real backend, counting the translation runs of the external `apertium` command."""

    def __init__(self) -> None:
        super().__init__()
        self.runs = 0

    def _run(self, args: list[str], text: str) -> str:
        if args != ["-l"]:
            self.runs += 1
        return super()._run(args, text)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A home with the transcript imported once (importing indexes it for search, which takes seconds)."""
    home = tmp_path_factory.mktemp("translate") / "home"
    with Library(home) as lib:
        episode_id = lib.import_transcript(SRT, podcast="Buzzsprout", title="Rookie mistakes").episode.id
    return home, episode_id


@pytest.fixture
def episode(imported: tuple[Path, int], tmp_path: Path) -> Iterator[tuple[Library, int]]:
    """A copy of that home for each test, so caches and deletions do not leak between tests."""
    home = shutil.copytree(imported[0], tmp_path / "home")
    lib = Library(home)
    yield lib, imported[1]
    lib.close()


@pytest.mark.models
@needs_apertium
def test_episode_to_spanish_is_complete_and_cached(episode: tuple[Library, int]) -> None:
    lib, episode_id = episode
    backend = CountingApertium()
    rows = with_backend(lib, backend).translate_episode(episode_id, "es")
    assert backend.runs == 1  # the whole episode in one apertium call
    assert len(rows) == len(lib.transcript(episode_id).segments) > 10
    for segment, translated in rows:
        assert translated.strip() and translated != segment.text
        assert not any(w[0] in "*#@" for w in translated.split())  # unknown-word marks removed
    words = " ".join(t for _, t in rows).lower().split()
    assert "podcast" in words and ("el" in words or "la" in words)
    assert {"que", "de", "y", "es"} <= set(words)
    assert lib.store.translations.translation_count(episode_id) == len(rows)

    again = with_backend(lib, backend).translate_episode(episode_id, "es")  # a new object: the cache is the store
    assert backend.runs == 1
    assert again == rows


@pytest.mark.models
@needs_apertium
def test_texts_and_language_codes(episode: tuple[Library, int]) -> None:
    lib, _ = episode
    translations = lib.translations
    texts = ["the house", "", "Hello Zorblax"]
    assert translations.translate_texts(texts, "es", "en") == ["La casa", "", "Hola Zorblax"]
    assert translations.translate_texts(["la casa"], "en", "spa") == ["The house"]
    assert translations.translate_texts(["same"], "en", "en") == ["same"]
    assert language_code("EN-us") == "en" and language_code("spa") == "es"
    for bad in ("xx", "klingon"):
        with pytest.raises(InputError, match="unknown language code"):
            translations.translate_texts(["hi"], bad, "en")


@pytest.mark.models
@needs_apertium
def test_missing_pair_names_the_installed_ones(episode: tuple[Library, int]) -> None:
    lib, episode_id = episode
    with pytest.raises(ModelError) as info:
        lib.translations.translate_episode(episode_id, "de")
    message = str(info.value)
    assert "no translation from en to de" in message
    assert "installed pairs:" in message and "en→es" in message and "es→en" in message


def test_apertium_not_installed() -> None:
    with pytest.raises(ModelError, match="apt-get install apertium"):
        ApertiumTranslator(executable="apertium-not-here").pairs()


def test_marks_are_removed_unless_the_source_has_them() -> None:
    assert clean("*Zorblax  es #bueno @hoy", "Zorblax is good today") == "Zorblax es bueno hoy"
    assert clean("mira #podcast", "see #podcast") == "mira #podcast"


@pytest.mark.models
def test_argos_missing_package(monkeypatch: pytest.MonkeyPatch, episode: tuple[Library, int]) -> None:
    monkeypatch.setitem(sys.modules, "argostranslate", None)  # import fails as when it is not installed
    with pytest.raises(ModelError, match="pip install argostranslate"):
        ArgosTranslator().pairs()
    lib, episode_id = episode
    with (
        Library(lib.home, settings={"translate_backend": "argos"}) as argos,
        pytest.raises(ModelError, match="pip install argostranslate"),
    ):
        argos.translations.translate_episode(episode_id, "es")


def test_argos_never_downloads_unless_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in for the argostranslate modules with only en→es installed (argostranslate is not installed here)."""
    calls: list[str] = []
    package = types.ModuleType("argostranslate.package")
    package.get_installed_packages = lambda: [types.SimpleNamespace(from_code="en", to_code="es")]  # type: ignore[attr-defined]
    package.update_package_index = lambda: calls.append("index")  # type: ignore[attr-defined]
    translate = types.ModuleType("argostranslate.translate")
    translate.translate = lambda text, source, target: f"[{target}] {text}"  # type: ignore[attr-defined]
    root = types.ModuleType("argostranslate")
    root.package, root.translate = package, translate  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "argostranslate", root)
    monkeypatch.setitem(sys.modules, "argostranslate.package", package)
    monkeypatch.setitem(sys.modules, "argostranslate.translate", translate)

    argos = ArgosTranslator(allow_download=False)
    assert argos.translate(["hello", " "], "en", "es") == ["[es] hello", ""]
    with pytest.raises(ModelError) as info:
        argos.translate(["hello"], "en", "fr")
    assert "installed pairs: en→es" in str(info.value) and "argospm install translate-en_fr" in str(info.value)
    assert calls == []


@pytest.mark.models
@needs_apertium
def test_cli_json_and_pairs(capsys: pytest.CaptureFixture[str], episode: tuple[Library, int]) -> None:
    lib, episode_id = episode
    home = str(lib.home)
    code, out, _ = cli_here(capsys, "translate", str(episode_id), "--to", "es", "--json", "--home", home)
    assert code == 0
    data = json.loads(out)
    assert (data["source"], data["target"], data["backend"]) == ("en", "es", "apertium")
    assert data["episode"]["title"] == "Rookie mistakes"
    assert len(data["segments"]) == len(lib.transcript(episode_id).segments)
    first = data["segments"][0]
    assert set(first) == {"start", "end", "speaker", "person", "text", "translation"}
    assert first["translation"] and first["speaker"]

    code, out, _ = cli_here(capsys, "translate", str(episode_id), "--to", "es", "--home", home)
    assert code == 0 and "Buzzsprout / Rookie mistakes" in out

    code, out, _ = cli_here(capsys, "translate", "--pairs", "--json", "--home", home)
    assert code == 0 and ["en", "es"] in json.loads(out)["pairs"]
    code, out, _ = cli_here(capsys, "translate", "--pairs", "--home", home)
    assert "en→es" in out

    code, _, err = cli_here(capsys, "translate", str(episode_id), "--to", "de", "--home", home)
    assert code == 1 and "installed pairs" in err


@pytest.mark.models
@needs_apertium
def test_deleting_the_episode_removes_its_translations(episode: tuple[Library, int]) -> None:
    lib, episode_id = episode
    lib.translations.translate_episode(episode_id, "es")
    assert lib.store.translations.translation_count() > 0
    lib.delete_episode(episode_id)
    assert lib.store.translations.translation_count() == 0

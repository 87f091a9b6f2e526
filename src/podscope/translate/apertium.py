"""Offline translation with Apertium (rule-based, in Debian: `apt-get install apertium apertium-eng-spa`).

Why it looks like this:
- One `apertium` process per batch, not per segment: starting its pipeline (six to ten programs loading their
  transducers) costs about 0.1 s, while translating a segment costs about 2 ms. `-f line` makes Apertium keep line
  breaks as they are, one output line per input line, so each segment travels as one line and comes back as one. If
  the line counts ever disagree, the batch is redone one segment per call rather than misaligned.
- Batches are capped (`BATCH`) so a three-hour episode is a few calls, each well under the timeout.
- `-u` drops the `*` Apertium puts before words it does not know (names, jargon: they stay as written); the `#` and
  `@` marks of its generation and transfer failures are removed too, unless the source itself has that character
  (a hashtag or an address).
- The installed pairs come from `apertium -l`, so a missing pair is reported with the ones there are.
"""

from __future__ import annotations

import re
import shutil
import subprocess

from podscope.errors import ModelError
from podscope.translate.backend import ISO1, missing_pair

BATCH = 500  # segments per apertium call
INSTALL_HINT = "Install a pair with: sudo apt-get install apertium-eng-spa (see `apt-cache search apertium-`)."
_SPACES = re.compile(r"\s+")


def _mark(char: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w{re.escape(char)}]){re.escape(char)}(?=\w)")


_MARKS = {c: _mark(c) for c in "*#@"}


def clean(translated: str, source: str) -> str:
    """Apertium's output without its unknown-word marks and doubled spaces."""
    for char, pattern in _MARKS.items():
        if char not in source:
            translated = pattern.sub("", translated)
    return _SPACES.sub(" ", translated).strip()


def _iso(code: str) -> str:
    return ISO1.get(code, code)


class ApertiumTranslator:
    """Translate with the `apertium` command and the language pairs installed with it."""

    name = "apertium"

    def __init__(self, executable: str = "apertium", timeout: float = 300.0):
        self.executable = executable
        self.timeout = timeout
        self._modes: dict[tuple[str, str], str] | None = None

    def _run(self, args: list[str], text: str) -> str:
        """Run apertium once (the one place a process starts); its stdout, or a ModelError saying what went wrong."""
        path = shutil.which(self.executable)
        if path is None:
            raise ModelError(
                f"{self.executable!r} is not installed; on Debian or Ubuntu: sudo apt-get install apertium"
                " apertium-eng-spa (one package per language pair)"
            )
        try:
            proc = subprocess.run(
                [path, *args], input=text, capture_output=True, text=True, timeout=self.timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise ModelError(f"apertium {' '.join(args)} did not finish within {self.timeout:g} s") from exc
        except OSError as exc:
            raise ModelError(f"cannot run {path}: {exc}") from exc
        if proc.returncode != 0:
            detail = proc.stderr.strip().splitlines()
            raise ModelError(
                f"apertium {' '.join(args)} failed (exit {proc.returncode}): {detail[0] if detail else 'no message'}"
            )
        return proc.stdout

    def modes(self) -> dict[tuple[str, str], str]:
        """(source, target) in ISO 639-1 -> the Apertium mode translating it (`eng-spa`)."""
        if self._modes is None:
            found: dict[tuple[str, str], str] = {}
            for line in self._run(["-l"], "").splitlines():
                mode = line.strip()
                parts = mode.split("-")
                if len(parts) != 2:
                    continue  # debugging modes (eng-spa-tagger) are not translations
                source, target = parts[0], parts[1].split("_", 1)[0]  # spa-eng_US is a variant of spa-eng
                key = (_iso(source), _iso(target))
                if key not in found or "_" not in mode:
                    found[key] = mode
            self._modes = found
        return self._modes

    def pairs(self) -> list[tuple[str, str]]:
        return sorted(self.modes())

    def mode(self, source: str, target: str) -> str:
        found = self.modes().get((source, target))
        if found is None:
            raise missing_pair(source, target, self.pairs(), self.name, INSTALL_HINT)
        return found

    def translate(self, texts: list[str], source: str, target: str) -> list[str]:
        mode = self.mode(source, target)
        lines = [_SPACES.sub(" ", t).strip() for t in texts]
        out = [""] * len(lines)
        todo = [i for i, line in enumerate(lines) if line]
        for start in range(0, len(todo), BATCH):
            chunk = todo[start : start + BATCH]
            for i, result in zip(chunk, self._batch(mode, [lines[i] for i in chunk]), strict=True):
                out[i] = clean(result, lines[i])
        return out

    def _batch(self, mode: str, lines: list[str]) -> list[str]:
        result = self._run(["-u", "-f", "line", mode], "\n".join(lines) + "\n").rstrip("\n").split("\n")
        if len(result) == len(lines):
            return result
        # Apertium split or joined a line: redo these one by one rather than pair texts with the wrong translation.
        return [self._run(["-u", "-f", "line", mode], line + "\n").replace("\n", " ") for line in lines]

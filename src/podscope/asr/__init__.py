"""Speech recognition: model resolution (path -> offline package -> hub) and the faster-whisper backend."""

from podscope.asr.resolve import PACKAGES, ResolvedModel, resolve
from podscope.asr.whisper import AsrOptions, GuardReport, WhisperTranscriber, guard_repetitions

__all__ = [
    "PACKAGES",
    "AsrOptions",
    "GuardReport",
    "ResolvedModel",
    "WhisperTranscriber",
    "guard_repetitions",
    "resolve",
]

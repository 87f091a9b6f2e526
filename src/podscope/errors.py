"""One exception tree for the whole library.

    PodscopeError
    ├── InputError (ValueError)       the user gave something we cannot use; the message says what was expected
    │   ├── AudioError                a file that is missing, empty, corrupt, not audio, or has no speech
    │   │   └── TooLong               a recording longer than the library takes (setting max_audio_hours)
    │   ├── FormatError               an unknown export format or an unreadable transcript file
    │   └── NotFound                  an episode, podcast or person that does not exist
    ├── StoreError                    the library folder or database cannot be used
    └── ModelError                    a model's weights cannot be found or loaded; the message says how to get them

The CLI and the HTTP API turn these into one clear sentence each; anything else is a bug.
"""

from __future__ import annotations


class PodscopeError(Exception):
    """Base of every error podscope raises on purpose."""


class InputError(PodscopeError, ValueError):
    """Bad input from the user."""


class AudioError(InputError):
    """An audio file podscope cannot use."""


class TooLong(AudioError):
    """A recording longer than the library takes (`max_audio_hours`): HTTP 413."""


class FormatError(InputError):
    """An unknown format name or a file in a format podscope cannot read."""


class NotFound(InputError):
    """A thing the user named does not exist in the library."""


class Conflict(InputError):
    """A well-formed request the thing it names cannot answer as it is (an episode without word timings asked for
    listening gaps): HTTP 409."""


class StoreError(PodscopeError):
    """The podscope home or its database cannot be used."""


class ModelError(PodscopeError):
    """A model cannot be resolved or loaded."""

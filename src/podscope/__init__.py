"""podscope: self-hosted podcast intelligence.

Any audio file becomes a stored transcript with word timing, split by speaker; the library answers who said what, when.
"""

__version__ = "0.1.0"

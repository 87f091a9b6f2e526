"""podscope: self-hosted podcast intelligence.

Any audio file becomes a stored transcript with word timing, split by speaker; the library answers who said what, when.
"""

import os

# On a shared 2-core machine, OpenMP threads that spin while waiting for each other make a model call up to 40 times
# slower when another process is busy; passive waiting costs nothing when the machine is idle. It must be set before
# torch or CTranslate2 start their thread pools, so it is set here, unless the user chose otherwise.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

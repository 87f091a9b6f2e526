"""The HTTP side: a JSON API (`api.py`) and server-rendered pages (`pages.py`) over one library (`app.py`)."""

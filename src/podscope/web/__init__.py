"""The HTTP side: a JSON API (`api/`) and server-rendered pages (`pages/`) over one library (`app.py`)."""

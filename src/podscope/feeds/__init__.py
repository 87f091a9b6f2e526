"""Podcast feeds: fetching them safely over HTTP and reading episodes from them."""

"""The Fetcher: feeds, small documents and enclosures over HTTP, with every redirect hop checked, size caps,
retries with backoff, conditional requests and resumable downloads."""

from __future__ import annotations

import email.utils
import ipaddress
import os
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import httpx

from podscope import __version__
from podscope.errors import InputError
from podscope.feeds.fetch.addresses import IPAddress, _AddressRefused, _forbidden, _is_literal, _public_only_transport

USER_AGENT = f"podscope/{__version__} (self-hosted podcast library; feed fetcher)"
DEFAULT_MAX_FEED_BYTES = 20 * 1000**2
DEFAULT_MAX_ENCLOSURE_BYTES = 2 * 1000**3
# Longest wait between attempts, whatever a server's Retry-After asks for.
DEFAULT_MAX_RETRY_AFTER = 60.0
_SCHEMES = ("http", "https")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT_REDIRECTS = frozenset({301, 308})
_FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
# Media types that are never a feed; text/html is judged by its first bytes, since some servers send RSS as html.
_NOT_FEED_PREFIXES = ("audio/", "video/", "image/", "font/", "model/", "multipart/")
_NOT_FEED_TYPES = frozenset({"application/pdf", "application/zip", "application/x-shockwave-flash"})
_WEB_PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_FEED_STARTS = (b"<?xml", b"<rss", b"<feed", b"<rdf:rdf")
# Labels servers put on audio files that are not audio/* or video/*.
_GENERIC_MEDIA_TYPES = frozenset(
    {
        "application/octet-stream",
        "binary/octet-stream",
        "application/ogg",
        "application/mp4",
        "application/x-download",
        "application/force-download",
    }
)

ProgressHook = Callable[[int, int | None], None]
_T = TypeVar("_T")


class FetchError(InputError):
    """A feed or enclosure that cannot or must not be fetched; the message names the URL and why."""


@dataclass(frozen=True)
class FeedResponse:
    """A fetched feed, or the news that it has not changed (status 304, empty content).

    `moved_to` is where the feed permanently lives now (the target of the last 301/308 in an unbroken run of permanent
    redirects from the requested URL), or None; a temporary redirect anywhere before it means the subscription stays.
    """

    status: int
    content: bytes
    etag: str | None
    last_modified: str | None
    final_url: str
    moved_to: str | None
    content_type: str | None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def _resolve(url: str, host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        reason = exc.strerror or str(exc)
        if exc.errno == socket.EAI_AGAIN:
            raise _Retry(f"the host name {host} cannot be resolved right now ({reason})") from exc
        raise FetchError(f"cannot fetch {url}: the host name {host} cannot be resolved ({reason})") from exc
    except UnicodeError as exc:
        raise FetchError(f"cannot fetch {url}: {host!r} is not a valid host name") from exc
    return [ipaddress.ip_address(info[4][0]) for info in infos]


# ------------------------------------------------------------------------------------------------- response helpers


class _Retry(Exception):
    """A failure worth another attempt; `retry_after` is the server's requested wait in seconds, if any."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class _Opened:
    response: httpx.Response
    moved_to: str | None


def _size(n: int) -> str:
    for unit, scale in (("GB", 1000**3), ("MB", 1000**2), ("kB", 1000)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def _media_type(response: httpx.Response) -> str | None:
    raw = response.headers.get("content-type", "")
    media = raw.split(";", 1)[0].strip().lower()
    return media or None


def _content_length(response: httpx.Response) -> int | None:
    raw = response.headers.get("content-length")
    if raw is None or not raw.strip().isdigit():
        return None
    return int(raw)


def _is_encoded(response: httpx.Response) -> bool:
    """True when the body is compressed on the wire, so Content-Length does not count the bytes we keep."""
    return response.headers.get("content-encoding", "identity").strip().lower() not in ("", "identity")


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after", "").strip()
    if not raw:
        return None
    if raw.isdigit():
        return float(raw)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _root_cause(exc: BaseException) -> BaseException:
    seen = {id(exc)}
    while (nxt := exc.__cause__ or exc.__context__) is not None and id(nxt) not in seen:
        seen.add(id(nxt))
        exc = nxt
    return exc


def _describe(exc: httpx.TransportError) -> str:
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout):
        return "the connection timed out"
    if isinstance(exc, httpx.TimeoutException):
        return "the server stopped responding (timed out)"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({detail})"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"the server broke off the response ({detail})"
    return f"the connection failed ({detail})"


def _is_transient(exc: httpx.TransportError) -> bool:
    if isinstance(_root_cause(exc), ssl.SSLCertVerificationError):
        return False
    return isinstance(exc, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError)


def _looks_like_feed(body: bytes) -> bool:
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(_FEED_STARTS)


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)
_UNSATISFIED_RANGE = re.compile(r"bytes\s+\*/(\d+)", re.IGNORECASE)


@dataclass
class _Resume:
    """What a download learns across its attempts: the validator that lets a resumed request detect a changed file."""

    validator: str | None = None


# ----------------------------------------------------------------------------------------------------------- Fetcher


class Fetcher:
    """Fetches feeds and downloads enclosures with address checks, limits, retries and resumption.

    `transport` replaces the network layer (tests, caching); the connect-time address check is then the caller's.
    Use as a context manager, or call `close()`, to release connections.
    """

    def __init__(
        self,
        *,
        allow_private: bool = False,
        timeout: float = 30.0,
        max_feed_bytes: int = DEFAULT_MAX_FEED_BYTES,
        max_enclosure_bytes: int = DEFAULT_MAX_ENCLOSURE_BYTES,
        retries: int = 3,
        backoff: float = 0.5,
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
        max_redirects: int = 10,
        user_agent: str = USER_AGENT,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        for name, value in (
            ("timeout", timeout),
            ("max_feed_bytes", max_feed_bytes),
            ("max_enclosure_bytes", max_enclosure_bytes),
        ):
            if value <= 0:
                raise InputError(f"{name} must be positive, got {value}")
        for name, value in (
            ("retries", retries),
            ("backoff", backoff),
            ("max_retry_after", max_retry_after),
            ("max_redirects", max_redirects),
        ):
            if value < 0:
                raise InputError(f"{name} must not be negative, got {value}")
        self.allow_private = allow_private
        self.max_feed_bytes = max_feed_bytes
        self.max_enclosure_bytes = max_enclosure_bytes
        self.retries = retries
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self.max_redirects = max_redirects
        self._sleep = sleep
        if transport is None:
            transport = httpx.HTTPTransport() if allow_private else _public_only_transport()
        self._client = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            headers={"User-Agent": user_agent},
            trust_env=False,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------------------ feeds

    def fetch_feed(self, url: str, etag: str | None = None, last_modified: str | None = None) -> FeedResponse:
        """GET a feed, conditionally when `etag` / `last_modified` from the previous fetch are given.

        Returns status 200 with the body, or 304 with empty content (etag and last_modified then fall back to the
        ones given). Raises FetchError for refused addresses and schemes, non-feeds, oversized feeds, redirect
        loops, HTTP errors, and transient failures that persist after `retries` further attempts.
        """
        headers = {"Accept": _FEED_ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return self._with_retries(url, lambda: self._fetch_feed_once(url, headers, etag, last_modified))

    def _fetch_feed_once(
        self, url: str, headers: dict[str, str], etag: str | None, last_modified: str | None
    ) -> FeedResponse:
        with self._open(url, headers) as opened:
            response = opened.response
            final_url = str(response.url)
            where = _where(url, final_url)
            new_etag = response.headers.get("etag")
            new_modified = response.headers.get("last-modified")
            if response.status_code == 304:
                return FeedResponse(
                    status=304,
                    content=b"",
                    etag=new_etag or etag,
                    last_modified=new_modified or last_modified,
                    final_url=final_url,
                    moved_to=opened.moved_to,
                    content_type=_media_type(response),
                )
            self._raise_for_status(where, response)
            if response.status_code != 200:
                raise FetchError(
                    f"cannot fetch {where}: the server answered {response.status_code} {response.reason_phrase}"
                    " instead of the feed"
                )
            media = _media_type(response)
            _check_feed_type(where, media)
            body = self._read_capped(where, response, self.max_feed_bytes, "feed")
            if media in _WEB_PAGE_TYPES and not _looks_like_feed(body):
                raise FetchError(
                    f"{where} is a web page ({media}), not a feed; open it in a browser and look for the podcast's"
                    " RSS feed link"
                )
            return FeedResponse(
                status=200,
                content=body,
                etag=new_etag,
                last_modified=new_modified,
                final_url=final_url,
                moved_to=opened.moved_to,
                content_type=media,
            )

    def fetch_text(self, url: str) -> bytes:
        """GET a small document that is not a feed (a publisher's transcript: SRT, VTT, JSON, HTML) as bytes.

        The same address checks, redirects, retries and size cap (`max_feed_bytes`) as feeds; audio, video and
        images are refused, since they would not be a transcript.
        """
        return self._with_retries(url, lambda: self._fetch_text_once(url))

    def _fetch_text_once(self, url: str) -> bytes:
        with self._open(url, {"Accept": "text/*, application/json;q=0.9, */*;q=0.8"}) as opened:
            response = opened.response
            where = _where(url, str(response.url))
            self._raise_for_status(where, response)
            if response.status_code != 200:
                raise FetchError(f"cannot fetch {where}: the server answered {response.status_code}")
            media = _media_type(response)
            if media is not None and (media.startswith(_NOT_FEED_PREFIXES) or media in _NOT_FEED_TYPES):
                raise FetchError(f"{where} is not a text document: the server says it is {media}")
            return self._read_capped(where, response, self.max_feed_bytes, "document")

    def _read_capped(self, where: str, response: httpx.Response, cap: int, what: str) -> bytes:
        declared = _content_length(response)
        if declared is not None and declared > cap:
            raise FetchError(f"{where}: the {what} is {_size(declared)}, more than the {_size(cap)} limit")
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > cap:
                    raise FetchError(f"{where}: the {what} is larger than the {_size(cap)} limit; stopped reading it")
                chunks.append(chunk)
        except httpx.DecodingError as exc:
            raise FetchError(f"{where}: the server sent a corrupt compressed {what} ({exc})") from exc
        return b"".join(chunks)

    # -------------------------------------------------------------------------------------------------- downloads

    def download(
        self,
        url: str,
        dest: Path,
        *,
        expected_types: tuple[str, ...] = ("audio/", "video/"),
        hook: ProgressHook | None = None,
    ) -> Path:
        """Stream an enclosure to `dest`, resuming a previous `.part` file next to it when there is one.

        `expected_types` are media-type prefixes accepted besides octet-stream and friends (and a missing type).
        `hook(done_bytes, total_bytes_or_None)` is called as data arrives. The file appears at `dest` only when
        complete; a partial download stays in `<dest>.part` for the next call, except when it hit the size cap.
        """
        dest = Path(dest)
        part = dest.with_suffix(dest.suffix + ".part")
        dest.parent.mkdir(parents=True, exist_ok=True)
        state = _Resume()
        self._with_retries(url, lambda: self._download_once(url, dest, part, expected_types, hook, state))
        return dest

    def _download_once(
        self,
        url: str,
        dest: Path,
        part: Path,
        expected_types: tuple[str, ...],
        hook: ProgressHook | None,
        state: _Resume,
    ) -> None:
        offset = part.stat().st_size if part.exists() else 0
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
            if state.validator:
                headers["If-Range"] = state.validator
        with self._open(url, headers) as opened:
            response = opened.response
            where = _where(url, str(response.url))
            status = response.status_code
            if status == 416 and offset:
                match = _UNSATISFIED_RANGE.search(response.headers.get("content-range", ""))
                complete = match is not None and int(match.group(1)) == offset
                if complete and hook:
                    hook(offset, offset)
                restart = not complete
            else:
                restart = False
                self._stream_to_part(where, response, part, offset, expected_types, hook, state)
        if restart:
            # The server cannot continue from what we have (it shrank, or the .part is not a prefix): start over.
            part.unlink(missing_ok=True)
            self._download_once(url, dest, part, expected_types, hook, state)
            return
        os.replace(part, dest)

    def _stream_to_part(
        self,
        where: str,
        response: httpx.Response,
        part: Path,
        offset: int,
        expected_types: tuple[str, ...],
        hook: ProgressHook | None,
        state: _Resume,
    ) -> None:
        """Write the body to `part`, appending on a 206 that continues at `offset`, else from the start."""
        status = response.status_code
        self._raise_for_status(where, response)
        if status not in (200, 206):
            raise FetchError(f"cannot download {where}: the server answered {status} {response.reason_phrase}")
        _check_enclosure_type(where, _media_type(response), expected_types)
        length = None if _is_encoded(response) else _content_length(response)
        if status == 206:
            match = _CONTENT_RANGE.search(response.headers.get("content-range", ""))
            if match is None or int(match.group(1)) != offset:
                part.unlink(missing_ok=True)
                raise _Retry(f"the server sent the wrong part of the file ({response.headers.get('content-range')})")
            total = int(match.group(3)) if match.group(3) != "*" else (offset + length if length else None)
        else:  # 200 is the whole file, whatever was asked for
            offset, total = 0, length
        state.validator = _validator(response)

        cap = self.max_enclosure_bytes
        if total is not None and total > cap:
            part.unlink(missing_ok=True)
            raise FetchError(f"{where}: the file is {_size(total)}, more than the {_size(cap)} limit")
        done = offset
        over_cap = False
        with open(part, "ab" if offset else "wb") as fh:
            if hook:
                hook(done, total)
            for chunk in response.iter_bytes():
                done += len(chunk)
                if done > cap:
                    over_cap = True
                    break
                fh.write(chunk)
                if hook:
                    hook(done, total)
        if over_cap:
            part.unlink(missing_ok=True)
            raise FetchError(
                f"{where}: the download went past the {_size(cap)} limit without ending; stopped it and removed"
                " the partial file"
            )
        if total is not None and done != total:
            raise _Retry(f"the download ended after {done} of {total} bytes")

    # ------------------------------------------------------------------------------------------------- posting

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        """POST `body` once (a webhook: its sender retries later) with the same address checks as a GET. Redirects
        are not followed (a redirect is the answer). Returns the status and up to 200 characters of the answer;
        raises FetchError for refused addresses and schemes and for failures to connect or to be answered."""
        self._check_url(url)
        try:
            response = self._client.post(url, content=body, headers=headers)
        except _AddressRefused as exc:
            raise FetchError(f"refusing to post to {url}: {exc}") from exc
        except httpx.TransportError as exc:
            raise FetchError(f"cannot post to {url}: {_describe(exc)}") from exc
        return response.status_code, response.text[:200]

    # ------------------------------------------------------------------------------------------------ plumbing

    def _with_retries(self, url: str, attempt: Callable[[], _T]) -> _T:
        failure: _Retry | None = None
        for n in range(self.retries + 1):
            if n:
                assert failure is not None
                wait = failure.retry_after if failure.retry_after is not None else self.backoff * 2 ** (n - 1)
                self._sleep(min(wait, self.max_retry_after))
            try:
                return attempt()
            except _Retry as exc:
                failure = exc
            except httpx.TransportError as exc:
                if not _is_transient(exc):
                    raise FetchError(f"cannot fetch {url}: {_describe(exc)}") from exc
                failure = _Retry(_describe(exc))
                failure.__cause__ = exc
        assert failure is not None
        tries = "once" if self.retries == 0 else f"{self.retries + 1} times"
        raise FetchError(f"cannot fetch {url}: {failure.reason} (tried {tries})") from failure

    @contextmanager
    def _open(self, url: str, headers: dict[str, str]) -> Iterator[_Opened]:
        """GET `url`, following redirects by hand so every hop is checked; yields the first non-redirect response."""
        current = url
        seen = {url}
        moved_to: str | None = None
        still_permanent = True
        for _ in range(self.max_redirects + 1):
            self._check_url(current)
            request = self._client.build_request("GET", current, headers=headers)
            try:
                response = self._client.send(request, stream=True)
            except _AddressRefused as exc:
                raise FetchError(f"refusing to fetch {current}: {exc}") from exc
            try:
                status = response.status_code
                if status not in _REDIRECTS:
                    yield _Opened(response=response, moved_to=moved_to)
                    return
                location = response.headers.get("location", "").strip()
                if not location:
                    raise FetchError(f"cannot fetch {current}: the server redirected ({status}) without a Location")
                try:
                    target = str(response.url.join(location))
                except httpx.InvalidURL as exc:
                    raise FetchError(f"cannot fetch {current}: it redirects to an invalid URL {location!r}") from exc
            finally:
                response.close()
            if target in seen:
                raise FetchError(f"cannot fetch {url}: redirect loop ({current} leads back to {target})")
            seen.add(target)
            if status in _PERMANENT_REDIRECTS and still_permanent:
                moved_to = target
            else:
                still_permanent = False
            current = target
        raise FetchError(f"cannot fetch {url}: more than {self.max_redirects} redirects (the last one to {current})")

    def _check_url(self, url: str) -> None:
        """Refuse non-http(s) URLs always, and hosts with any non-public address unless private ones are allowed."""
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise FetchError(f"cannot fetch {url!r}: not a valid URL ({exc})") from exc
        if parsed.scheme not in _SCHEMES:
            given = f"a {parsed.scheme}: URL" if parsed.scheme else "a URL without http:// or https://"
            raise FetchError(f"refusing to fetch {url}: only http:// and https:// URLs are fetched, this is {given}")
        host = parsed.raw_host.decode("ascii", "replace")
        if not host:
            raise FetchError(f"cannot fetch {url}: the URL has no host name")
        if self.allow_private:
            return
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        for address in _resolve(url, host, port):
            reason = _forbidden(address)
            if reason is not None:
                said = f"{host} is" if _is_literal(host, address) else f"{host} resolves to {address},"
                raise FetchError(
                    f"refusing to fetch {url}: {said} {reason}; addresses inside your own network are only fetched"
                    " when private addresses are allowed"
                )

    @staticmethod
    def _raise_for_status(where: str, response: httpx.Response) -> None:
        status = response.status_code
        if status == 429 or status >= 500:
            raise _Retry(f"the server answered {status} {response.reason_phrase}", _retry_after(response))
        if status >= 400:
            hint = {
                401: "; it needs a login",
                403: "; the server refuses access",
                404: "; check the URL",
                410: "; the server says it is gone for good",
            }.get(status, "")
            raise FetchError(f"cannot fetch {where}: the server answered {status} {response.reason_phrase}{hint}")


def _where(url: str, final_url: str) -> str:
    return url if final_url == url else f"{url} (redirected to {final_url})"


def _validator(response: httpx.Response) -> str | None:
    """A strong ETag or a Last-Modified date, usable in If-Range."""
    etag = response.headers.get("etag")
    if etag and not etag.startswith("W/"):
        return etag
    return response.headers.get("last-modified")


def _check_feed_type(where: str, media: str | None) -> None:
    if media is None:
        return
    if media.startswith(("audio/", "video/")):
        raise FetchError(
            f"{where} is not a feed: the server says it is {media}, an audio or video file; give the podcast's feed"
            " URL, not an episode's"
        )
    if media.startswith(_NOT_FEED_PREFIXES) or media in _NOT_FEED_TYPES:
        raise FetchError(f"{where} is not a feed: the server says it is {media}")


def _check_enclosure_type(where: str, media: str | None, expected: tuple[str, ...]) -> None:
    if media is None or media in _GENERIC_MEDIA_TYPES or media.startswith(expected):
        return
    if media in _WEB_PAGE_TYPES:
        raise FetchError(
            f"cannot download {where}: the server sent a web page ({media}) instead of the episode; the link may"
            " need a login or have expired"
        )
    raise FetchError(f"cannot download {where}: the server sent {media}, not audio or video")

"""The one place for HTTP policy: timeouts, retries, redaction and error mapping.

Every provider adapter talks to its API through an :class:`Http`. The rules:

* Every request has a ``(connect, read)`` timeout.
* Retries: idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE) are retried on
  connection failures, timeouts and the policy's retry statuses. POST and PATCH
  are never retried automatically once the request may have reached the server
  (a 5xx, a timeout, a lost answer): the caller must reconcile (look the object
  up) instead. Two exceptions, retried for every method because the server did
  nothing: a failure *before anything was sent* (connection refused, DNS
  failure, connect timeout), and a **429** answer (within the policy's attempts,
  after its ``Retry-After``).
  ``retry=True`` marks a POST/PATCH as safe to repeat; ``retry=False`` disables
  every retry.
* ``Retry-After`` (seconds or an HTTP date) is honoured on 429 and 503, capped by
  :attr:`RetryPolicy.retry_after_cap`; otherwise exponential backoff with jitter.
* Errors become :class:`~postpipe.errors.ProviderError` subclasses carrying the
  target, method, redacted URL, status and a redacted body excerpt. Request
  headers are never included anywhere.
* Logging goes to ``postpipe.http``: DEBUG per request, INFO per retry, redacted.
* Provider hooks (so adapters hold no session logic): ``explain`` turns the
  provider's error body into the message and hint, ``auth_hint`` names the
  variables to check on 401/403, and ``rate_headers`` makes the next request wait
  when the provider's remaining-requests header reaches 0.
"""

from __future__ import annotations

import base64
import io
import ipaddress
import json
import logging
import random
import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
import requests.adapters
import requests.auth
import urllib3.exceptions

from postpipe.errors import AuthError, ConfigError, NotFound, ProviderError, RateLimited
from postpipe.redact import redact

if TYPE_CHECKING:
    from postpipe.config import Settings

__all__ = [
    "IDEMPOTENT_METHODS",
    "Http",
    "RetryPolicy",
    "check_base_url",
    "error_summary",
    "parse_retry_after",
    "redact",
]

log = logging.getLogger("postpipe.http")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
"""Methods retried by default (``retry=None``)."""

_REDIRECT_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: A provider's reading of one of its error responses: ``(message, hint)`` (the
#: message replaces the generic one, the hint may be None), or None for the
#: generic mapping. It must not raise on an unexpected body (if it does with
#: ValueError/KeyError/TypeError, the generic mapping is used).
ErrorReader = Callable[[requests.Response], "tuple[str, str | None] | None"]
# a rate-limit reset above this is an epoch timestamp, below it a number of seconds
_EPOCH_THRESHOLD = 1_000_000_000
_RETRY_AFTER_STATUSES = frozenset({429, 503})
#: "Too Many Requests": the provider refused before acting, so any method may be repeated.
_NOTHING_DONE = 429
_EXCERPT_LEN = 200

# Header names whose values are credentials; their values are always redacted.
_SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "cookie",
        "set-cookie",
    }
)
# "HTTPConnectionPool(host='x', port=1): " prefixes of urllib3 messages.
_POOL_PREFIX_RE = re.compile(r"^\w+\(host=[^)]*\):\s*")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait between attempts.

    ``max_attempts`` counts every try (4 = one request plus three retries).
    ``extra_statuses`` adds provider-specific retry statuses, e.g. Mailchimp's
    bare 403 under load: ``RetryPolicy(extra_statuses=frozenset({403}))``.
    """

    max_attempts: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_cap: float = 120.0
    jitter: float = 0.25
    statuses: frozenset[int] = frozenset({429, 502, 503, 504})
    extra_statuses: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be a fraction between 0 and 1")

    @property
    def retry_statuses(self) -> frozenset[int]:
        """``statuses`` plus ``extra_statuses``."""
        return self.statuses | self.extra_statuses

    def delay(
        self, attempt: int, retry_after: float | None, rng: Callable[[], float] = random.random
    ) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        The server's ``retry_after`` wins when given (capped by ``retry_after_cap``);
        otherwise ``backoff_base * 2**(attempt-1)`` varied by +/- ``jitter`` and
        never above ``backoff_max``.
        """
        if retry_after is not None:
            return max(0.0, min(retry_after, self.retry_after_cap))
        exp = self.backoff_base * (2.0 ** max(0, attempt - 1))
        spread = 1.0 + self.jitter * (2.0 * rng() - 1.0)
        return max(0.0, min(exp * spread, self.backoff_max))


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (seconds or HTTP date).

    ``now`` is a Unix timestamp. Past dates and negative numbers give 0;
    anything unparseable gives None.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if seconds != seconds or seconds in (float("inf"), float("-inf")):
            return None
        return max(0.0, seconds)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:  # pragma: no cover - older Pythons returned None
        return None
    if when.tzinfo is None:  # HTTP dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def is_loopback(host: str) -> bool:
    """Whether *host* is localhost or a loopback address (plain text is allowed only there)."""
    host = host.rstrip(".").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, variable: str) -> str:
    """Validate a provider base URL from ``variable``; return it without trailing slash.

    Only ``https://`` is accepted, except ``http://`` to a loopback host
    (127.0.0.0/8, ::1, localhost) for local test instances.
    """
    shown = redact(url or "")
    raw = (url or "").strip()
    hint = (
        f"set {variable} to the https:// address of the service; "
        "plain http:// is only allowed for 127.0.0.1, ::1 or localhost"
    )
    try:
        parts = urlsplit(raw)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise ConfigError(f"{variable} is not a valid URL: {shown!r}", hint=hint) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host:
        raise ConfigError(f"{variable} must be an https:// URL, got {shown!r}", hint=hint)
    if scheme == "http" and not is_loopback(host):
        raise ConfigError(
            f"{variable} uses plain http:// to {host}; credentials would travel unencrypted",
            hint=hint,
        )
    return raw.rstrip("/")


def _json_message(data: Any, depth: int = 0) -> str | None:
    if depth > 3:
        return None
    if isinstance(data, str):
        return data.strip() or None
    if isinstance(data, list):
        return _json_message(data[0], depth + 1) if data else None
    if not isinstance(data, Mapping):
        return None
    for key in ("message", "detail", "title", "error", "errors", "code"):
        value = data.get(key)
        if key == "errors" and isinstance(value, Mapping) and value:
            # {"errors": {"field": ["problem"]}}
            field_name, problem = next(iter(value.items()))
            text = _json_message(problem, depth + 1)
            if text:
                return f"{field_name}: {text}"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        text = _json_message(value, depth + 1) if value is not None else None
        if text:
            return text
    return None


def _one_line(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_summary(response: requests.Response, secrets: Iterable[str] = ()) -> str:
    """One redacted line describing an HTTP error response.

    ``HTTP <status> <reason>`` followed by the provider's message when the body
    is JSON with one of ``message``, ``detail``, ``title``, ``error``,
    ``errors[0].message`` or ``code``.
    """
    head = f"HTTP {response.status_code}"
    if response.reason:
        head += f" {response.reason}"
    message: str | None = None
    try:
        body = response.content
    except (requests.RequestException, RuntimeError):  # stream broken or consumed
        body = b""
    if body and body.lstrip()[:1] in (b"{", b"["):
        try:
            message = _json_message(json.loads(body))
        except (ValueError, UnicodeDecodeError):
            message = None
    if message:
        return redact(f"{head}: {_one_line(message, 300)}", secrets)
    return redact(head, secrets)


def _body_excerpt(response: requests.Response, secrets: Iterable[str]) -> str | None:
    try:
        text = response.text
    except (requests.RequestException, RuntimeError):  # stream broken or consumed
        return None
    if not text:
        return None
    # Redact the (bounded) whole body before cutting, so no secret is cut in half.
    text = redact(text[:20_000], secrets).strip()
    return text if len(text) <= _EXCERPT_LEN else text[: _EXCERPT_LEN - 1] + "…"


def _sent_nothing(exc: BaseException) -> bool:
    """True if ``exc`` shows the request never left this machine.

    That is a connect timeout, a refused connection or a DNS failure: urllib3
    raises ``ConnectTimeoutError`` (``NewConnectionError`` and
    ``NameResolutionError`` are subclasses) while opening the socket, before any
    byte of the request is written. A read timeout, a reset or a closed
    connection after sending (``ProtocolError``) may have reached the server.
    TLS failures (``SSLError``) are excluded: they are not transient.
    """
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ProxyError):
        return False
    inner = exc.args[0] if exc.args else None
    if isinstance(inner, urllib3.exceptions.MaxRetryError):
        inner = inner.reason
    return isinstance(inner, urllib3.exceptions.ConnectTimeoutError)


def _transient(exc: requests.RequestException) -> bool:
    """Network failures worth another try (if the method allows it)."""
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    return isinstance(
        exc,
        requests.exceptions.ConnectionError
        | requests.exceptions.Timeout
        | requests.exceptions.ChunkedEncodingError,
    )


def _reason(exc: BaseException) -> str:
    """A short description of a network failure (not yet redacted)."""
    inner: BaseException = exc
    for _ in range(4):
        nxt: object = None
        if isinstance(inner, urllib3.exceptions.MaxRetryError):
            nxt = inner.reason
        elif isinstance(inner, urllib3.exceptions.ProtocolError) and len(inner.args) > 1:
            detail = inner.args[1]
            head = str(inner.args[0]).rstrip(".")
            if isinstance(detail, BaseException):
                return f"{head}: {_reason(detail)}"
            return head
        elif isinstance(inner, requests.RequestException) and inner.args:
            nxt = inner.args[0]
        if not isinstance(nxt, BaseException):
            break
        inner = nxt
    text = _POOL_PREFIX_RE.sub("", str(inner)).strip()
    return text or type(inner).__name__


def _origin(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def _file_objects(kwargs: Mapping[str, Any]) -> list[Any] | None:
    """Readable objects in ``data``/``files``; None if a body cannot be replayed."""
    objs: list[Any] = []
    data = kwargs.get("data")
    if hasattr(data, "read"):
        objs.append(data)
    elif data is not None and not isinstance(data, (str, bytes, bytearray, Mapping, list, tuple)):
        return None  # a generator or other one-shot iterable
    files = kwargs.get("files")
    if files:
        values = files.values() if isinstance(files, Mapping) else (item[1] for item in files)
        for value in values:
            fileobj = value[1] if isinstance(value, (tuple, list)) else value
            if hasattr(fileobj, "read"):
                objs.append(fileobj)
    return objs


class _Rewinder:
    """Puts file-like request bodies back where they were before a retry."""

    def __init__(self, kwargs: Mapping[str, Any]) -> None:
        self.replayable = True
        self.positions: list[tuple[Any, int]] = []
        objs = _file_objects(kwargs)
        if objs is None:
            self.replayable = False
            return
        for obj in objs:
            try:
                self.positions.append((obj, obj.tell()))
            except (AttributeError, OSError, io.UnsupportedOperation):
                self.replayable = False
                return

    def rewind(self) -> None:
        for obj, pos in self.positions:
            obj.seek(pos)


class _Session(requests.Session):
    """A session that also drops API-key headers on a redirect to another host.

    requests already strips ``Authorization`` there; provider keys sent as
    custom headers (``api-key``, ``X-Api-Key``...) would otherwise follow.
    """

    sensitive_headers: frozenset[str] = _SENSITIVE_HEADERS

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        super().rebuild_auth(prepared_request, response)
        original = response.request.url or ""
        if self.should_strip_auth(original, prepared_request.url or ""):
            for name in list(prepared_request.headers):
                if name.lower() in self.sensitive_headers:
                    del prepared_request.headers[name]


class _Pacing:
    """When the next attempt may go: retry backoff, ``Retry-After`` and rate-limit pacing.

    Holds the injected ``sleep``/``clock``/``rng`` so tests run without waiting.
    """

    def __init__(
        self,
        target: str,
        policy: RetryPolicy,
        *,
        sleep: Callable[[float], object],
        clock: Callable[[], float],
        rng: Callable[[], float],
        rate_headers: tuple[str, str] | None,
    ) -> None:
        self.target = target
        self.policy = policy
        self.sleep = sleep
        self.clock = clock
        self.rng = rng
        self.rate_headers = rate_headers
        self.not_before = 0.0

    def retry_after(self, response: requests.Response) -> float | None:
        """The answer's ``Retry-After`` in seconds, for the statuses that carry one."""
        if response.status_code not in _RETRY_AFTER_STATUSES:
            return None
        return parse_retry_after(response.headers.get("Retry-After"), self.clock())

    def pace(self, method: str, shown_url: str) -> None:
        """Wait until the provider's rate-limit window reopens (see ``rate_headers``)."""
        delay = self.not_before - self.clock()
        if delay > 0:
            log.info(
                "%s %s %s: rate limit used up; waiting %.2fs", self.target, method, shown_url, delay
            )
            self.sleep(delay)
        self.not_before = 0.0

    def note_rate_limit(self, response: requests.Response) -> None:
        """Remember when to send the next request if the window is used up."""
        if self.rate_headers is None:
            return
        remaining_name, reset_name = self.rate_headers
        try:
            remaining = float(response.headers.get(remaining_name, ""))
            reset = float(response.headers.get(reset_name, ""))
        except ValueError:
            return
        if remaining > 0 or reset != reset:  # requests left, or NaN
            return
        now = self.clock()
        wait = reset - now if reset > _EPOCH_THRESHOLD else reset
        wait = max(0.0, min(wait, self.policy.retry_after_cap))
        self.not_before = max(self.not_before, now + wait)

    def wait(
        self,
        attempt: int,
        attempts: int,
        retry_after: float | None,
        method: str,
        shown_url: str,
        why: str,
    ) -> None:
        """Sleep before retry number ``attempt`` (logged at INFO, redacted URL)."""
        delay = self.policy.delay(attempt, retry_after, self.rng)
        log.info(
            "%s %s %s: %s; retry %d/%d in %.2fs",
            self.target,
            method,
            shown_url,
            why,
            attempt,
            attempts - 1,
            delay,
        )
        self.sleep(delay)


class _ErrorMapper:
    """Turns a failed request into the right :class:`ProviderError`, redacted.

    ``explain`` and ``auth_hint`` are the provider hooks (see :data:`ErrorReader`).
    """

    def __init__(
        self,
        target: str,
        secrets: list[str],
        *,
        explain: ErrorReader | None,
        auth_hint: str | None,
        clock: Callable[[], float],
    ) -> None:
        self.target = target
        self.secrets = secrets
        self.explain = explain
        self.auth_hint = auth_hint
        self.clock = clock

    def network_error(
        self,
        exc: requests.RequestException,
        method: str,
        url: str,
        shown_url: str,
        reason: str,
        attempt: int,
        ambiguous: bool,
    ) -> ProviderError:
        origin = redact(_origin(url), self.secrets)
        tries = f"{attempt} attempt{'s' if attempt != 1 else ''}"
        hint: str | None = None
        if not _transient(exc):
            message = f"request to {origin} failed: {reason}"
        elif ambiguous:
            # A POST/PATCH that may have been processed: the caller must reconcile.
            message = f"{method} to {origin} failed after the request was sent: {reason}"
            hint = (
                "the request may have reached the server; "
                "check whether it took effect before trying again"
            )
        else:
            message = f"could not reach {origin} after {tries}: {reason}"
            hint = "check the base URL and your network connection"
        return ProviderError(
            message,
            target=self.target,
            method=method,
            url=shown_url,
            status=None,
            hint=hint,
            maybe_sent=ambiguous,
        )

    def http_error(
        self,
        response: requests.Response,
        method: str,
        extra_secrets: list[str],
        *,
        unexpected: bool = False,
    ) -> ProviderError:
        secrets = [*self.secrets, *extra_secrets]
        status = response.status_code
        kw: dict[str, Any] = {
            "target": self.target,
            "method": method,
            "url": redact(response.url or "", secrets),
            "status": status,
            "body_excerpt": _body_excerpt(response, secrets),
        }
        summary = error_summary(response, secrets)
        hint: str | None = None
        explained = None
        if self.explain is not None:
            try:
                explained = self.explain(response)
            except (ValueError, KeyError, TypeError, AttributeError, IndexError):
                explained = None  # a body the provider hook cannot read: the default
        if explained:
            message, hint = explained
            summary = redact(f"HTTP {status}: {_one_line(message, 400)}", secrets)
            hint = redact(hint, secrets) if hint else None
        if 300 <= status < 400:
            location = redact(response.headers.get("Location", "?"), secrets)
            return ProviderError(
                f"{summary}: redirected to {location}",
                hint="set the base URL to the address the service redirects to",
                **kw,
            )
        if unexpected:
            return ProviderError(f"unexpected answer {summary}", **kw)
        if status in (401, 403):
            return AuthError(
                summary,
                hint=hint or self.auth_hint or "check the credentials for this service",
                **kw,
            )
        if status == 404:
            return NotFound(summary, hint=hint, **kw)
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self.clock())
            return RateLimited(summary, retry_after=retry_after, hint=hint, **kw)
        # a 5xx to a request that is not safe to repeat may still have been acted on
        kw["maybe_sent"] = status >= 500 and method not in IDEMPOTENT_METHODS
        return ProviderError(summary, hint=hint, **kw)


class Http:
    """HTTP client for one provider (``target``), with the policy of this module.

    ``headers`` and ``auth`` go on every request. Credentials found in ``auth``
    (a ``(user, password)`` tuple or an object with ``password``), in sensitive
    ``headers`` and in ``secrets`` are redacted from errors and logs. An
    injected ``session`` is used as is and not closed by :meth:`close`.
    """

    def __init__(
        self,
        target: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | requests.auth.AuthBase | None = None,
        secrets: Iterable[str] = (),
        timeout: tuple[float, float] = (5.0, 30.0),
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], object] = time.sleep,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        session: requests.Session | None = None,
        max_connections: int = 8,
        explain: ErrorReader | None = None,
        auth_hint: str | None = None,
        rate_headers: tuple[str, str] | None = None,
    ) -> None:
        self.target = target
        self.base_url = check_base_url(base_url, f"{target} base URL")
        self.headers: dict[str, str] = dict(headers or {})
        self.auth = auth
        self.timeout = timeout
        self.policy = policy if policy is not None else RetryPolicy()
        secrets_found = [*secrets, *_header_secrets(self.headers), *_auth_secrets(auth)]
        self._secrets: list[str] = secrets_found
        self.auth_hint = auth_hint
        self._pacing = _Pacing(
            target, self.policy, sleep=sleep, clock=clock, rng=rng, rate_headers=rate_headers
        )
        self._errors = _ErrorMapper(
            target, secrets_found, explain=explain, auth_hint=auth_hint, clock=clock
        )
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._owns_session = session is None
        if session is None:
            session = _Session()
            adapter = requests.adapters.HTTPAdapter(
                pool_connections=4, pool_maxsize=max_connections, pool_block=True, max_retries=0
            )
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self.session = session

    # -- helpers -----------------------------------------------------------------

    def redact(self, text: str, extra: Iterable[str] = ()) -> str:
        """:func:`redact` with this client's secrets."""
        return redact(text, [*self._secrets, *extra])

    def url(self, path: str) -> str:
        """``path`` joined to the base URL, or ``path`` itself if absolute."""
        if re.match(r"(?i)^https?://", path):
            return path
        return f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url

    # -- requests ----------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        retry: bool | None = None,
        expect: Collection[int] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send a request with retries; return the response or raise ProviderError.

        ``retry=None``: retry idempotent methods only (plus connect failures and
        429s for all); ``True``: this call is safe to repeat; ``False``: a single
        attempt.
        ``expect``: accepted statuses (a listed 4xx is returned, not raised);
        any other status is an error. Other
        keyword arguments (``params``, ``json``, ``data``, ``headers``,
        ``files``...) go to :meth:`requests.Session.request`.
        """
        method = method.upper()
        url = self.url(path)
        extra_secrets = _header_secrets(kwargs.get("headers") or {})
        extra_secrets += _auth_secrets(kwargs.get("auth"))
        shown_url = self.redact(_full_url(url, kwargs.get("params")), extra_secrets)
        kwargs["headers"] = {**self.headers, **(kwargs.get("headers") or {})}
        if "auth" not in kwargs and self.auth is not None:
            kwargs["auth"] = self.auth
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        kwargs.setdefault("allow_redirects", method in _REDIRECT_SAFE_METHODS)

        rewinder = _Rewinder(kwargs)
        attempts = self.policy.max_attempts if retry is not False else 1
        if not rewinder.replayable:
            attempts = 1
        may_repeat_sent = retry is True or (retry is None and method in IDEMPOTENT_METHODS)

        attempt = 0
        while True:
            attempt += 1
            if attempt > 1:
                rewinder.rewind()
            self._pacing.pace(method, shown_url)
            started = time.perf_counter()
            try:
                response = self.session.request(method, url, **kwargs)
            except requests.RequestException as exc:
                elapsed = time.perf_counter() - started
                reason = self.redact(_reason(exc), extra_secrets)
                log.debug(
                    "%s %s %s failed after %.3fs: %s",
                    self.target,
                    method,
                    shown_url,
                    elapsed,
                    reason,
                )
                nothing_sent = _sent_nothing(exc)
                if attempt < attempts and _transient(exc) and (nothing_sent or may_repeat_sent):
                    self._pacing.wait(attempt, attempts, None, method, shown_url, reason)
                    continue
                ambiguous = not nothing_sent and not may_repeat_sent
                raise self._errors.network_error(
                    exc, method, url, shown_url, reason, attempt, ambiguous
                ) from None  # the requests exception holds the raw URL

            elapsed = time.perf_counter() - started
            status = response.status_code
            self._pacing.note_rate_limit(response)
            log.debug("%s %s %s -> %s in %.3fs", self.target, method, shown_url, status, elapsed)
            # a 429 means the provider did nothing: safe to repeat whatever the method
            repeat = may_repeat_sent or status == _NOTHING_DONE
            if attempt < attempts and repeat and status in self.policy.retry_statuses:
                retry_after = self._pacing.retry_after(response)
                response.close()
                why = f"HTTP {status}"
                self._pacing.wait(attempt, attempts, retry_after, method, shown_url, why)
                continue
            if expect is not None and status in expect:
                return response  # explicitly accepted, even a 3xx or 4xx
            if status >= 400 or (300 <= status < 400 and not kwargs["allow_redirects"]):
                raise self._errors.http_error(response, method, extra_secrets)
            if expect is not None and status not in expect:
                raise self._errors.http_error(response, method, extra_secrets, unexpected=True)
            return response

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        """``request("GET", ...)``."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        """``request("POST", ...)``; once sent, retried only on a 429 unless ``retry=True``."""
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        """``request("PUT", ...)``."""
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        """``request("PATCH", ...)``; once sent, retried only on a 429 unless ``retry=True``."""
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        """``request("DELETE", ...)``."""
        return self.request("DELETE", path, **kwargs)

    # -- lifecycle ---------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool (only if this client created the session)."""
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> Http:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Http({self.target!r}, {self.base_url!r})"


def _full_url(url: str, params: Any) -> str:
    """``url`` with ``params`` encoded the way requests will send them."""
    if not params:
        return url
    prepared = requests.PreparedRequest()
    try:
        prepared.prepare_url(url, params)
    except (requests.RequestException, RuntimeError):  # stream broken or consumed
        return url
    return prepared.url or url


def _header_secrets(headers: Mapping[str, str]) -> list[str]:
    """Values of credential headers, and the token after ``Bearer``/``Basic``..."""
    found: list[str] = []
    for name, value in headers.items():
        if name.lower() not in _SENSITIVE_HEADERS or not isinstance(value, str):
            continue
        found.append(value)
        scheme, _, token = value.partition(" ")
        if token and scheme.isalpha():
            found.append(token.strip())
    return found


def _auth_secrets(auth: object) -> list[str]:
    """The password of a Basic/Digest auth, and the encoded Basic credentials."""
    if auth is None:
        return []
    if isinstance(auth, tuple) and len(auth) == 2:
        user, password = auth
    else:
        user, password = getattr(auth, "username", None), getattr(auth, "password", None)
    if isinstance(user, bytes):
        user = user.decode("latin-1")
    if isinstance(password, bytes):
        password = password.decode("latin-1")
    if not isinstance(password, str):
        return []
    found = [password]
    if isinstance(user, str):
        raw = f"{user}:{password}".encode("latin-1", "replace")
        found.append(base64.b64encode(raw).decode("ascii"))
    return found


def make_http(
    settings: Settings,
    target: str,
    base_url: str,
    variable: str,
    *,
    headers: Mapping[str, str] | None = None,
    auth: tuple[str, str] | requests.auth.AuthBase | None = None,
    secrets: Iterable[str] = (),
    policy: RetryPolicy | None = None,
    max_connections: int = 8,
    sleep: Callable[[float], None] = time.sleep,
    explain: ErrorReader | None = None,
    auth_hint: str | None = None,
    rate_headers: tuple[str, str] | None = None,
) -> Http:
    """The one way an adapter gets its HTTP client.

    Checks the base URL (https, or http to loopback only), applies the
    configured read timeout, and redacts every secret of the settings.
    Provider hooks: ``explain`` reads the provider's error body (see
    :data:`ErrorReader`), ``auth_hint`` names the variables to check on a
    401/403, and ``rate_headers`` names the provider's ``(remaining, reset)``
    headers: when ``remaining`` reaches 0 the next request waits for the reset
    (capped like ``Retry-After``).
    """
    return Http(
        target,
        check_base_url(base_url, variable),
        headers=headers,
        auth=auth,
        secrets=[*settings.secrets(), *secrets],
        timeout=(5.0, settings.http_timeout),
        policy=policy,
        sleep=sleep,
        max_connections=max_connections,
        explain=explain,
        auth_hint=auth_hint,
        rate_headers=rate_headers,
    )

"""The one exception tree of postpipe.

Every error carries an optional place (``path`` and ``line``) and an optional
``hint`` that says how to fix it. ``cli.main`` is the only place that turns
them into messages and exit codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypedDict, Unpack


class PostpipeError(Exception):
    """Base of every error postpipe reports to a person."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.hint = hint

    @property
    def where(self) -> str | None:
        """``path:line`` (or ``path``) when the error has a place."""
        if self.path is None:
            return None
        return f"{self.path}:{self.line}" if self.line else self.path

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message

    def render(self) -> str:
        """The message plus its hint, as the CLI prints it."""
        text = str(self)
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class ContentError(PostpipeError):
    """A post (front matter, Markdown, images) is wrong."""


class ConfigError(PostpipeError):
    """An environment variable is missing or malformed."""


class TemplateError(PostpipeError):
    """A Jinja2 template failed to load or render."""


class ErrorGroup(PostpipeError):
    """Several errors found in one run, reported together."""

    def __init__(self, errors: Sequence[PostpipeError]) -> None:
        self.errors = list(errors)
        n = len(self.errors)
        super().__init__(f"{n} error{'s' if n != 1 else ''} found")

    def render(self) -> str:
        lines = [e.render() for e in self.errors]
        lines.append(f"{self.message}; nothing was written.")
        return "\n".join(lines)


class ProviderError(PostpipeError):
    """A remote target (CMS or mailing list) answered with an error or not at all."""

    def __init__(
        self,
        message: str,
        *,
        target: str,
        method: str | None = None,
        url: str | None = None,
        status: int | None = None,
        body_excerpt: str | None = None,
        hint: str | None = None,
        maybe_sent: bool = False,
    ) -> None:
        super().__init__(message, hint=hint)
        #: True when a request that creates or sends may have taken effect
        #: (no answer after sending, or a 5xx): reconcile through a find call.
        self.maybe_sent = maybe_sent
        self.target = target
        self.method = method
        self.url = url
        self.status = status
        self.body_excerpt = body_excerpt

    def __str__(self) -> str:
        parts = [f"{self.target}: {self.message}"]
        if self.method and self.url:
            status = f" -> {self.status}" if self.status is not None else ""
            parts.append(f"({self.method} {self.url}{status})")
        return " ".join(parts)


class ProviderDetails(TypedDict, total=False):
    """The optional keyword arguments of ``ProviderError``, for subclasses that pass them on."""

    method: str | None
    url: str | None
    status: int | None
    body_excerpt: str | None
    hint: str | None
    maybe_sent: bool


class AuthError(ProviderError):
    """The provider rejected our credentials (401/403)."""


class RateLimited(ProviderError):
    """The provider kept answering 429 after the retries."""

    def __init__(
        self,
        message: str,
        *,
        target: str,
        retry_after: float | None = None,
        **kw: Unpack[ProviderDetails],
    ) -> None:
        super().__init__(message, target=target, **kw)
        self.retry_after = retry_after


class NotFound(ProviderError):
    """The provider says the object does not exist."""


class LedgerError(PostpipeError):
    """The ledger is unreadable or a transition is not allowed."""


class AlreadySending(LedgerError):
    """Another run holds the send claim for this newsletter."""

    def __init__(self, slug: str, key: str, since: str) -> None:
        super().__init__(
            f"newsletter '{slug}' is being sent by another run since {since} (key {key})",
            hint="wait for that run to finish; a later run reconciles with the provider",
        )
        self.slug = slug
        self.key = key
        self.since = since

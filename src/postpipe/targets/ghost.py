"""The ``ghost`` CMS: posts through the Ghost Admin API, authenticated by a JWT.

A thin mapping of the ``CMS`` protocol (api-contracts §2):

* Every request carries ``Authorization: Ghost <JWT>``, made here with the
  standard library from the Admin API key ``id:secret``: HS256 with the
  hex-decoded secret, ``kid`` = the id, ``aud`` ``/admin/``, valid 5 minutes,
  signed afresh for each request.
* ``find`` asks ``posts/slug/{slug}/`` (Ghost renames a second post with the
  same slug, so a post is never created blind).
* ``upsert`` uploads each local image the post uses once (``images/upload/``,
  remembered in the media store by content hash), rewrites the body's ``src`` to
  the uploaded URLs and sends the body as one HTML card
  (``<!--kg-card-begin: html-->…<!--kg-card-end: html-->``) with
  ``?source=html``, so Ghost keeps it as sent instead of converting it lossily.
  Categories and tags become Ghost tags by name (categories first: the first is
  Ghost's primary tag). Status ``published``, or ``scheduled`` for a date at
  least 2 minutes ahead (Ghost refuses less). An update carries the
  ``updated_at`` Ghost last gave us; a stale one (409 ``UPDATE_COLLISION``:
  someone edited the post in Ghost) is fetched again and the update retried once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import mimetypes
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

import requests
import requests.auth

from ..errors import ConfigError, NotFound, ProviderError
from ..http import Http, make_http
from .base import PostPush, RemoteRef, rewrite_assets, used_assets
from .hosted import HostedCMS

if TYPE_CHECKING:
    from ..assets import Asset
    from ..config import Settings

#: Ghost refuses ``scheduled`` for a date less than 2 minutes ahead; 10 s of margin
#: for the time between our clock reading and Ghost's check.
MIN_SCHEDULE_SECONDS = 130
TOKEN_LIFETIME = 300  # seconds; Ghost accepts at most 5 minutes
API_VERSION = "v5.0"
EXCERPT_MAX = 300  # custom_excerpt
ALT_MAX = 191  # feature_image_alt
_KEY_RE = re.compile(r"([0-9a-f]{24}):([0-9a-f]{64})", re.IGNORECASE)
_FIELDS = "id,uuid,slug,status,url,updated_at,published_at,feature_image"
_KEY_HINT = (
    "make one in Ghost Admin under Settings → Integrations → Add custom integration, and "
    "put its Admin API key (id:secret) in GHOST_ADMIN_API_KEY and the site's address in "
    "GHOST_URL"
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def admin_token(key_id: str, secret: bytes, now: float) -> str:
    """A Ghost Admin API JWT: HS256, ``kid``, ``aud`` ``/admin/``, 5 minutes from ``now``."""
    header = {"alg": "HS256", "typ": "JWT", "kid": key_id}
    iat = int(now)
    payload = {"iat": iat, "exp": iat + TOKEN_LIFETIME, "aud": "/admin/"}
    signing_input = ".".join(
        _b64(json.dumps(part, separators=(",", ":")).encode()) for part in (header, payload)
    )
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def parse_admin_key(value: str) -> tuple[str, bytes]:
    """``id:secret`` → the id and the secret's bytes; a ConfigError that never shows it."""
    match = _KEY_RE.fullmatch(value.strip())
    if match is None:
        raise ConfigError(
            "GHOST_ADMIN_API_KEY is not an Admin API key: expected '<24 hex id>:<64 hex secret>'",
            hint="copy the Admin API key (not the Content API key) of a custom integration; "
            + _KEY_HINT,
        )
    return match.group(1), bytes.fromhex(match.group(2))


class GhostAuth(requests.auth.AuthBase):
    """Signs a fresh token for every request (retries included)."""

    def __init__(self, key_id: str, secret: bytes, clock: Callable[[], float] = time.time) -> None:
        self.key_id = key_id
        self.secret = secret
        self.clock = clock

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = (
            f"Ghost {admin_token(self.key_id, self.secret, self.clock())}"
        )
        return request


class GhostCMS(HostedCMS):
    """Posts, tags and images on one Ghost site."""

    name: ClassVar[str] = "ghost"
    # status=scheduled: Ghost publishes it at its date (refused under 2 minutes ahead)
    min_schedule_seconds: ClassVar[int] = MIN_SCHEDULE_SECONDS

    def _http(self, settings: Settings) -> Http:
        settings.require("ghost_url", "ghost_admin_api_key", target="ghost")
        assert settings.ghost_url and settings.ghost_admin_api_key
        self.key_id, secret = parse_admin_key(settings.ghost_admin_api_key)
        site = settings.ghost_url.strip().rstrip("/")
        site = site.removesuffix("/ghost")  # the admin address works as well
        return make_http(
            settings,
            self.name,
            f"{site}/ghost/api/admin",
            "GHOST_URL",
            headers={"Accept-Version": API_VERSION},
            auth=GhostAuth(self.key_id, secret),
            secrets=[secret.hex()],
            explain=self._explain,
            auth_hint=f"check GHOST_ADMIN_API_KEY; {_KEY_HINT}",
        )

    def _site_of(self, base_url: str) -> str:
        return base_url.removesuffix("/ghost/api/admin")

    # -- the protocol --------------------------------------------------------------
    def find(self, post: PostPush) -> RemoteRef | None:
        answer = self.http.get(
            f"posts/slug/{quote(post.slug, safe='')}/",
            params={"fields": _FIELDS},
            expect={200, 404},
        )
        if answer.status_code == 404:
            if _ghost_error_type(answer) == "NotFoundError":
                return None
            raise ProviderError(
                f"no Ghost Admin API at {self.site} (GET {answer.url} -> 404)",
                target=self.name,
                status=404,
                hint="set GHOST_URL to the address of the Ghost site (its admin address if "
                "that differs)",
            )
        return self._ref(answer.json()["posts"][0])

    def upsert(self, post: PostPush, existing: RemoteRef | None) -> RemoteRef:
        images = {asset.name: self._image(asset) for asset in used_assets(post)}
        body = rewrite_assets(post.body_html, post.assets, images) + self.editions_html(post)
        fields: dict[str, Any] = {
            "title": post.title,
            "slug": post.slug,
            "html": f"<!--kg-card-begin: html-->{body}<!--kg-card-end: html-->",
            "status": self.status_for(post),
            "published_at": _iso(post.date),
            "custom_excerpt": _cut(post.summary, EXCERPT_MAX) or None,
            "tags": [{"name": n} for n in dict.fromkeys([*post.categories, *post.tags])]
            # an internal tag (#…): Ghost's themes can route by it, readers never see it
            + ([{"name": f"#{post.lang_tag}"}] if post.lang_tag else []),
            "feature_image": images[post.image.name] if post.image else None,
            "feature_image_alt": _cut(post.image_alt, ALT_MAX) if post.image else None,
        }
        if existing is None:
            # never retried blind: a lost answer is found by slug on the next run
            return self._ref(self._send("POST", "posts/", fields, expect={201}))
        updated_at = existing.data.get("updated_at") or self._read(existing.id)["updated_at"]
        try:
            saved = self._send("PUT", f"posts/{existing.id}/", {**fields, "updated_at": updated_at})
        except NotFound:
            found = self.find(post)  # deleted in Ghost since: find or create
            return self.upsert(post, found) if found else self.upsert(post, None)
        except ProviderError as exc:
            if exc.status != 409:
                raise
            # UPDATE_COLLISION: edited in Ghost since our last push; ours wins, once
            fresh = self._read(existing.id)["updated_at"]
            saved = self._send("PUT", f"posts/{existing.id}/", {**fields, "updated_at": fresh})
        return self._ref(saved)

    def upload(self, asset: Asset, alt: str) -> str:
        """To Ghost's images, unless it is there already; returns its URL."""
        return self._image(asset)

    # Ghost renders its own index, tag pages and feeds: ``finish`` has nothing to do

    # -- posts ---------------------------------------------------------------------
    def status_for(self, post: PostPush) -> str:
        """``scheduled`` for a date far enough ahead for Ghost to accept it."""
        return "scheduled" if self.ahead_enough(post) else "published"

    def _send(
        self, method: str, path: str, fields: dict[str, Any], expect: set[int] | None = None
    ) -> dict[str, Any]:
        answer = self.http.request(
            method,
            path,
            params={"source": "html", "fields": _FIELDS},
            json={"posts": [fields]},
            expect=expect,
        )
        return answer.json()["posts"][0]

    def _read(self, post_id: str) -> dict[str, Any]:
        answer = self.http.get(f"posts/{quote(post_id, safe='')}/", params={"fields": _FIELDS})
        return answer.json()["posts"][0]

    def _ref(self, post: dict[str, Any]) -> RemoteRef:
        status = {"published": "publish", "scheduled": "future"}.get(
            str(post.get("status")), "draft"
        )
        url = str(post.get("url") or "")
        if status == "future" and "/p/" in url:
            url = f"{self.site}/{post['slug']}/"  # the preview link until it is out
        return RemoteRef(
            id=str(post["id"]),
            url=url,
            status=status,
            data={"updated_at": post.get("updated_at")},
        )

    # -- images --------------------------------------------------------------------
    def _image(self, asset: Asset) -> str:
        """The URL of ``asset`` on Ghost, uploading it only the first time."""
        known = self._stored(asset)
        if known and known[1]:
            return known[1]
        mime = mimetypes.guess_type(asset.source.name)[0] or "application/octet-stream"
        answer = self.http.post(
            "images/upload/",
            files={"file": (asset.source.name, asset.source.read_bytes(), mime)},
            data={"purpose": "image", "ref": asset.digest},
            expect={200, 201},
        )
        url = str(answer.json()["images"][0]["url"])
        self._remember(asset, asset.digest, url)
        return url

    # -- errors --------------------------------------------------------------------
    def _explain(self, response: requests.Response) -> tuple[str, str | None] | None:
        """Ghost's ``{"errors": [{type, code, message, context}]}`` as an actionable message."""
        error = response.json()["errors"][0]
        head = " ".join(str(x) for x in (error.get("type"), error.get("code")) if x)
        text = f"{head}: {error.get('message') or ''}".strip(": ")
        context = error.get("context")
        if context and context != error.get("message"):
            text += f" ({context})"
        if response.status_code in (401, 403):
            return (
                f"Ghost rejected the Admin API key {self.key_id} at {self.site}: check "
                f"GHOST_ADMIN_API_KEY ({text})",
                _KEY_HINT,
            )
        return text, None


def _ghost_error_type(answer: requests.Response) -> str | None:
    try:
        return str(answer.json()["errors"][0]["type"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"

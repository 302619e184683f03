"""The ``wordpress`` CMS: posts through the REST API (``wp/v2``), Application Password auth.

A thin mapping of the ``CMS`` protocol (api-contracts §1):

* ``find`` looks the post up by slug in every status but trash
  (``context=edit``): WordPress silently renames a second post with the same
  slug to ``slug-2``, so a post is never created blind.
* ``upsert`` uploads each local image the post uses once to the media library
  (remembered in the media store by content hash, and findable again by the media
  slug ``pp-<hash>`` when the ledger is gone), rewrites the body's ``src`` to
  the media URLs, resolves categories and tags to ids (creating missing ones),
  then creates or updates the post: the body HTML, title, excerpt (the
  summary), date and slug, status ``publish`` or ``future``, the hero image as
  ``featured_media`` (checked in the answer: WordPress ignores a bad id).
* The API root is ``/wp-json/``, or ``/?rest_route=/`` on a site with plain
  permalinks; found once per run with the first call.
"""

from __future__ import annotations

import html
import mimetypes
import unicodedata
from datetime import UTC
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

import requests

from ..errors import NotFound, ProviderError
from ..http import Http, make_http
from .base import PostPush, RemoteRef, rewrite_assets, used_assets
from .hosted import HostedCMS

if TYPE_CHECKING:
    from ..assets import Asset
    from ..config import Settings

#: Every status a post of ours can have (the default of GET /posts is publish only).
FIND_STATUSES = "publish,future,draft,pending,private"
#: WordPress publishes a ``future`` post dated less than this many seconds ahead at once.
MIN_FUTURE_SECONDS = 60
_POST_FIELDS = "id,slug,status,link,permalink_template,featured_media,date_gmt"
_APP_PASSWORD_HINT = (
    "make one in WordPress under Users → Profile → Application Passwords and put it in "
    "WORDPRESS_APP_PASSWORD, with the login name in WORDPRESS_USER; if both are right, "
    "a proxy in front of WordPress may strip the Authorization header"
)


class WordPressCMS(HostedCMS):
    """Posts, media and terms on one WordPress site."""

    name: ClassVar[str] = "wordpress"
    # status=future: WordPress publishes it at its date (at once when under a minute ahead)
    min_schedule_seconds: ClassVar[int] = MIN_FUTURE_SECONDS

    def _http(self, settings: Settings) -> Http:
        settings.require(
            "wordpress_url", "wordpress_user", "wordpress_app_password", target="wordpress"
        )
        assert settings.wordpress_url and settings.wordpress_user
        assert settings.wordpress_app_password
        self.user = settings.wordpress_user
        self._api: str | None = None  # "wp-json/" or "?rest_route=/"
        self._terms: dict[tuple[str, str], int] = {}
        return make_http(
            settings,
            self.name,
            settings.wordpress_url,
            "WORDPRESS_URL",
            auth=(self.user, settings.wordpress_app_password),
            explain=self._explain,
            auth_hint=f"check WORDPRESS_USER and WORDPRESS_APP_PASSWORD; {_APP_PASSWORD_HINT}",
        )

    # -- the protocol --------------------------------------------------------------
    def find(self, post: PostPush) -> RemoteRef | None:
        self._connect()
        found = self.http.get(
            self._ep("posts"),
            params={
                "slug": post.slug,
                "status": FIND_STATUSES,
                "context": "edit",
                "per_page": 100,
                "_fields": _POST_FIELDS,
            },
        ).json()
        mine = sorted((p for p in found if p.get("slug") == post.slug), key=lambda p: p["id"])
        return self._ref(mine[0]) if mine else None

    def url_of_slug(self, slug: str) -> str:
        """``/?name=<slug>``: WordPress finds the post by slug and redirects to its
        permalink, whatever the permalink structure (and before the post exists,
        the link is already right)."""
        return f"{self.site}/?name={quote(slug, safe='')}"

    def upsert(self, post: PostPush, existing: RemoteRef | None) -> RemoteRef:
        self._connect()
        hero_alt = post.image_alt
        media: dict[str, tuple[int, str]] = {}
        for asset in used_assets(post):
            alt = hero_alt if post.image and asset.name == post.image.name else ""
            media[asset.name] = self._media(asset, alt)
        featured = media[post.image.name][0] if post.image else 0
        body: dict[str, Any] = {
            "title": post.title,
            "content": rewrite_assets(
                post.body_html, post.assets, {n: url for n, (_, url) in media.items()}
            )
            + self.editions_html(post),
            "excerpt": post.summary,
            "slug": post.slug,
            "status": self.status_for(post),
            "date_gmt": post.date.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "categories": [self._term("categories", n) for n in post.categories],
            "tags": [self._term("tags", n) for n in _with_lang(post)],
            "featured_media": featured,
        }
        item = self._save(post, existing, body)
        if item.get("featured_media") != featured and post.image is not None:
            # WordPress ignores an id that is no (longer an) attachment: upload it again
            body["featured_media"] = self._media(post.image, hero_alt, fresh=True)[0]
            item = self._save(post, self._ref(item), body)
            if item.get("featured_media") != body["featured_media"]:
                raise ProviderError(
                    f"WordPress did not set media #{body['featured_media']} as the featured "
                    f"image of post #{item['id']}",
                    target=self.name,
                    hint="check the media library; the post itself was saved",
                )
        return self._ref(item)

    def upload(self, asset: Asset, alt: str) -> str:
        """Into the media library, unless it is there already; returns its URL."""
        self._connect()
        return self._media(asset, alt)[1]

    # WordPress renders its own index, feeds and archives: ``finish`` has nothing to do

    # -- posts ---------------------------------------------------------------------
    def status_for(self, post: PostPush) -> str:
        """``future`` for a date ahead, unless WordPress would publish it at once anyway."""
        return "future" if self.ahead_enough(post) else "publish"

    def _save(self, post: PostPush, existing: RemoteRef | None, body: dict[str, Any]) -> Any:
        params = {"context": "edit", "_fields": _POST_FIELDS}
        if existing is not None:
            try:
                return self.http.put(
                    self._ep(f"posts/{existing.id}"), json=body, params=params
                ).json()
            except NotFound:
                existing = self.find(post)  # deleted in WordPress since: find or create
                if existing is not None:
                    return self._save(post, existing, body)
        # never retried blind: a lost answer is found by slug on the next run
        return self.http.post(self._ep("posts"), json=body, params=params, expect={201}).json()

    def _ref(self, item: dict[str, Any]) -> RemoteRef:
        url = str(item.get("link") or "")
        template = str(item.get("permalink_template") or "")
        if item.get("status") == "future" and "%postname%" in template:
            url = template.replace("%postname%", item["slug"])  # the link it will have
        status = {"publish": "publish", "future": "future"}.get(str(item.get("status")), "draft")
        return RemoteRef(id=str(item["id"]), url=url, status=status)

    # -- media ---------------------------------------------------------------------
    def _media(self, asset: Asset, alt: str, *, fresh: bool = False) -> tuple[int, str]:
        """The media id and URL of ``asset``, uploading it only if WordPress lacks it."""
        known = None if fresh else self._stored(asset)
        if known and known[0] and known[1]:
            return int(known[0]), known[1]
        slug = f"pp-{asset.digest[:20]}"
        found = (
            []
            if fresh
            else self.http.get(
                self._ep("media"), params={"slug": slug, "_fields": "id,slug,source_url"}
            ).json()
        )
        if found:
            media_id, url = int(found[0]["id"]), str(found[0]["source_url"])
        else:
            mime = mimetypes.guess_type(asset.source.name)[0] or "application/octet-stream"
            created = self.http.post(
                self._ep("media"),
                data=asset.source.read_bytes(),
                headers={
                    "Content-Type": mime,
                    "Content-Disposition": f'attachment; filename="{_ascii(asset.source.name)}"',
                },
                params={"slug": slug, "alt_text": alt, "_fields": "id,source_url"},
                expect={201},
            ).json()
            media_id, url = int(created["id"]), str(created["source_url"])
        self._remember(asset, str(media_id), url)
        return media_id, url

    # -- terms ---------------------------------------------------------------------
    def _term(self, taxonomy: str, name: str) -> int:
        """The id of the category or tag called ``name``, created when missing."""
        key = (taxonomy, name.casefold())
        if key in self._terms:
            return self._terms[key]
        found = self.http.get(
            self._ep(taxonomy),
            params={"search": name, "per_page": 100, "_fields": "id,name,slug"},
        ).json()
        for term in found:
            if html.unescape(str(term.get("name", ""))).casefold() == name.casefold():
                self._terms[key] = int(term["id"])
                return self._terms[key]
        answer = self.http.post(self._ep(taxonomy), json={"name": name}, expect={201, 400})
        data = answer.json()
        if answer.status_code == 400:
            term_id = data.get("data", {}).get("term_id") if isinstance(data, dict) else None
            if not (isinstance(data, dict) and data.get("code") == "term_exists" and term_id):
                message, _ = self._explain(answer) or (f"HTTP 400: {answer.text[:200]}", None)
                raise ProviderError(
                    f"HTTP 400: {message}",
                    target=self.name,
                    method="POST",
                    url=self.http.redact(answer.url),
                    status=400,
                )
            self._terms[key] = int(term_id)  # made meanwhile, or named differently: use it
        else:
            self._terms[key] = int(data["id"])
        return self._terms[key]

    # -- plumbing ------------------------------------------------------------------
    def _ep(self, path: str) -> str:
        assert self._api is not None
        return f"{self._api}wp/v2/{path}"

    def _connect(self) -> None:
        """Find the API root and check the credentials, once per run."""
        if self._api is not None:
            return
        for root in ("wp-json/", "?rest_route=/"):
            answer = self.http.get(root, expect={200, 404})
            if _is_wp_index(answer):
                self._api = root
                break
        else:
            raise ProviderError(
                f"no WordPress REST API at {self.site} (tried /wp-json/ and /?rest_route=/)",
                target=self.name,
                hint="set WORDPRESS_URL to the address of the WordPress site (the REST API "
                "must be enabled)",
            )
        me = self.http.get(
            self._ep("users/me"), params={"context": "edit", "_fields": "id,username,capabilities"}
        ).json()
        caps = me.get("capabilities") or {}
        missing = [c for c in ("publish_posts", "upload_files") if not caps.get(c)]
        if missing:
            raise ProviderError(
                f"WordPress user '{self.user}' at {self.site} may not {' or '.join(missing)}",
                target=self.name,
                status=403,
                hint="give the user the Author, Editor or Administrator role",
            )

    def _explain(self, response: requests.Response) -> tuple[str, str | None] | None:
        """WordPress's ``{"code", "message", "data"}`` as a message a person can act on."""
        body = response.json()
        if not isinstance(body, dict) or "code" not in body:
            return None
        text = f"{body['code']}: {html.unescape(str(body.get('message', '')))}"
        data = body.get("data")
        params = data.get("params") if isinstance(data, dict) else None
        if isinstance(params, dict) and params:
            text += " (" + "; ".join(f"{k}: {v}" for k, v in params.items()) + ")"
        if response.status_code == 401:
            return (
                f"WordPress rejected the application password for user '{self.user}' at "
                f"{self.site}: check WORDPRESS_APP_PASSWORD ({text})",
                _APP_PASSWORD_HINT,
            )
        if response.status_code == 403:
            return (
                f"WordPress user '{self.user}' at {self.site} is not allowed to do this ({text})",
                "give the user the Author, Editor or Administrator role",
            )
        return text, None


def _is_wp_index(answer: requests.Response) -> bool:
    if answer.status_code != 200 or "json" not in answer.headers.get("Content-Type", ""):
        return False
    try:
        index = answer.json()
    except ValueError:
        return False
    return isinstance(index, dict) and "wp/v2" in (index.get("namespaces") or [])


def _ascii(filename: str) -> str:
    """A file name safe in a Content-Disposition header (WordPress keeps it as the file name)."""
    folded = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    safe = "".join(c if c.isalnum() or c in "._-" else "-" for c in folded).strip("-.")
    return safe or "image"


def _with_lang(post: PostPush) -> list[str]:
    """The post's tags and its language tag (``lang-sv``), once each."""
    return list(dict.fromkeys([*post.tags, *([post.lang_tag] if post.lang_tag else [])]))

"""The ``wordpress`` target against a real WordPress (scripts/wordpress-test-server).

The tests of this module run in order on one WordPress and one site: publish,
publish again, send, edit, lose the ledger. Write calls are counted in the
access log of ``php -S`` (one line per request). The crash, partial-failure,
credential and scheduling tests use posts of their own.
"""

from __future__ import annotations

import html
import io
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from cmskit import (
    AHEAD,
    SAMPLES,
    Server,
    Site,
    ahead_post,
    assert_stored_photo_is_clean,
    camera_site,
    make_site,
    outbox_html,
    start_server,
)
from PIL import Image

WRITE_LINE = re.compile(r"\]: (POST|PUT|PATCH|DELETE) (\S+)")


class WP:
    """The test's own view of the site: the REST API (read-only) and the access log."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.url = server.vars["WP_URL"]
        self.api = f"{self.url}/wp-json/wp/v2"
        self.auth = (server.vars["WP_USER"], server.vars["WP_APP_PASSWORD"])
        self.log = Path(server.vars["WP_DIR"]) / "php-server.log"

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "POSTPIPE_CMS": "wordpress",
            "WORDPRESS_URL": self.url,
            "WORDPRESS_USER": self.auth[0],
            "WORDPRESS_APP_PASSWORD": self.auth[1],
            "POSTPIPE_SITE_URL": self.url,
            **extra,
        }

    def get(self, path: str, **params: Any) -> Any:
        r = requests.get(f"{self.api}/{path}", params=params, auth=self.auth, timeout=30)
        r.raise_for_status()
        return r.json()

    def posts(self, slug: str | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {
            "status": "publish,future,draft,pending,private",
            "context": "edit",
            "per_page": 100,
        }
        if slug:
            params["slug"] = slug
        return self.get("posts", **params)

    def post(self, slug: str) -> dict[str, Any]:
        found = self.posts(slug)
        assert len(found) == 1, f"{len(found)} posts with slug {slug}"
        return found[0]

    def term_names(self, taxonomy: str, ids: list[int]) -> set[str]:
        return {html.unescape(self.get(f"{taxonomy}/{i}")["name"]) for i in ids}

    def writes(self) -> list[str]:
        """``METHOD path`` of every write request so far."""
        return [f"{m} {p}" for m, p in WRITE_LINE.findall(self.log.read_text(errors="replace"))]


@pytest.fixture(scope="module")
def wp(wordpress: Server) -> WP:
    return WP(wordpress)


@pytest.fixture(scope="module")
def site(wp: WP, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The sample posts plus one dated two days ahead, published once."""
    site = make_site(tmp_path_factory.mktemp("wp") / "site", wp.env(), ahead=timedelta(days=2))
    site.first = site.ok("publish")  # type: ignore[attr-defined]
    yield site


def test_publish_creates_posts_with_terms_images_and_featured_media(site: Site, wp: WP) -> None:
    out = site.first  # type: ignore[attr-defined]
    for slug in [*SAMPLES, AHEAD]:
        assert re.search(rf"^created {re.escape(slug)} → wordpress http", out, re.M), out
    assert "volunteer-evening" not in out  # a draft is never pushed

    summit = wp.post("safer-streets-summit-2026")
    assert summit["title"]["raw"] == SAMPLES["safer-streets-summit-2026"]
    assert summit["status"] == "publish"
    assert summit["excerpt"]["raw"].startswith("Two days, 430 participants")
    assert summit["date_gmt"] == "2026-10-22T15:00:00"  # 17:00 Europe/Stockholm
    assert wp.term_names("tags", summit["tags"]) == {
        "safer-streets",
        "policing",
        "youth",
        "conference-2026",
    }
    assert wp.term_names("categories", summit["categories"]) == {"Conference"}
    content = summit["content"]["raw"]
    assert "<table>" in content and "<h2" in content
    assert "<header" not in content and "<nav" not in content  # the body, not the page
    srcs = re.findall(r'<img[^>]+src="([^"]+)"', content)
    assert len(srcs) == 2 and "/assets/" not in content
    for src in srcs:  # served from the media library
        assert src.startswith(f"{wp.url}/wp-content/uploads/"), src
        assert requests.get(src, timeout=30).headers["Content-Type"] == "image/jpeg"

    hero = wp.get(f"media/{summit['featured_media']}")
    assert hero["alt_text"].startswith("The main hall at Folkets Hus")
    assert requests.get(hero["source_url"], timeout=30).status_code == 200

    assert wp.post("trygghetsdagen-2027")["featured_media"] > 0
    assert wp.post("panel-can-community-policing-rebuild-trust")["featured_media"] == 0
    assert wp.term_names("tags", wp.post("trygghetsdagen-2027")["tags"]) == {
        "trygghetsdagen",
        "göteborg",
        "lang-sv",  # an edition of a translated post (issue 15)
    }
    assert wp.term_names("tags", wp.post("safety-day-2027")["tags"]) == {
        "trygghetsdagen",
        "göteborg",
        "lang-en",
    }
    # every image once in the media library (though two posts share two of them),
    # and its email file beside it: a newsletter links a file sized for mail
    assert len(wp.get("media", per_page=100)) == 10


def test_a_post_dated_ahead_is_future(site: Site, wp: WP) -> None:
    ahead = wp.post(AHEAD)
    assert ahead["status"] == "future"
    assert ahead["featured_media"] > 0
    assert wp.term_names("categories", ahead["categories"]) == {"Invitation"}
    assert "(scheduled for " in site.first  # type: ignore[attr-defined]
    row = site.status()[AHEAD]
    assert row["post"] == "scheduled"
    assert row["url"] == f"{wp.url}/{AHEAD}/"  # its link once out, not ?p=ID


def test_status_shows_the_cms_id_and_url_and_the_public_page_has_the_title(
    site: Site, wp: WP
) -> None:
    rows = site.status()
    for slug in SAMPLES:
        post = wp.post(slug)
        assert rows[slug]["post"] == "published"
        assert rows[slug]["cms_id"] == str(post["id"])
        assert rows[slug]["url"] == post["link"] == f"{wp.url}/{slug}/"
    table = site.ok("status")
    summit_id = wp.post("safer-streets-summit-2026")["id"]
    assert f"wordpress #{summit_id} {wp.url}/safer-streets-summit-2026/" in table
    page = requests.get(rows["panel-can-community-policing-rebuild-trust"]["url"], timeout=30)
    assert page.status_code == 200
    assert "Panel: can community policing rebuild trust?" in html.unescape(page.text)


def test_publish_again_makes_no_write_calls(site: Site, wp: WP) -> None:
    before = wp.writes()
    out = site.ok("publish")
    assert "nothing to do" in out, out
    assert wp.writes() == before


def test_the_newsletter_links_to_the_wordpress_url(site: Site, wp: WP) -> None:
    slug = "panel-can-community-policing-rebuild-trust"
    site.ok("send", slug, "--yes")
    body = outbox_html(site.root, slug)
    view = re.search(r'class="topbar-link" href="([^"]+)"', body)
    assert view is not None and view.group(1).startswith(f"{wp.url}/{slug}/"), body[:2000]
    assert "utm_source=newsletter" in view.group(1)  # the CMS counts as our own site
    # the images come from the media library: the mail works without a static site
    images = re.findall(r'<img[^>]* src="([^"]+)"', body)
    assert images and all(src.startswith(f"{wp.url}/wp-content/uploads/") for src in images), (
        images
    )
    for src in images:  # the email files (at most 1200 px), not the 2400 px masters
        got = requests.get(src, timeout=30)
        assert got.status_code == 200
        assert Image.open(io.BytesIO(got.content)).width <= 1200, src


def test_an_edit_updates_the_post_in_place(site: Site, wp: WP) -> None:
    slug = "panel-can-community-policing-rebuild-trust"
    before_id = wp.post(slug)["id"]
    path = site.post('title: "Panel: can community policing')
    path.write_text(path.read_text() + "\nA late addition from the organisers.\n")
    before = wp.writes()
    out = site.ok("publish")
    assert re.search(rf"^updated {slug} → wordpress", out, re.M), out
    post = wp.post(slug)
    assert post["id"] == before_id
    assert "A late addition from the organisers." in post["content"]["raw"]
    # one write: the post itself (its image and terms are known)
    assert wp.writes()[len(before) :] == [
        f"PUT /wp-json/wp/v2/posts/{before_id}?context=edit&_fields="
        "id%2Cslug%2Cstatus%2Clink%2Cpermalink_template%2Cfeatured_media%2Cdate_gmt"
    ]


def test_a_featured_image_deleted_in_wordpress_is_uploaded_again(site: Site, wp: WP) -> None:
    slug = "trygghetsdagen-2027"
    old = wp.post(slug)["featured_media"]
    gone = requests.delete(
        f"{wp.api}/media/{old}", params={"force": "true"}, auth=wp.auth, timeout=30
    )
    assert gone.status_code == 200
    path = site.post(f"slug: {slug}")
    path.write_text(path.read_text() + "\nVälkommen!\n")
    out = site.ok("publish")  # the ledger still names the deleted media item
    assert re.search(rf"^updated {slug} → wordpress", out, re.M), out
    new = wp.post(slug)["featured_media"]
    assert new not in (0, old)
    assert requests.get(wp.get(f"media/{new}")["source_url"], timeout=30).status_code == 200


def test_a_deleted_ledger_finds_the_posts_by_slug(site: Site, wp: WP) -> None:
    ids = {slug: wp.post(slug)["id"] for slug in [*SAMPLES, AHEAD]}
    media = len(wp.get("media", per_page=100))
    site.drop_ledger()
    before = wp.writes()
    out = site.ok("publish")
    assert "created" not in out, out
    assert {slug: wp.post(slug)["id"] for slug in ids} == ids  # wp.post: exactly one each
    slugs = {p["slug"] for p in wp.posts()}
    assert not {s for s in slugs if re.fullmatch(rf"({'|'.join(ids)})-\d+", s)}  # no slug-2
    assert len(wp.get("media", per_page=100)) == media  # images found by their media slug
    assert all(w.startswith("PUT ") for w in wp.writes()[len(before) :])


def test_a_crash_after_the_create_is_found_by_slug(wp: WP, tmp_path: Path) -> None:
    slug = "crash-forum-wp"
    site = make_site(
        tmp_path / "site",
        wp.env(),
        samples=False,
        posts={"crash.md": ahead_post(datetime(2026, 9, 1, tzinfo=UTC), slug=slug)},
    )
    crashed = site.run(
        "publish",
        env={"POSTPIPE_CMS": "crashing_cms:CrashingWordPress", "CRASH_AFTER_CREATE": slug},
    )
    assert crashed.returncode == 137, crashed.stderr
    first = wp.post(slug)  # WordPress has it; the ledger does not
    with sqlite3.connect(site.ledger) as db:
        assert db.execute("SELECT count(*) FROM items WHERE kind='cms'").fetchone()[0] == 0

    out = site.ok("publish")
    assert re.search(rf"^updated {slug} → wordpress", out, re.M), out
    assert wp.post(slug)["id"] == first["id"]
    assert wp.posts(f"{slug}-2") == []


def test_a_failed_create_keeps_the_uploaded_images(wp: WP, tmp_path: Path) -> None:
    slug = "partial-forum-wp"
    text = ahead_post(datetime(2026, 9, 2, tzinfo=UTC), slug=slug).replace(
        "images/summit-workshop.jpg", "images/speaker-amira-haddad.jpg"
    )
    site = make_site(tmp_path / "site", wp.env(), samples=False, posts={"partial.md": text})
    env = {"POSTPIPE_CMS": "crashing_cms:CrashingWordPress", "FAIL_SAVE": slug}
    failed = site.run("publish", env=env)
    assert failed.returncode == 1 and "injected" in failed.stdout, failed.stdout
    assert wp.posts(slug) == []
    assert site.status()[slug]["last_error"]

    before = wp.writes()
    out = site.ok("publish")
    assert re.search(rf"^created {slug} → wordpress", out, re.M), out
    assert [w.split("?")[0] for w in wp.writes()[len(before) :]] == [
        "POST /wp-json/wp/v2/posts"  # no image uploaded twice
    ]


def test_a_wrong_application_password_is_a_clear_error(wp: WP, tmp_path: Path) -> None:
    site = make_site(
        tmp_path / "site", wp.env(WORDPRESS_APP_PASSWORD="abcd EFGH ijkl MNOP qrst UVWX")
    )
    before = wp.writes()
    result = site.run("publish")
    assert result.returncode == 1
    assert (
        f"WordPress rejected the application password for user 'admin' at {wp.url}: "
        "check WORDPRESS_APP_PASSWORD" in result.stdout
    ), result.stdout
    assert "abcd EFGH" not in result.stdout + result.stderr
    assert wp.writes() == before
    for row in site.status().values():
        assert row["cms_id"] is None and row["post"] in ("unpublished", "draft")


def test_a_post_less_than_a_minute_ahead_is_published_now(wp: WP, tmp_path: Path) -> None:
    slug = "soon-forum-wp"
    soon = datetime.now(UTC) + timedelta(seconds=40)
    site = make_site(
        tmp_path / "site", wp.env(), samples=False, posts={"soon.md": ahead_post(soon, slug=slug)}
    )
    out = site.ok("publish")
    assert "published now" in out, out
    assert wp.post(slug)["status"] == "publish"
    assert site.status()[slug]["post"] == "published"


def test_plain_permalinks_use_rest_route(tmp_path: Path) -> None:
    server = start_server("wordpress-test-server", "WP_DIR", {"WP_PLAIN_PERMALINKS": "1"})
    try:
        plain = WP(server)
        slug = "plain-forum-wp"
        site = make_site(
            tmp_path / "site",
            plain.env(),
            samples=False,
            posts={"plain.md": ahead_post(datetime(2026, 9, 3, tzinfo=UTC), slug=slug)},
        )
        out = site.ok("publish")
        assert re.search(rf"^created {slug} → wordpress {plain.url}/\?p=\d+", out, re.M), out
        assert any("?rest_route=/wp/v2/posts" in w for w in plain.writes())
        assert site.ok("publish").startswith("nothing to do")
    finally:
        server.stop()


def test_uploaded_camera_photos_carry_no_location_or_serial(wp: WP, tmp_path: Path) -> None:
    slug = "camera-walk-wp"
    site = camera_site(tmp_path / "site", wp.env(), slug)
    out = site.ok("publish")
    assert re.search(rf"^created {slug} → wordpress", out, re.M), out
    post = wp.post(slug)
    hero = wp.get(f"media/{post['featured_media']}")
    srcs = re.findall(r'<img[^>]+src="([^"]+)"', post["content"]["raw"])
    assert len(srcs) == 1 and srcs[0].startswith(f"{wp.url}/wp-content/uploads/"), srcs
    for url in (hero["source_url"], srcs[0]):
        assert_stored_photo_is_clean(url)

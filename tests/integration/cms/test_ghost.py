"""The ``ghost`` target against a real Ghost 5 (scripts/ghost-test-server).

The tests of this module run in order on one Ghost and one site: publish,
publish again, send, edit, edit after someone else did, lose the ledger. Write
calls are counted in Ghost's request log (one line per request). The crash,
partial-failure, credential and scheduling tests use posts of their own.
"""

from __future__ import annotations

import html
import io
import json
import re
import sqlite3
import time
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
)
from PIL import Image

from postpipe.targets.ghost import admin_token, parse_admin_key

REQUEST_LINE = re.compile(
    r'"(GET|POST|PUT|DELETE) (/ghost/api/admin/\S+)"\s+(?:\x1b\[\d+m)?(\d{3})'
)


class Ghost:
    """The test's own view of the site: the Admin API and Ghost's request log."""

    def __init__(self, server: Server) -> None:
        self.url = server.vars["GHOST_URL"]
        self.key = server.vars["GHOST_ADMIN_API_KEY"]
        self.admin = f"{self.url}/ghost/api/admin"
        self.log = Path(server.vars["GHOST_DIR"]) / "ghost.log"

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "POSTPIPE_CMS": "ghost",
            "GHOST_URL": self.url,
            "GHOST_ADMIN_API_KEY": self.key,
            "POSTPIPE_SITE_URL": self.url,
            **extra,
        }

    def headers(self) -> dict[str, str]:
        kid, secret = parse_admin_key(self.key)
        return {"Authorization": f"Ghost {admin_token(kid, secret, time.time())}"}

    def get(self, path: str, **params: Any) -> Any:
        r = requests.get(f"{self.admin}/{path}", params=params, headers=self.headers(), timeout=30)
        r.raise_for_status()
        return r.json()

    def post(self, slug: str) -> dict[str, Any]:
        found = [p for p in self.posts() if p["slug"] == slug]
        assert len(found) == 1, f"{len(found)} posts with slug {slug}"
        return self.get(f"posts/{found[0]['id']}/", formats="html,lexical", include="tags")[
            "posts"
        ][0]

    def posts(self) -> list[dict[str, Any]]:
        return self.get("posts/", limit=100, fields="id,slug,status")["posts"]

    def writes(self) -> list[str]:
        """``METHOD path status`` of every write request so far."""
        lines = REQUEST_LINE.findall(self.log.read_text(errors="replace"))
        return [f"{m} {p.split('?')[0]} {s}" for m, p, s in lines if m != "GET"]


@pytest.fixture(scope="module")
def gh(ghost: Server) -> Ghost:
    return Ghost(ghost)


@pytest.fixture(scope="module")
def site(gh: Ghost, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The sample posts plus one dated two days ahead, published once."""
    site = make_site(tmp_path_factory.mktemp("ghost") / "site", gh.env(), ahead=timedelta(days=2))
    site.before = gh.writes()  # type: ignore[attr-defined]
    site.first = site.ok("publish")  # type: ignore[attr-defined]
    yield site


def test_publish_creates_posts_with_html_tags_and_feature_images(site: Site, gh: Ghost) -> None:
    out = site.first  # type: ignore[attr-defined]
    for slug in [*SAMPLES, AHEAD]:
        assert re.search(rf"^created {re.escape(slug)} → ghost http", out, re.M), out
    assert "volunteer-evening" not in out  # a draft is never pushed

    summit = gh.post("safer-streets-summit-2026")
    assert summit["title"] == SAMPLES["safer-streets-summit-2026"]
    assert summit["status"] == "published"
    assert summit["published_at"] == "2026-10-22T15:00:00.000Z"  # 17:00 Europe/Stockholm
    assert summit["custom_excerpt"].startswith("Two days, 430 participants")
    # categories first: the first tag is Ghost's primary tag
    assert [t["name"] for t in summit["tags"]] == [
        "Conference",
        "safer-streets",
        "policing",
        "youth",
        "conference-2026",
    ]
    body = summit["html"]
    assert "<table>" in body and '<h2 id="' in body and "<blockquote>" in body
    assert [c["type"] for c in json.loads(summit["lexical"])["root"]["children"]] == ["html"]
    assert "/assets/" not in body
    srcs = re.findall(r'<img[^>]+src="([^"]+)"', body)
    assert len(srcs) == 2
    for src in [*srcs, summit["feature_image"]]:
        assert src.startswith(f"{gh.url}/content/images/"), src
        assert requests.get(src, timeout=30).headers["Content-Type"] == "image/jpeg"
    assert summit["feature_image_alt"].startswith("The main hall at Folkets Hus")

    panel = gh.post("panel-can-community-policing-rebuild-trust")
    assert panel["feature_image"] is None
    assert [t["name"] for t in panel["tags"]] == ["Debate", "policing", "trust", "panel"]
    uploads = [w for w in gh.writes() if "/images/upload/" in w]
    # each image once (though two posts share two of them), and its email file beside it
    assert len(uploads) == 10


def test_a_post_dated_ahead_is_scheduled(site: Site, gh: Ghost) -> None:
    ahead = gh.post(AHEAD)
    assert ahead["status"] == "scheduled"
    assert re.search(r"<figure>.*<img[^>]+/content/images/.*<figcaption>", ahead["html"], re.S)
    assert "<table>" in ahead["html"]
    assert ahead["feature_image"].startswith(f"{gh.url}/content/images/")
    row = site.status()[AHEAD]
    assert row["post"] == "scheduled"
    assert row["url"] == f"{gh.url}/{AHEAD}/"  # its address once out, not the /p/ preview


def test_status_shows_the_cms_id_and_url_and_the_public_page_has_the_title(
    site: Site, gh: Ghost
) -> None:
    rows = site.status()
    for slug in SAMPLES:
        post = gh.post(slug)
        assert rows[slug]["post"] == "published"
        assert rows[slug]["cms_id"] == post["id"]
        assert rows[slug]["url"] == post["url"] == f"{gh.url}/{slug}/"
    summit_id = gh.post("safer-streets-summit-2026")["id"]
    assert f"ghost #{summit_id} {gh.url}/safer-streets-summit-2026/" in site.ok("status")
    page = requests.get(rows["panel-can-community-policing-rebuild-trust"]["url"], timeout=30)
    assert page.status_code == 200
    assert "Panel: can community policing rebuild trust?" in html.unescape(page.text)


def test_publish_again_makes_no_write_calls(site: Site, gh: Ghost) -> None:
    before = gh.writes()
    out = site.ok("publish")
    assert "nothing to do" in out, out
    assert gh.writes() == before


def test_the_newsletter_links_to_the_ghost_url(site: Site, gh: Ghost) -> None:
    slug = "panel-can-community-policing-rebuild-trust"
    site.ok("send", slug, "--yes")
    body = outbox_html(site.root, slug)
    view = re.search(r'class="topbar-link" href="([^"]+)"', body)
    assert view is not None and view.group(1).startswith(f"{gh.url}/{slug}/"), body[:2000]
    # the images come from Ghost's uploads: the mail works without a static site
    images = re.findall(r'<img[^>]* src="([^"]+)"', body)
    assert images and all(src.startswith(f"{gh.url}/content/images/") for src in images), images
    for src in images:  # the email files (at most 1200 px), not the 2400 px masters
        got = requests.get(src, timeout=30)
        assert got.status_code == 200
        assert Image.open(io.BytesIO(got.content)).width <= 1200, src


def test_an_edit_updates_the_post_through_updated_at(site: Site, gh: Ghost) -> None:
    slug = "panel-can-community-policing-rebuild-trust"
    before_post = gh.post(slug)
    path = site.post('title: "Panel: can community policing')
    path.write_text(path.read_text() + "\nA late addition from the organisers.\n")
    before = gh.writes()
    out = site.ok("publish")
    assert re.search(rf"^updated {slug} → ghost", out, re.M), out
    post = gh.post(slug)
    assert post["id"] == before_post["id"]
    assert post["updated_at"] != before_post["updated_at"]
    assert "A late addition from the organisers." in post["html"]
    assert gh.writes()[len(before) :] == [f"PUT /ghost/api/admin/posts/{post['id']}/ 200"]


def test_an_edit_after_someone_else_edited_in_ghost_refetches_once(site: Site, gh: Ghost) -> None:
    slug = "safer-streets-summit-2026"
    post = gh.post(slug)
    # an editor changes the post in Ghost: our stored updated_at is now stale. Ghost
    # keeps updated_at to the second, so an edit in the same second as our publish
    # leaves it as it was (and nothing to detect): edit until it has moved on, each time
    # with other text (Ghost does not touch updated_at for an edit that changes nothing)
    stored = current = post["updated_at"]
    deadline = time.monotonic() + 15
    attempt = 0
    logged = len(gh.writes())
    while current == stored:
        assert time.monotonic() < deadline, "Ghost's updated_at never moved on"
        attempt += 1
        edit = {"custom_excerpt": f"Edited in Ghost ({attempt})", "updated_at": current}
        r = requests.put(
            f"{gh.admin}/posts/{post['id']}/",
            json={"posts": [edit]},
            headers=gh.headers(),
            timeout=30,
        )
        r.raise_for_status()
        current = r.json()["posts"][0]["updated_at"]
        if current == stored:
            time.sleep(0.25)  # wait for Ghost's clock to reach the next second
    # Ghost writes its request log after answering: wait for our edits' lines, so that
    # they are not counted as postpipe's
    while len(gh.writes()) < logged + attempt:
        assert time.monotonic() < deadline + 15, "Ghost never logged the edits"
        time.sleep(0.05)
    path = site.post("slug: safer-streets-summit-2026")
    path.write_text(path.read_text() + "\nCorrection: 431 participants.\n")
    before = gh.writes()
    out = site.ok("publish")
    assert re.search(rf"^updated {slug} → ghost", out, re.M), out
    put = f"PUT /ghost/api/admin/posts/{post['id']}/"
    assert gh.writes()[len(before) :] == [f"{put} 409", f"{put} 200"]
    post = gh.post(slug)
    assert "Correction: 431 participants." in post["html"]
    assert post["custom_excerpt"].startswith("Two days, 430 participants")  # ours again


def test_a_deleted_ledger_finds_the_posts_by_slug(site: Site, gh: Ghost) -> None:
    ids = {slug: gh.post(slug)["id"] for slug in [*SAMPLES, AHEAD]}
    site.drop_ledger()
    before = gh.writes()
    out = site.ok("publish")
    assert "created" not in out, out
    assert {slug: gh.post(slug)["id"] for slug in ids} == ids  # gh.post: exactly one each
    slugs = {p["slug"] for p in gh.posts()}
    assert not {s for s in slugs if re.fullmatch(rf"({'|'.join(ids)})-\d+", s)}  # no slug-2
    assert not [
        w for w in gh.writes()[len(before) :] if w.startswith("POST /ghost/api/admin/posts")
    ]


def test_a_crash_after_the_create_is_found_by_slug(gh: Ghost, tmp_path: Path) -> None:
    slug = "crash-forum-ghost"
    site = make_site(
        tmp_path / "site",
        gh.env(),
        samples=False,
        posts={"crash.md": ahead_post(datetime(2026, 9, 1, tzinfo=UTC), slug=slug)},
    )
    crashed = site.run(
        "publish", env={"POSTPIPE_CMS": "crashing_cms:CrashingGhost", "CRASH_AFTER_CREATE": slug}
    )
    assert crashed.returncode == 137, crashed.stderr
    first = gh.post(slug)  # Ghost has it; the ledger does not
    with sqlite3.connect(site.ledger) as db:
        assert db.execute("SELECT count(*) FROM items WHERE kind='cms'").fetchone()[0] == 0

    out = site.ok("publish")
    assert re.search(rf"^updated {slug} → ghost", out, re.M), out
    assert gh.post(slug)["id"] == first["id"]
    assert f"{slug}-2" not in {p["slug"] for p in gh.posts()}


def test_a_failed_create_keeps_the_uploaded_images(gh: Ghost, tmp_path: Path) -> None:
    slug = "partial-forum-ghost"
    site = make_site(
        tmp_path / "site",
        gh.env(),
        samples=False,
        posts={"partial.md": ahead_post(datetime(2026, 9, 2, tzinfo=UTC), slug=slug)},
    )
    before = gh.writes()
    failed = site.run(
        "publish", env={"POSTPIPE_CMS": "crashing_cms:CrashingGhost", "FAIL_SAVE": slug}
    )
    assert failed.returncode == 1 and "injected" in failed.stdout, failed.stdout
    assert [w for w in gh.writes()[len(before) :] if "/images/upload/" in w]
    assert slug not in {p["slug"] for p in gh.posts()}
    assert site.status()[slug]["last_error"]

    before = gh.writes()
    out = site.ok("publish")
    assert re.search(rf"^created {slug} → ghost", out, re.M), out
    assert gh.writes()[len(before) :] == ["POST /ghost/api/admin/posts/ 201"]  # no re-upload


def test_a_wrong_admin_api_key_is_a_clear_error(gh: Ghost, tmp_path: Path) -> None:
    key_id = gh.key.split(":")[0]
    wrong = f"{key_id}:{'ab' * 32}"
    site = make_site(tmp_path / "site", gh.env(GHOST_ADMIN_API_KEY=wrong))
    before = gh.writes()
    result = site.run("publish")
    assert result.returncode == 1
    assert (
        f"Ghost rejected the Admin API key {key_id} at {gh.url}: check GHOST_ADMIN_API_KEY"
        in result.stdout
    ), result.stdout
    assert "invalid signature" in result.stdout
    assert "ab" * 32 not in result.stdout + result.stderr
    assert gh.writes() == before
    for row in site.status().values():
        assert row["cms_id"] is None and row["post"] in ("unpublished", "draft")

    malformed = site.run("publish", env={"GHOST_ADMIN_API_KEY": "not-a-key"})
    assert malformed.returncode == 1
    assert "GHOST_ADMIN_API_KEY is not an Admin API key" in malformed.stderr + malformed.stdout


def test_a_post_less_than_two_minutes_ahead_is_published_now(gh: Ghost, tmp_path: Path) -> None:
    slug = "soon-forum-ghost"
    soon = datetime.now(UTC) + timedelta(seconds=90)
    site = make_site(
        tmp_path / "site", gh.env(), samples=False, posts={"soon.md": ahead_post(soon, slug=slug)}
    )
    out = site.ok("publish")
    assert "published now" in out, out
    assert gh.post(slug)["status"] == "published"
    assert site.status()[slug]["post"] == "published"


def test_uploaded_camera_photos_carry_no_location_or_serial(gh: Ghost, tmp_path: Path) -> None:
    slug = "camera-walk-ghost"
    site = camera_site(tmp_path / "site", gh.env(), slug)
    out = site.ok("publish")
    assert re.search(rf"^created {slug} → ghost", out, re.M), out
    post = gh.post(slug)
    srcs = re.findall(r'<img[^>]+src="([^"]+)"', post["html"])
    assert len(srcs) == 1 and srcs[0].startswith(f"{gh.url}/content/images/"), srcs
    for url in (post["feature_image"], srcs[0]):
        assert_stored_photo_is_clean(url)

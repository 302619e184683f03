"""``postpipe publish``, ``send SLUG`` and ``status`` through real processes, with
the folder CMS and the fake list API: what is written where, and nothing more.
"""

from __future__ import annotations

import re

import pytest
from sitekit import (
    API,
    NOW,
    Site,
    api_requests,
    at,
    describe,
    news_post,
    sends,
    tree,
)

TOMORROW = at(days=1)
POSTS = {
    "2026-06-08-alpha.md": news_post(
        "alpha",
        title="Safer streets evening: what we heard",
        date="2026-06-08 18:00",
        send_at=TOMORROW,
        extra="tags: [community, policing]",
    ),
    "2026-06-11-beta.md": news_post(
        "beta",
        title="Panel: can we rebuild trust?",
        date="2026-06-11 10:00",
        extra="tags: [community]",
    ),
    "2026-06-12-gamma.md": news_post(
        "gamma",
        title="Trygghetsdagen i Göteborg – så gick det",
        date="2026-06-12 09:00",
        newsletter=False,
        extra="lang: sv\ntags: [göteborg]",
        body="Över hundra personer kom till Järntorget för att prata om trygghet.",
    ),
    "drafts/2026-06-14-delta.md": news_post("delta", date="2026-06-14 09:00", extra="draft: true"),
}


@pytest.fixture
def site(listapi: API, pp_site) -> Site:
    return pp_site(POSTS, api=listapi)


def writes(api: API) -> list[tuple[str, str]]:
    return api_requests(api, writes_only=True)


def campaign_ids(api: API) -> dict[str, int]:
    """``{slug: campaign id}``: a campaign's name is the idempotency key ``<slug>-pp<hash>``."""
    return {c["name"].rsplit("-", 1)[0]: c["id"] for c in api.state()["campaigns"]}


def published(site: Site, listapi: API) -> Site:
    site.ok("publish")
    listapi.control(reset_log=True)
    return site


# ---------------------------------------------------------------------------
# publish


def test_first_publish_creates_posts_and_campaigns(site: Site, listapi: API) -> None:
    out = site.ok("publish")
    lines = out.splitlines()
    for path in ("alpha", "beta", "sv/gamma"):  # gamma is Swedish: under sv/ (issue 15)
        slug = path.removeprefix("sv/")
        assert f"created {slug} → folder https://news.example.org/{path}/" in lines, out
    assert "prepared alpha → fakelist campaign; due 2026-06-16 12:00+00:00" in lines
    assert "prepared beta → fakelist campaign" in lines
    assert not any("gamma → fakelist" in line or "delta" in line for line in lines), out

    # one look and one create per newsletter, nothing sent
    assert (
        sorted(api_requests(listapi)) == [("GET", "/campaigns")] * 2 + [("POST", "/campaigns")] * 2
    )
    assert sends(listapi) == 0
    campaigns = {c["subject"]: c for c in listapi.state()["campaigns"]}
    assert set(campaigns) == {
        "Safer streets evening: what we heard",
        "Panel: can we rebuild trust?",
    }
    assert {c["status"] for c in campaigns.values()} == {"draft"}
    assert all(re.fullmatch(r"(alpha|beta)-pk[0-9a-f]{10}", c["name"]) for c in campaigns.values())

    files = tree(site.public)
    for rel in (
        "alpha/index.html",
        "beta/index.html",
        "sv/gamma/index.html",
        "sv/index.html",
        "sv/feed.xml",
        "index.html",
        "feed.xml",
        "sitemap.xml",
    ):
        assert rel in files
    assert not any(rel.startswith("delta") for rel in files)  # drafts are never published
    assert 'lang="sv"' in (site.public / "sv/gamma/index.html").read_text(encoding="utf-8")


def test_second_publish_without_edits_writes_nothing(site: Site, listapi: API) -> None:
    published(site, listapi)
    before = tree(site.public)

    assert site.ok("publish") == "nothing to do: everything is up to date\n"
    assert writes(listapi) == []
    assert tree(site.public) == before  # no file rewritten (inode and mtime unchanged)


def test_editing_one_post_writes_exactly_its_changes(site: Site, listapi: API) -> None:
    published(site, listapi)
    before = tree(site.public)
    ids = campaign_ids(listapi)
    path = site.root / "posts" / "2026-06-11-beta.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("What happened at beta.", "A fuller summary of the beta panel.").replace(
            "The beta evening", "The beta panel evening"
        ),
        encoding="utf-8",
    )

    out = site.ok("publish")
    assert out.splitlines() == [
        "updated beta → folder https://news.example.org/beta/",
        "prepared beta → fakelist campaign",
    ]
    assert writes(listapi) == [("PUT", f"/campaigns/{ids['beta']}")]
    beta = next(c for c in listapi.state()["campaigns"] if c["id"] == ids["beta"])
    assert "beta panel evening" in beta["text"]

    after = tree(site.public)
    changed = {rel for rel in after if before.get(rel) != after[rel]}
    assert {"beta/index.html", "index.html", "feed.xml"} <= changed
    # besides the post itself only the pages that list it (index, feed, its tag)
    assert changed <= {"beta/index.html", "index.html", "feed.xml", "tags/community/index.html"}
    assert set(after) == set(before)


def test_dry_run_writes_nothing(site: Site, listapi: API) -> None:
    out = site.ok("publish", "--dry-run")
    lines = out.splitlines()
    assert "create alpha → folder" in lines
    assert "create alpha → fakelist campaign (not sent)" in lines
    assert "create gamma → folder" in lines
    assert not site.public.exists()
    assert not site.ledger.exists()
    assert writes(listapi) == []  # it may look (GET), never write

    published(site, listapi)
    before, rows = tree(site.public), site.status()
    beta = site.root / "posts" / "2026-06-11-beta.md"
    beta.write_text(beta.read_text(encoding="utf-8").replace("forty", "fifty"), encoding="utf-8")
    out = site.ok("publish", "--dry-run")
    assert out.splitlines() == [
        "update beta → folder",
        "update beta → fakelist campaign (not sent)",
    ]
    assert writes(listapi) == []
    assert tree(site.public) == before
    assert site.status() == rows


# ---------------------------------------------------------------------------
# send SLUG


def test_send_asks_for_confirmation_then_sends_once(site: Site, listapi: API) -> None:
    published(site, listapi)

    refused = site.run("send", "beta")  # stdin is not a terminal
    assert refused.returncode == 1, describe(refused)
    assert "error: refusing to send without confirmation" in refused.stderr
    assert "--yes" in refused.stderr
    assert "Send 'Panel: can we rebuild trust?'" in refused.stdout  # what it would send
    assert sends(listapi) == 0
    assert writes(listapi) == []
    assert site.status()["beta"]["newsletter"] == "prepared"

    out = site.ok("send", "beta", "--yes")
    assert re.search(r"^sent   beta → fakelist \(\d+\)$", out, re.M), out
    assert sends(listapi) == 1
    assert site.status()["beta"]["newsletter"] == "sent"

    again = site.ok("send", "beta", "--yes")
    assert "already sent 2026-06-15 12:00+00:00" in again
    assert sends(listapi) == 1
    sends_posted = [p for m, p in api_requests(listapi) if m == "POST" and p.endswith("/send")]
    assert len(sends_posted) == 1  # the second run did not even try


def test_send_test_copy_leaves_the_send_state_alone(site: Site, listapi: API) -> None:
    published(site, listapi)
    rows = site.status()
    ids = campaign_ids(listapi)

    out = site.ok("send", "alpha", "--test", "a@example.org")
    assert out == "test   alpha → a@example.org via fakelist\n"
    assert listapi.state()["tests"] == [{"campaign": ids["alpha"], "email": "a@example.org"}]
    assert ("POST", f"/campaigns/{ids['alpha']}/test") in writes(listapi)
    assert sends(listapi) == 0
    assert site.status() == rows  # still scheduled, nothing recorded

    # a test copy of a newsletter that was already sent is fine too
    site.ok("send", "beta", "--yes")
    site.ok("send", "beta", "--test", "b@example.org")
    assert listapi.state()["tests"][-1] == {"campaign": ids["beta"], "email": "b@example.org"}
    assert sends(listapi) == 1
    assert site.status()["beta"]["newsletter"] == "sent"


# ---------------------------------------------------------------------------
# errors


WRONG_TOKEN = "wrong-secret-token-91b2f"


@pytest.mark.parametrize(
    "args",
    [
        ("publish",),
        ("send", "beta", "--yes"),
        ("send", "beta", "--test", "a@example.org"),
        ("send", "--due"),
    ],
    ids=["publish", "send", "send-test", "send-due"],
)
def test_a_wrong_token_fails_clearly_and_is_never_printed(
    listapi: API, pp_site, args: tuple[str, ...]
) -> None:
    posts = {**POSTS, "2026-06-11-beta.md": news_post("beta", send_at=at(minutes=-5))}
    site = pp_site(posts, api=listapi, env={"FAKELIST_TOKEN": WRONG_TOKEN})
    result = site.run(*args)
    output = result.stdout + result.stderr
    assert result.returncode == 1, describe(result)
    assert "HTTP 401 Unauthorized: bad token" in output
    assert "check the credentials for this service" in output
    assert "Traceback" not in output
    assert WRONG_TOKEN not in output
    assert listapi.token not in output
    assert sends(listapi) == 0
    # nothing else went to the provider than the refused calls
    assert {r["status"] for r in listapi.state()["requests"]} == {401}
    if args[0] == "send" and "--test" not in args:
        row = site.status()["beta"]
        assert row["newsletter"] != "sent"
        assert "HTTP 401" in row["last_error"]
        assert WRONG_TOKEN not in row["last_error"]


def test_publish_goes_on_after_a_list_error(listapi: API, pp_site) -> None:
    """A provider error on one newsletter is reported and recorded; the run goes on
    (every post published, index and feed refreshed) and exits 1."""
    site = pp_site(POSTS, api=listapi, env={"FAKELIST_TOKEN": WRONG_TOKEN})
    result = site.run("publish")
    assert result.returncode == 1, describe(result)
    lines = result.stdout.splitlines()
    assert "created gamma → folder https://news.example.org/sv/gamma/" in lines
    assert sum(line.startswith("error  ") and "→ fakelist" in line for line in lines) == 2
    assert (site.public / "index.html").is_file()
    assert (site.public / "feed.xml").is_file()
    rows = site.status()
    assert "HTTP 401" in rows["alpha"]["last_error"]
    assert "HTTP 401" in rows["beta"]["last_error"]
    assert rows["gamma"]["last_error"] is None

    # with the right token the next publish prepares both campaigns
    out = site.ok("publish", env={"FAKELIST_TOKEN": listapi.token})
    assert "prepared alpha → fakelist campaign; due 2026-06-16 12:00+00:00" in out
    assert "prepared beta → fakelist campaign" in out
    rows = site.status()
    assert (rows["beta"]["newsletter"], rows["beta"]["last_error"]) == ("prepared", None)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("mailchimpp", "POSTPIPE_LIST='mailchimpp' is not valid"),
        ("carrier-pigeon", "POSTPIPE_LIST='carrier-pigeon' is not valid: expected one of: "),
        ("no_such_module:Target", "cannot load the list target 'no_such_module:Target'"),
    ],
)
def test_an_unknown_list_target_is_a_clear_error(pp_site, value: str, message: str) -> None:
    site = pp_site(POSTS, env={"POSTPIPE_LIST": value})
    result = site.run("publish")
    assert result.returncode == 1, describe(result)
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {message}")
    assert "Traceback" not in result.stderr
    if value == "mailchimpp":
        assert "did you mean 'mailchimp'?" in result.stderr
    else:
        assert "hint: " in result.stderr
    assert not site.public.exists()


# ---------------------------------------------------------------------------
# status


def test_status_before_and_after_publishing(site: Site, listapi: API) -> None:
    rows = site.status()
    assert set(rows) == {"alpha", "beta", "gamma", "delta"}
    assert {s: r["post"] for s, r in rows.items()} == {
        "alpha": "unpublished",
        "beta": "unpublished",
        "gamma": "unpublished",
        "delta": "draft",
    }
    assert rows["alpha"]["newsletter"] == "scheduled"  # send_at ahead
    assert rows["beta"]["newsletter"] == "not prepared"
    assert rows["gamma"]["newsletter"] == "none"
    assert not site.ledger.exists()  # status writes nothing

    site.ok("publish")
    site.ok("send", "beta", "--yes")
    rows = site.status()
    assert rows["alpha"] == {
        "slug": "alpha",
        "title": "Safer streets evening: what we heard",
        "date": "2026-06-08T18:00:00+00:00",
        "post": "published",
        "cms": "folder",
        "cms_id": "alpha",
        "url": "https://news.example.org/alpha/",
        "newsletter": "scheduled",
        "list": "fakelist",
        "send_at": TOMORROW,
        "sent_at": None,
        "last_error": None,
    }
    assert (rows["beta"]["newsletter"], rows["beta"]["sent_at"]) == ("sent", NOW.isoformat())
    assert (rows["gamma"]["post"], rows["gamma"]["newsletter"]) == ("published", "none")
    assert (rows["delta"]["post"], rows["delta"]["cms_id"]) == ("draft", None)

    text = site.ok("status").splitlines()
    assert text[0].split() == ["POST", "STATE", "NEWSLETTER", "WHERE"]
    table = {line.split()[0]: line.split()[1:] for line in text[1:]}
    assert table["alpha"] == [
        "published",
        "scheduled",
        "2026-06-16",
        "12:00",
        "https://news.example.org/alpha/",
    ]
    assert table["beta"] == [
        "published",
        "sent",
        "2026-06-15",
        "12:00",
        "https://news.example.org/beta/",
    ]
    assert table["gamma"] == ["published", "none", "https://news.example.org/sv/gamma/"]
    assert table["delta"] == ["draft", "not", "prepared"]

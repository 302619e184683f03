"""A broken post is left out of ``publish`` and ``send --due`` and named (exit 1);
it never holds up another post. ``build`` and ``check`` stay all-or-nothing.
``status`` reads the site and the ledger and needs no credentials. Real
``postpipe`` processes (and ``send --due`` in process, to count the post files
it reads).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sitekit import API, NOW, Site, at, base_env, describe, news_post, outbox_sends, sends

from postpipe.config import load_settings
from postpipe.publish import run

#: a draft with a front matter typo on line 2 (``tittle:`` for ``title:``)
TYPO = (
    "---\ntittle: Notes for the next meeting\ndate: 2026-06-20 10:00\ndraft: true\n---\n\nText.\n"
)


def _named(output: str) -> None:
    """The broken post is named with path:line, the message and the hint."""
    assert "posts/typo.md:2: unknown front matter key 'tittle'" in output
    assert "hint: did you mean 'title'?" in output


@pytest.fixture(params=["fakelist", "outbox"])
def api(request: pytest.FixtureRequest) -> API | None:
    return request.getfixturevalue("listapi") if request.param == "fakelist" else None


def test_send_due_sends_the_due_newsletter_despite_a_broken_post(api: API | None, pp_site) -> None:  # type: ignore[no-untyped-def]
    site: Site = pp_site(
        {"alpha.md": news_post("alpha", send_at=at(hours=-1)), "typo.md": TYPO}, api=api
    )
    result = site.run("send", "--due")
    assert result.returncode == 1, describe(result)
    assert "sent   alpha" in result.stdout, describe(result)
    _named(result.stdout)
    assert (sends(api) if api is not None else len(outbox_sends(site.root))) == 1
    assert site.status()["alpha"]["newsletter"] == "sent"
    # the next minute: nothing sent again, the broken post is still named
    again = site.run("send", "--due")
    assert again.returncode == 1 and "sent   alpha" not in again.stdout, describe(again)
    _named(again.stdout)
    assert (sends(api) if api is not None else len(outbox_sends(site.root))) == 1


def test_send_due_quiet_still_names_the_broken_post(pp_site) -> None:  # type: ignore[no-untyped-def]
    site = pp_site({"alpha.md": news_post("alpha", send_at=at(hours=-1)), "typo.md": TYPO})
    result = site.run("send", "--due", "-q")
    assert result.returncode == 1 and result.stdout == "", describe(result)
    _named(result.stderr)
    assert len(outbox_sends(site.root)) == 1


def test_publish_publishes_the_good_posts_and_names_the_broken_one(pp_site) -> None:  # type: ignore[no-untyped-def]
    site = pp_site(
        {
            "a.md": news_post("a", newsletter=False),
            "b.md": news_post("b", date="2026-06-11 10:00"),
            "typo.md": TYPO.replace("draft: true\n", ""),
        }
    )
    result = site.run("publish")
    assert result.returncode == 1, describe(result)
    _named(result.stdout)
    assert "skip   posts/typo.md" in result.stdout
    assert (site.public / "a" / "index.html").is_file()
    assert (site.public / "b" / "index.html").is_file()
    rows = site.status()
    assert rows["a"]["post"] == rows["b"]["post"] == "published"
    assert rows["b"]["newsletter"] == "prepared"
    assert rows["posts/typo.md"]["post"] == "invalid"


def test_a_duplicate_slug_is_named_and_left_out(pp_site) -> None:  # type: ignore[no-untyped-def]
    site = pp_site({"a.md": news_post("a"), "dup.md": news_post("a", title="Another")})
    result = site.run("publish", "a")
    assert result.returncode == 0, describe(result)  # the first file owns the slug
    assert (site.public / "a" / "index.html").is_file()
    result = site.run("publish")
    assert result.returncode == 1, describe(result)
    assert "posts/dup.md:3: slug 'a' is already used by posts/a.md" in result.stdout


def test_build_and_check_stay_all_or_nothing(pp_site) -> None:  # type: ignore[no-untyped-def]
    site = pp_site({"a.md": news_post("a"), "typo.md": TYPO})
    result = site.run("build")
    assert result.returncode == 1, describe(result)
    _named(result.stderr)
    assert "nothing was written" in result.stderr
    assert not (site.root / "build").exists()
    result = site.run("build", "--drafts")
    assert result.returncode == 1 and not (site.root / "build").exists(), describe(result)
    result = site.run("check")
    assert result.returncode == 1, describe(result)
    _named(result.stderr)
    assert result.stdout.startswith("Checked 2 posts: 2 errors"), describe(result)


def test_status_needs_no_credentials(pp_site) -> None:  # type: ignore[no-untyped-def]
    site = pp_site({"alpha.md": news_post("alpha", send_at=at(hours=-1))})
    assert "sent   alpha" in site.ok("send", "--due")
    # Mailchimp without MAILCHIMP_API_KEY: status reads the ledger and the site all the same
    env = {"POSTPIPE_LIST": "mailchimp"}
    result = site.run("status", "--json", env=env)
    assert result.returncode == 0 and result.stderr == "", describe(result)
    [row] = json.loads(result.stdout)
    assert (row["slug"], row["post"], row["cms"]) == ("alpha", "published", "folder")
    assert (row["list"], row["newsletter"]) == ("mailchimp", "not prepared")
    assert row["url"] and (site.public / "alpha" / "index.html").is_file()
    plain = site.run("status", env={**env, "POSTPIPE_CMS": "wordpress"})
    assert plain.returncode == 0 and plain.stderr == "", describe(plain)
    assert plain.stdout.splitlines()[1].startswith("alpha")
    # the outbox rows are still there
    assert site.status()["alpha"]["newsletter"] == "sent"
    # a command that reaches the provider still asks for the key
    refused = site.run("send", "--due", env=env)
    assert refused.returncode == 1 and "MAILCHIMP_API_KEY" in refused.stderr, describe(refused)


def test_send_due_reads_each_post_file_once(tmp_path: Path) -> None:
    root = tmp_path / "site"
    (root / "posts").mkdir(parents=True)
    posts = {
        "alpha.md": news_post("alpha", send_at=at(hours=-1)),
        "beta.md": news_post("beta", date="2026-06-12 10:00", send_at=at(days=2)),
        "gamma.md": news_post("gamma", date="2026-06-13 10:00", newsletter=False),
        "typo.md": TYPO,
    }
    for name, text in posts.items():
        (root / "posts" / name).write_text(text, encoding="utf-8")
    env = {k: v for k, v in base_env(tmp_path).items() if k.startswith("POSTPIPE_")}
    settings = load_settings(root, environ=env)
    lines: list[str] = []
    report = run(settings, lambda p: p.send_due(), now=NOW, say=lines.append)
    assert any(line.startswith("sent   alpha") for line in lines), lines
    assert report.failures == 1  # the broken post
    assert report.posts_read == len(posts)  # every file once: not once per stage
    # the next run reads only the file the render cache cannot hold (the broken one)
    report = run(settings, lambda p: p.send_due(), now=NOW, say=lines.append)
    assert report.posts_read == 1

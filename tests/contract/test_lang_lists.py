"""Each language's newsletter goes to that language's list (issue 15, DESIGN §3):
``postpipe publish`` on a Swedish/English pair plus an English-only post, against
the fake of each HTTP provider. The list variable with ``_SV`` appended routes the
Swedish edition; the others keep the plain variable; a post's own
``newsletter.list`` wins over both."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from listkit import Harness

NOW = "2026-05-04T10:00:00+00:00"


def post(slug: str, lang: str, key: str | None, own_list: str | None = None) -> str:
    return (
        f"---\ntitle: Post {slug}\nslug: {slug}\ndate: 2026-04-20 09:00\nlang: {lang}\n"
        + (f"translation_key: {key}\n" if key else "")
        + f"summary: About {slug}.\nnewsletter:\n  subject: News {slug}\n"
        + (f"  list: '{own_list}'\n" if own_list else "")
        + "---\n\nForty neighbours came.\n"
    )


def publish(h: Harness, root: Path, posts: dict[str, str], **env: str) -> None:
    result = run_publish(h, root, posts, **env)
    assert result.returncode == 0, result.stdout + result.stderr


def run_publish(
    h: Harness, root: Path, posts: dict[str, str], **env: str
) -> subprocess.CompletedProcess[str]:
    for name, text in posts.items():
        (root / "posts").mkdir(parents=True, exist_ok=True)
        (root / "posts" / name).write_text(text, encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("POSTPIPE_")}
    environ.update(h.env, POSTPIPE_NOW=NOW, PYTHONUTF8="1", **env)
    result = subprocess.run(
        [sys.executable, "-m", "postpipe", "publish", "--root", str(root)],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result


def audience(h: Harness, slug: str) -> Any:
    """The list (or tag) the provider has for the campaign of ``slug``."""
    f = h.fake
    if h.name == "mailchimp":
        [c] = [c for c in f.campaigns.values() if c["settings"]["subject_line"] == f"News {slug}"]
        return c["recipients"]["list_id"]
    if h.name == "listmonk":
        [c] = [c for c in f.campaigns.values() if c["subject"] == f"News {slug}"]
        return [x["id"] for x in c["lists"]]
    if h.name == "brevo":
        [c] = [c for c in f.campaigns.values() if c["subject"] == f"News {slug}"]
        return c["recipients"]["listIds"]
    [e] = [e for e in f.emails.values() if e["subject"] == f"News {slug}"]
    return [f.tags[x["value"]] for x in e["filters"]["filters"]]  # by id; the names, to compare


#: provider → (fake options, the Swedish list variable and value, what the fake
#: then has for sv, for en (the plain variable), for a post's own list)
CASES: dict[str, tuple[dict[str, Any], dict[str, str], Any, Any]] = {
    "mailchimp": (
        {"lists": ("a1b2c3d4e5", "svlist0001")},
        {"MAILCHIMP_LIST_ID_SV": "svlist0001"},
        "svlist0001",
        "a1b2c3d4e5",
    ),
    "listmonk": (
        {"lists": {3: ["ann@example.org"], 4: ["bo@example.org"]}},
        {"LISTMONK_LIST_IDS_SV": "4", "LISTMONK_LIST_IDS": "3"},
        [4],
        [3],
    ),
    "brevo": ({"lists": (7, 8)}, {"BREVO_LIST_IDS_SV": "8", "BREVO_LIST_IDS": "7"}, [8], [7]),
    "buttondown": (
        {"tags": ("english", "svenska")},
        {"BUTTONDOWN_TAG_SV": "svenska", "BUTTONDOWN_TAG": "english"},
        ["svenska"],
        ["english"],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_language_goes_to_its_own_list(make_harness, tmp_path: Path, name: str) -> None:
    options, env, sv_list, en_list = CASES[name]
    h = make_harness(name, **options)
    posts = {
        "sv.md": post("inbjudan", "sv", "day"),
        "en.md": post("invitation", "en", "day"),
        "only.md": post("notes", "en", None),
    }
    publish(h, tmp_path / "site", posts, **env)
    assert audience(h, "inbjudan") == sv_list
    assert audience(h, "invitation") == en_list
    assert audience(h, "notes") == en_list


def test_a_posts_own_list_wins_over_the_language_list(make_harness, tmp_path: Path) -> None:
    h = make_harness("mailchimp", lists=("a1b2c3d4e5", "svlist0001", "ownlist001"))
    posts = {"sv.md": post("inbjudan", "sv", "day", own_list="ownlist001")}
    publish(h, tmp_path / "site", posts, MAILCHIMP_LIST_ID_SV="svlist0001")
    assert audience(h, "inbjudan") == "ownlist001"


def test_buttondown_tags_go_by_id(make_harness, tmp_path: Path) -> None:
    """Buttondown's audience filter takes a tag's id, never its name: a name is looked
    up (past the first page of tags), an id is used as it is, an unknown name stops that
    post with the name and a hint, and no email is created for it."""
    names = tuple(f"tag{i}" for i in range(1000)) + ("svenska",)
    h = make_harness("buttondown", tags=names)
    sv_id = next(i for i, n in h.fake.tags.items() if n == "svenska")
    publish(h, tmp_path / "a", {"sv.md": post("inbjudan", "sv", None)}, BUTTONDOWN_TAG_SV="svenska")
    [e] = h.fake.emails.values()
    assert e["filters"]["filters"][0]["value"] == sv_id
    publish(h, tmp_path / "b", {"sv.md": post("kallelse", "sv", None)}, BUTTONDOWN_TAG_SV=sv_id)
    assert audience(h, "kallelse") == ["svenska"]
    before = len(h.fake.emails)
    result = run_publish(
        h, tmp_path / "c", {"sv.md": post("okand", "sv", None)}, BUTTONDOWN_TAG_SV="finska"
    )
    assert result.returncode == 1
    assert "Buttondown has no subscriber tag named 'finska'" in result.stdout + result.stderr
    assert "Subscribers → Tags" in result.stdout + result.stderr
    assert len(h.fake.emails) == before

"""Long titles, dates at the ends of the calendar, ``send_at`` before ``date`` and
symbol tags, through ``postpipe`` processes (issue 10: items 6, 7, 9, 10)."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

FAKES = Path(__file__).resolve().parents[1] / "fakes"
if str(FAKES) not in sys.path:  # clikit, the shared CLI-process helper
    sys.path.insert(0, str(FAKES))

from clikit import cli_env, run_postpipe  # noqa: E402
from clikit import output as out  # noqa: E402

pytestmark = pytest.mark.cli

NOW = "2026-05-04T10:00:00+00:00"
ENV = {
    "POSTPIPE_SITE_URL": "https://news.example.org",
    "POSTPIPE_SITE_TITLE": "Test site",
    "POSTPIPE_TIMEZONE": "UTC",
    "POSTPIPE_FROM_EMAIL": "news@example.org",
}
LONG_TITLE = " ".join(f"Neighbourhood{i}" for i in range(25))  # 364 characters


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_postpipe(*args, root=root, env=cli_env(root, NOW, **ENV))


def post(front: str) -> str:
    return f"---\n{front}---\n\nA first paragraph.\n"


GOOD = post("title: Good news\ndate: 2026-01-01\nsummary: Fine.\n")


def site(tmp_path: Path, posts: dict[str, str]) -> Path:
    root = tmp_path / "site"
    (root / "posts").mkdir(parents=True)
    for name, text in posts.items():
        (root / "posts" / name).write_text(text, encoding="utf-8")
    return root


def written(root: Path) -> list[str]:
    """Everything a run left outside posts/ (state, build and public folders)."""
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not p.relative_to(root).as_posix().startswith("posts/")
    )


# ---------------------------------------------------------------------------
# item 6: long titles


def test_a_long_title_builds_publishes_and_sends(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        {
            "long.md": post(
                f'title: "{LONG_TITLE}"\ndate: 2026-01-01\nsummary: Long.\n'
                "newsletter:\n  subject: Long\n"
                "  preheader: A preheader of a sensible length for the inbox line\n"
            )
        },
    )
    result = run(root, "build")
    assert result.returncode == 0, out(result)
    [page] = [p for p in (root / "build/site").iterdir() if p.name.startswith("neighbourhood0-")]
    assert len(page.name) <= 200 and page.name.endswith(tuple("0123456789"))
    assert (page / "index.html").is_file()

    result = run(root, "check")
    assert result.returncode == 0, out(result)
    assert f"posts/long.md:2: warning: the slug has {len(page.name)} characters" in out(result)
    assert "set slug: in the front matter" in out(result)

    result = run(root, "publish")
    assert result.returncode == 0, out(result)
    assert (root / "public" / page.name / "index.html").is_file()
    result = run(root, "send", "--yes", page.name)
    assert result.returncode == 0, out(result)
    [eml] = (root / "outbox").glob("*.eml")
    assert len(eml.name.encode()) < 255 and page.name in eml.name


def test_new_with_a_long_title_writes_a_file_name_under_255_bytes(tmp_path: Path) -> None:
    root = tmp_path / "site"
    root.mkdir()
    title = "Trygghetsvandring " * 30
    result = run(root, "new", title)
    assert result.returncode == 0, out(result)
    [path] = (root / "posts").glob("*.md")
    assert len(path.name.encode()) < 255
    assert path.name.startswith("2026-05-04-trygghetsvandring-trygghetsvandring-")
    result = run(root, "check")
    assert result.returncode == 0, out(result)


def test_an_explicit_slug_over_200_characters_stops_build(tmp_path: Path) -> None:
    root = site(tmp_path, {"a.md": post(f"title: A\ndate: 2026-01-01\nslug: {'ab-' * 80}ab\n")})
    result = run(root, "build")
    assert result.returncode == 1, out(result)
    assert "posts/a.md:4: 'slug' has 242 characters, more than 200" in out(result)
    assert "Traceback" not in out(result)
    assert written(root) == []


# ---------------------------------------------------------------------------
# item 7: dates


@pytest.mark.parametrize("command", ["build", "publish"])
@pytest.mark.parametrize(
    ("front", "line", "year"),
    [
        ("date: 9999-12-31T23:59-05:00\n", 3, 9999),
        ("date: 0001-01-01T00:00+05:00\n", 3, 1),
        ("date: 2026-01-01\nevent:\n  name: E\n  start: 0001-01-01T00:00+05:00\n", 6, 1),
        (
            "date: 2026-01-01\nevent:\n  name: E\n  start: 2026-01-01\n"
            "  end: 9999-12-31T23:59-05:00\n",
            7,
            9999,
        ),
        (
            "date: 2026-01-01\nnewsletter:\n  subject: S\n  send_at: 9999-12-31T23:59-05:00\n",
            6,
            9999,
        ),
    ],
    ids=["date-9999", "date-0001", "event.start", "event.end", "send_at"],
)
def test_dates_out_of_range_stop_the_run_before_anything_is_written(
    tmp_path: Path, command: str, front: str, line: int, year: int
) -> None:
    root = site(tmp_path, {"good.md": GOOD, "bad.md": post(f"title: Bad\n{front}summary: B.\n")})
    result = run(root, command)
    text = out(result)
    assert result.returncode == 1, text
    assert f"posts/bad.md:{line}: " in text
    assert f"is in the year {year}, outside 1900–2200" in text
    assert "hint: check the year" in text
    assert "Traceback" not in text
    assert not (root / "build").exists()  # build is all-or-nothing
    # publish leaves the broken post out and goes on with the good one
    assert not (root / "public" / "bad").exists()
    if command == "publish":
        assert (root / "public" / "good-news" / "index.html").is_file()
        assert "Bad" not in (root / "public" / "index.html").read_text(encoding="utf-8")
    else:
        assert not (root / "public").exists()


def test_boundary_dates_build_and_publish_with_a_valid_feed(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        {
            "late.md": post(
                "title: Late\ndate: 2200-12-31T23:59-12:00\nsummary: L.\nevent:\n  name: E\n"
                "  start: 2200-12-31T23:59-12:00\n  end: 2200-12-31T23:59-12:00\n"
            ),
            "early.md": post(
                "title: Early\ndate: 1900-01-01T00:00+14:00\nsummary: E.\nevent:\n  name: E\n"
                "  start: 1900-01-01T00:00+14:00\n  end: 2200-12-31T23:59-12:00\n"
                "newsletter:\n  subject: Early\n"
                "  preheader: A preheader of a sensible length for the inbox line\n"
                "  send_at: 1900-01-01T00:00+14:00\n"
            ),
        },
    )
    for command in ("check", "build", "publish"):
        result = run(root, command)
        assert result.returncode == 0, out(result)
        assert "Traceback" not in out(result)
    # build shows every post; publish waits for the date of the late one
    for folder, newest in (
        ("build/site", "2201-01-01T11:59:00Z"),
        ("public", "1899-12-31T10:00:00Z"),
    ):
        feed = ET.parse(root / folder / "feed.xml").getroot()
        assert feed.findtext("{http://www.w3.org/2005/Atom}updated") == newest
        ET.parse(root / folder / "sitemap.xml")
    assert (root / "public/early/index.html").is_file()
    result = run(root, "status")
    assert result.returncode == 0, out(result)


# ---------------------------------------------------------------------------
# item 9: send_at before date


@pytest.mark.parametrize("command", ["check", "publish"])
def test_send_at_before_date_is_an_error_at_its_line(tmp_path: Path, command: str) -> None:
    root = site(
        tmp_path,
        {
            "good.md": GOOD,
            "a.md": post(
                "title: A\ndate: 2026-06-10 10:00\nsummary: A.\nnewsletter:\n  subject: S\n"
                "  send_at: 2026-06-09T08:00:00+00:00\n"
            ),
        },
    )
    result = run(root, command)
    text = out(result)
    assert result.returncode == 1, text
    assert "posts/a.md:7: 'newsletter.send_at' (2026-06-09T08:00:00+00:00) is before" in text
    assert "hint: a newsletter cannot go out before its post is published" in text
    assert "Traceback" not in text
    assert not (root / "public" / "a").exists() and not (root / "outbox").exists()


# ---------------------------------------------------------------------------
# item 10: symbol tags and tags as written


def test_symbol_and_number_like_tags_get_their_own_pages(tmp_path: Path) -> None:
    root = site(
        tmp_path,
        {
            "a.md": post(
                "title: Languages\ndate: 2026-01-01\nsummary: L.\n"
                "tags: [C++, C#, C, 0x1F, '31', yes]\n"
            )
        },
    )
    result = run(root, "build")
    assert result.returncode == 0, out(result)
    tags = root / "build/site/tags"
    assert sorted(p.name for p in tags.iterdir()) == [
        "0x1f",
        "31",
        "c",
        "c-plus-plus",
        "c-sharp",
        "yes",
    ]
    for name in ("c", "c-plus-plus", "c-sharp"):
        assert (tags / name / "index.html").read_text(encoding="utf-8").count(
            'href="/languages/"'
        ) == 1
    page = (root / "build/site/languages/index.html").read_text(encoding="utf-8")
    assert ">0x1F</a>" in page and ">yes</a>" in page

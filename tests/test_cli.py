"""The command line, through real subprocesses (``python -m postpipe``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from postpipe.cli import build_parser
from postpipe.config import FIELDS

pytestmark = pytest.mark.cli

NOW = "2026-05-04T10:00:00+00:00"


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without any postpipe setting, plus ``extra``."""
    names = {f.env for f in FIELDS}
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("POSTPIPE_") and k not in names}
    env.update(PYTHONUTF8="1", PYTHONIOENCODING="utf-8", POSTPIPE_NOW=NOW, **extra)
    return env


def run(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "postpipe", *args], cwd=cwd,
                          env=clean_env(**env), capture_output=True, text=True,
                          encoding="utf-8", timeout=120)


def output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def commands() -> list[str]:
    parser = build_parser()
    [sub] = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return sorted(sub.choices)


# ---------------------------------------------------------------------------
# usage


def test_top_level_help():
    result = run("--help")
    assert result.returncode == 0, output(result)
    assert "usage: postpipe" in result.stdout
    for name in ("new", "build", "check"):
        assert name in result.stdout


@pytest.mark.parametrize("command", commands())
def test_command_help(command):
    result = run(command, "--help")
    assert result.returncode == 0, output(result)
    assert f"usage: postpipe {command}" in result.stdout
    assert "--root" in result.stdout


def test_unknown_command_is_a_usage_error():
    result = run("frobnicate")
    assert result.returncode == 2
    assert "usage:" in result.stderr
    assert "Traceback" not in output(result)


def test_no_command_is_a_usage_error():
    result = run()
    assert result.returncode == 2
    assert "Traceback" not in output(result)


def test_unknown_option_is_a_usage_error(sample_site):
    result = run("build", "--nope", "--root", str(sample_site))
    assert result.returncode == 2
    assert "Traceback" not in output(result)


def test_version():
    result = run("--version")
    assert result.returncode == 0
    assert re.match(r"postpipe \d+\.\d+", result.stdout)


# ---------------------------------------------------------------------------
# check


TITTLE = "---\ntittle: Safer Streets\ndate: 2026-01-01\n---\n\nBody.\n"


def test_check_samples_passes(sample_site):
    result = run("check", "--root", str(sample_site))
    assert result.returncode == 0, output(result)
    assert "0 errors" in result.stdout


def test_check_reports_front_matter_errors_without_traceback(sample_site):
    bad = sample_site / "posts/2026-12-01-bad.md"
    bad.write_text(TITTLE, encoding="utf-8")
    result = run("check", "--root", str(sample_site))
    text = output(result)
    assert result.returncode == 1, text
    assert "posts/2026-12-01-bad.md:2: unknown front matter key 'tittle'" in text
    assert "hint: did you mean 'title'?" in text
    assert "Traceback" not in text


def test_check_in_the_current_directory(sample_site):
    (sample_site / "posts/bad.md").write_text(TITTLE, encoding="utf-8")
    result = run("check", cwd=sample_site)
    assert result.returncode == 1
    assert "posts/bad.md:2:" in output(result)


def test_check_strict_fails_on_warnings(make_site):
    root = make_site({"a.md": "---\ntitle: No summary\ndate: 2026-01-01\n---\n\nBody.\n"})
    assert run("check", "--root", str(root)).returncode == 0
    result = run("check", "--strict", "--root", str(root))
    assert result.returncode == 1, output(result)
    assert "summary" in output(result)


def test_bad_configuration_is_a_user_error(sample_site):
    result = run("check", "--root", str(sample_site), POSTPIPE_SITE_URL="notaurl")
    assert result.returncode == 1
    assert "POSTPIPE_SITE_URL" in output(result)
    assert "Traceback" not in output(result)


# ---------------------------------------------------------------------------
# build


def test_build_samples(sample_site):
    result = run("build", cwd=sample_site)
    assert result.returncode == 0, output(result)
    assert re.search(r"Built 5 posts into build/site/?", result.stdout), result.stdout
    assert re.search(r"4 newsletters into build/newsletters/?", result.stdout), result.stdout
    assert "draft" in result.stdout  # the draft was left out, and it says so
    assert (sample_site / "build/site/index.html").is_file()
    assert (sample_site / "build/site/feed.xml").is_file()
    assert len(list((sample_site / "build/newsletters").glob("*.html"))) == 4
    assert (sample_site / "build/site/sv/feed.xml").is_file()  # the Swedish posts' own feed


def test_build_out_and_drafts(sample_site, tmp_path):
    out = tmp_path / "elsewhere"
    result = run("build", "--root", str(sample_site), "--out", str(out), "--drafts")
    assert result.returncode == 0, output(result)
    assert (out / "site/volunteer-evening-thank-you/index.html").is_file()
    assert not (sample_site / "build").exists()


def test_build_on_bad_input_writes_nothing(sample_site):
    (sample_site / "posts/bad.md").write_text(TITTLE, encoding="utf-8")
    result = run("build", cwd=sample_site)
    text = output(result)
    assert result.returncode == 1, text
    assert "posts/bad.md:2: unknown front matter key 'tittle'" in text
    assert "Traceback" not in text
    assert not (sample_site / "build").exists()


def test_build_template_error_is_a_user_error(sample_site):
    (sample_site / "templates/blog").mkdir(parents=True)
    (sample_site / "templates/blog/post.html").write_text(
        '{% extends "blog/base.html" %}\n{% block content %}{{ nope }}{% endblock %}\n',
        encoding="utf-8")
    result = run("build", cwd=sample_site)
    assert result.returncode == 1
    assert "post.html" in output(result)
    assert "Traceback" not in output(result)
    assert not (sample_site / "build").exists()


# ---------------------------------------------------------------------------
# new


def test_new_post_passes_check_and_refuses_to_overwrite(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    title = "Trygghetsdagen i Göteborg: what's next?"
    result = run("new", title, "--root", str(root))
    assert result.returncode == 0, output(result)
    printed = result.stdout.strip().splitlines()[-1]
    assert printed.endswith("posts/2026-05-04-trygghetsdagen-i-goteborg-what-s-next.md")
    path = root / printed if not Path(printed).is_absolute() else Path(printed)
    assert path.is_file()
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    for key in ("title", "date", "summary", "tags", "image", "event", "speakers", "newsletter",
                "send_at"):
        assert key in text, key

    check = run("check", "--root", str(root))
    assert check.returncode == 0, output(check)

    again = run("new", title, "--root", str(root))
    assert again.returncode == 1
    assert "already exists" in output(again)
    assert "Traceback" not in output(again)
    assert path.read_text(encoding="utf-8") == text


@pytest.mark.parametrize("title", [
    'Panel: "can #policing rebuild trust?" – ja!',
    "Windows paths: C:\\temp and \\n are not escapes",
])
def test_new_post_title_is_kept(tmp_path, title):
    from zoneinfo import ZoneInfo

    from postpipe.content import load_posts

    result = run("new", title, "--root", str(tmp_path))
    assert result.returncode == 0, output(result)
    posts, errors = load_posts(tmp_path, tz=ZoneInfo("UTC"))
    assert errors == []
    [post] = posts
    assert post.title == title
    assert post.draft is True


def test_new_with_an_empty_slug_is_a_user_error(tmp_path):
    result = run("new", "!!!", "--root", str(tmp_path))
    assert result.returncode == 1
    assert "Traceback" not in output(result)

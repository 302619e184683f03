"""Stable rule ids and ``postpipe check --json`` (issue 14)."""

from __future__ import annotations

import json
import shutil

from gatekit import ENV, REPO, findings, post_text, run, write

from postpipe.checks import ERROR, INFO, WARNING, Finding, has_errors
from postpipe.checks.base import LEVELS


def test_every_finding_has_a_rule_id(tmp_path):
    body = ("Intro.\n\n![](images/nope.png)\n\n[old](http://example.com/x) and "
            "[gone](missing.md)\n")
    front = "title: T\ndate: 2026-01-01\nnewsletter:\n  subject: T\n  preheader: ''\n"
    out = findings(tmp_path, body, front=front)
    rules = {f.rule for f in out}
    assert {"missing-image", "missing-alt", "http-link", "broken-link", "no-summary",
            "preheader-length"} <= rules
    assert all(f.rule and f.level in LEVELS and f.post == "t" for f in out)


def test_strict_fails_on_warnings_never_on_info():
    info = Finding(INFO, "posts/a.md", 1, "m", rule="x")
    warning = Finding(WARNING, "posts/a.md", 1, "m", rule="x")
    assert not has_errors([info], strict=True)
    assert has_errors([warning], strict=True)
    assert not has_errors([warning])
    assert has_errors([Finding(ERROR, "p", None, "m", rule="x")])


def test_check_json_prints_every_finding(tmp_path):
    root = write(tmp_path, {
        "posts/a.md": post_text("title: A\ndate: 2026-01-01\n",
                                "Text with [the example](http://example.com/).\n"),
        "posts/b.md": post_text("title: B\ndat: 2026-01-01\n", "Text.\n"),
    })
    result = run("check", "--json", "--root", str(root), **ENV)
    assert result.returncode == 1, result.stderr  # b.md has an error
    data = json.loads(result.stdout)
    keys = {"post", "path", "line", "level", "rule", "message", "hint"}
    assert all(set(d) == keys for d in data)
    [link] = [d for d in data if d["rule"] == "http-link"]
    assert link["post"] == "a" and link["level"] == "warning" and link["line"] == 6
    assert link["path"] == "posts/a.md"
    fm = [d for d in data if d["rule"] == "front-matter"]
    assert {(d["path"], d["level"], d["line"]) for d in fm} >= {("posts/b.md", "error", 3)}


def test_check_json_exit_code_follows_strict(tmp_path):
    root = write(tmp_path, {"posts/a.md": post_text(
        "title: A\ndate: 2026-01-01\n", "Text with [the example](http://example.com/).\n")})
    assert run("check", "--json", "--root", str(root), **ENV).returncode == 0
    strict = run("check", "--json", "--strict", "--root", str(root), **ENV)
    assert strict.returncode == 1
    assert [d["rule"] for d in json.loads(strict.stdout)] == ["http-link", "no-summary"]


def test_samples_have_no_finding_of_the_gate(tmp_path):
    shutil.copytree(REPO / "posts", tmp_path / "posts")
    result = run("check", "--json", "--root", str(tmp_path), **ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert [d for d in data if d["level"] in ("error", "warning")] == []

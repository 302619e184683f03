"""``-q`` quiets everything but errors, for every command (real processes).

On success a quiet run prints nothing at all, on stdout or stderr, and still
does its work; on failure it prints the error and exits 1.
"""

from __future__ import annotations

import signal
import socket
import sys
import time
import urllib.request
from pathlib import Path

import pytest

FAKES = Path(__file__).resolve().parents[1] / "fakes"
if str(FAKES) not in sys.path:
    sys.path.insert(0, str(FAKES))

from sitekit import Site, base_env, describe, news_post, outbox_sends  # noqa: E402

from postpipe.cli import build_parser  # noqa: E402

pytestmark = pytest.mark.cli

#: a warning (an http:// link) that a quiet run must not print
WARNED = news_post("alpha", body="See the [programme](http://example.org/programme).")
BROKEN = news_post("broken", body="![](missing.png)")  # two errors: missing image, no alt


def commands() -> set[str]:
    parser = build_parser()
    [sub] = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return set(sub.choices)


def make_site(tmp_path: Path, name: str, posts: dict[str, str]) -> Site:
    root = tmp_path / name
    for rel, text in posts.items():
        (root / "posts").mkdir(parents=True, exist_ok=True)
        (root / "posts" / rel).write_text(text, encoding="utf-8")
    return Site(root=root, env=base_env(tmp_path))


def silent(site: Site, *args: str, **env: str) -> None:
    result = site.run(*args, "-q", env=env)
    assert result.returncode == 0, describe(result)
    assert result.stdout == "" and result.stderr == "", describe(result)


def fails_loudly(site: Site, *args: str, expect: str, **env: str) -> str:
    result = site.run(*args, "-q", env=env)
    assert result.returncode == 1, describe(result)
    assert expect in result.stderr, describe(result)
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout + result.stderr


def test_every_command_is_covered() -> None:
    covered = {
        "new",
        "build",
        "check",
        "publish",
        "send",
        "status",
        "preview",
        "report",
        "unsubscribe",
    }
    assert commands() == covered  # a new command needs its quiet test here


def test_without_q_the_same_runs_speak(tmp_path: Path) -> None:
    """The control: the runs below print when not quiet."""
    site = make_site(tmp_path, "loud", {"2026-06-08-alpha.md": WARNED})
    result = site.run("check")
    assert "Checked 1 post" in result.stdout and "http://" in result.stderr
    assert "alpha" in site.ok("publish")
    assert site.ok("status")


def test_a_quiet_run_of_every_command_prints_nothing_and_does_its_work(tmp_path: Path) -> None:
    site = make_site(tmp_path, "quiet", {"2026-06-08-alpha.md": WARNED})
    silent(site, "new", "Volunteer evening in Malmö")
    assert len(list((site.root / "posts").glob("*volunteer-evening*.md"))) == 1
    (next((site.root / "posts").glob("*volunteer-evening*.md"))).unlink()

    silent(site, "check")
    silent(site, "build")
    assert (site.root / "build/site/alpha/index.html").is_file()
    silent(site, "publish", "--dry-run")
    assert not site.public.exists()
    silent(site, "publish")
    assert (site.public / "alpha/index.html").is_file()
    silent(site, "send", "alpha", "--test", "me@example.org")
    silent(site, "send", "alpha", "--yes")
    assert [name for name, _ in outbox_sends(site.root)], "nothing was sent"
    silent(site, "send", "--due")
    silent(site, "status")
    silent(site, "status", "--json")
    silent(site, "report")  # the outbox has nothing to report: a note, quiet with -q
    silent(site, "report", "--json")


def test_quiet_preview_prints_nothing(tmp_path: Path) -> None:
    site = make_site(tmp_path, "preview", {"2026-06-08-alpha.md": WARNED})
    opened = tmp_path / "opened.txt"
    script = "import sys; open(sys.argv[2], 'w').write(sys.argv[1])"
    browser = f'{sys.executable} -c "{script}" %s {opened}'  # webbrowser honours $BROWSER
    site.env["BROWSER"] = browser
    proc = site.popen("preview", "--port", "0", "--open", "-q")
    try:
        deadline = time.monotonic() + 20
        while not (opened.exists() and opened.read_text()) and time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        url = opened.read_text()  # the only way to learn the URL of a quiet preview
        with urllib.request.urlopen(url, timeout=10) as res:
            assert res.status == 200
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert out == "" and err == ""


@pytest.mark.parametrize("command", ["check", "build"])
def test_quiet_check_and_build_still_print_errors(tmp_path: Path, command: str) -> None:
    site = make_site(
        tmp_path, "bad", {"2026-06-08-alpha.md": WARNED, "2026-06-09-broken.md": BROKEN}
    )
    out = fails_loudly(site, command, expect="image 'missing.png' does not exist")
    assert "http://" not in out  # the warning stays quiet
    assert "Checked" not in out and "Built" not in out


def test_quiet_check_strict_prints_the_warnings_it_fails_on(tmp_path: Path) -> None:
    site = make_site(tmp_path, "strict", {"2026-06-08-alpha.md": WARNED})
    fails_loudly(site, "check", "--strict", expect="link to insecure http:// URL")


def test_quiet_publish_prints_only_its_failures(tmp_path: Path) -> None:
    site = make_site(
        tmp_path, "pub", {"2026-06-08-alpha.md": WARNED, "2026-06-09-broken.md": BROKEN}
    )
    result = site.run("publish", "-q")
    assert result.returncode == 1, describe(result)
    assert result.stdout == "", describe(result)
    assert "broken: it has errors" in result.stderr
    assert "alpha" not in result.stderr  # published fine: not a word about it
    assert (site.public / "alpha/index.html").is_file()


@pytest.mark.parametrize(
    "args, expect",
    [
        (("send", "nosuchpost", "--yes"), "nosuchpost"),
        (("send", "alpha"), "refusing to send without confirmation"),
        (("new", "!!!"), "error:"),
        (("status",), "POSTPIPE_SITE_URL"),
        (("report", "alpha"), "never sent"),
    ],
)
def test_quiet_commands_still_print_their_errors(
    tmp_path: Path, args: tuple[str, ...], expect: str
) -> None:
    site = make_site(tmp_path, "errs", {"2026-06-08-alpha.md": WARNED})
    env = {"POSTPIPE_SITE_URL": "notaurl"} if args == ("status",) else {}
    out = fails_loudly(site, *args, expect=expect, **env)
    assert "Send now?" not in out


def test_quiet_unsubscribe_does_its_work_and_still_prints_errors(tmp_path: Path) -> None:
    site = make_site(tmp_path, "unsub", {"2026-06-08-alpha.md": WARNED})
    (site.root / "list.csv").write_text("email\nann@example.org\n", encoding="utf-8")
    site.env.update(
        {"POSTPIPE_LIST": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_RECIPIENTS_FILE": "list.csv"}
    )
    silent(site, "unsubscribe", "ann@example.org")
    silent(site, "unsubscribe", "--list")
    assert "ann@example.org" in site.ok("unsubscribe", "--list")
    fails_loudly(site, "unsubscribe", "ann@", expect="not an email address")
    fails_loudly(site, "unsubscribe", "--remove", "ann@example.org", expect="refusing")


def test_quiet_preview_still_prints_a_busy_port(tmp_path: Path) -> None:
    site = make_site(tmp_path, "busy", {"2026-06-08-alpha.md": WARNED})
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        fails_loudly(site, "preview", "--port", str(port), expect=f"port {port}")

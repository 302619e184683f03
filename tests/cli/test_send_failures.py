"""A failure after the send claim is always recorded (issue 10, item 5), through
``postpipe`` processes: the exit code, the message, ``status``, the ledger state, no
temporary file left, and the next run sending exactly once."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

FAKES = Path(__file__).resolve().parent.parent / "fakes"
if str(FAKES) not in sys.path:
    sys.path.insert(0, str(FAKES))
from sitekit import RUN_TIMEOUT, Site, base_env, describe, news_post, outbox_sends  # noqa: E402

pytestmark = pytest.mark.cli

CRASHING = "crashing_target:CrashingOutbox"


def make_site(tmp_path: Path, body: str | None = None) -> Site:
    root = tmp_path / "site"
    (root / "posts").mkdir(parents=True)
    (root / "posts" / "alpha.md").write_text(news_post("alpha", body=body), encoding="utf-8")
    return Site(root=root, env=base_env(tmp_path))


def temp_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.tmp-*"))


def assert_sends_once_after(site: Site) -> None:
    """The next plain run sends exactly once, and the one after that not again."""
    fixed = site.run("send", "alpha", "--yes", env={"POSTPIPE_LIST": "outbox", "CRASH": ""})
    assert fixed.returncode == 0, describe(fixed)
    assert len(outbox_sends(site.root)) == 1, describe(fixed)
    assert site.status()["alpha"]["newsletter"] == "sent"
    assert site.status()["alpha"]["last_error"] is None
    again = site.run("send", "alpha", "--yes")
    assert again.returncode == 0 and "already sent" in again.stdout, describe(again)
    assert len(outbox_sends(site.root)) == 1


def test_outbox_that_is_a_file_is_a_clear_error_recorded_in_the_ledger(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    (site.root / "outbox").write_text("a file where the outbox folder should be\n")

    result = site.run("send", "alpha", "--yes")
    text = result.stdout + result.stderr
    assert result.returncode == 1, describe(result)
    assert "error  alpha → outbox: outbox: cannot write to outbox: Not a directory" in text
    assert "hint: check POSTPIPE_OUTBOX_DIR" in text
    assert "not sent; the next run tries again" in text
    assert "Traceback" not in text

    row = site.status()["alpha"]
    assert row["newsletter"] == "prepared"  # certainly not sent: the next run sends it
    assert "cannot write to outbox: Not a directory" in row["last_error"]
    status = site.ok("status")
    assert "last error: outbox: cannot write to outbox: Not a directory" in status
    assert temp_files(site.root) == []

    (site.root / "outbox").unlink()
    assert_sends_once_after(site)


def test_a_write_that_fails_half_way_leaves_no_partial_file(tmp_path: Path) -> None:
    """A real "file too large" (RLIMIT_FSIZE, as a full disk fails a write half way)."""
    # an email of about 160 KB (under the 102 KB of HTML that Gmail clips), files of at
    # most 120 KB: the ledger and its log fit, the message does not
    site = make_site(tmp_path, body="The evening gathered forty neighbours. " * 1900)
    site.ok("publish")  # the page, the render cache and the ledger, without a limit
    limit = 120 * 1024

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(
        site.argv(("send", "alpha", "--yes")),
        env=site.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        cwd=site.root,
        preexec_fn=limited,
    )
    text = result.stdout + result.stderr
    assert result.returncode == 1, text
    assert "cannot write to outbox/" in text and "File too large" in text, text
    assert "Traceback" not in text
    assert temp_files(site.root) == []
    assert list((site.root / "outbox").iterdir()) == []
    row = site.status()["alpha"]
    assert row["newsletter"] == "prepared" and "File too large" in row["last_error"]

    assert_sends_once_after(site)


@pytest.mark.parametrize(
    ("crash", "state", "shown"),
    [
        ("find:value", "prepared", "unexpected ValueError: a bad value at find"),
        ("prepare:os", "prepared", "unexpected OSError: [Errno 28] No space left on device"),
        ("send:unicode", "sending", "unexpected UnicodeEncodeError: 'ascii' codec"),
        ("sent:value", "sending", "unexpected ValueError: a bad value at sent"),
    ],
)
def test_any_exception_after_the_claim_is_recorded(
    tmp_path: Path, crash: str, state: str, shown: str
) -> None:
    site = make_site(tmp_path)
    result = site.run("send", "alpha", "--yes", env={"POSTPIPE_LIST": CRASHING, "CRASH": crash})
    text = result.stdout + result.stderr
    assert result.returncode == 1, describe(result)
    assert f"error  alpha → outbox: {shown}" in result.stdout, describe(result)
    assert "run again with --traceback" in result.stdout
    assert "Traceback" not in text
    if state == "prepared":
        assert "not sent; the next run tries again" in result.stdout
    else:
        assert "it may have been sent; the next run asks the provider" in result.stdout
    row = site.status()["alpha"]
    assert row["newsletter"] == state, row
    assert shown in row["last_error"]
    assert temp_files(site.root) == []

    # --traceback shows where it came from
    if state == "prepared":
        debug = site.run(
            "send", "alpha", "--yes", "--traceback", env={"POSTPIPE_LIST": CRASHING, "CRASH": crash}
        )
        assert debug.returncode == 1, describe(debug)
        assert "Traceback (most recent call last)" in debug.stderr
        assert "crashing_target.py" in debug.stderr

    assert_sends_once_after(site)


@pytest.mark.parametrize(
    ("crash", "state"), [("find:interrupt", "prepared"), ("send:interrupt", "sending")]
)
def test_ctrl_c_after_the_claim_is_recorded_then_stops_the_run(
    tmp_path: Path, crash: str, state: str
) -> None:
    site = make_site(tmp_path)
    result = site.run("send", "alpha", "--yes", env={"POSTPIPE_LIST": CRASHING, "CRASH": crash})
    assert result.returncode == 130, describe(result)
    assert result.stderr.strip().endswith("interrupted"), describe(result)
    assert "Traceback" not in result.stdout + result.stderr
    row = site.status()["alpha"]
    assert row["newsletter"] == state and row["last_error"] == "interrupted", row
    assert_sends_once_after(site)


def test_temporary_files_of_dead_runs_are_swept(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    outbox = site.root / "outbox"
    outbox.mkdir()
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(gone.stdout)  # that process has exited
    stale = outbox / f".20260101T000000Z-old.eml.tmp-{dead_pid}"
    live = outbox / f".20260101T000000Z-other.eml.tmp-{os.getpid()}"  # a run still writing
    unrelated = outbox / "notes.tmp-1"
    for path in (stale, live, unrelated):
        path.write_bytes(b"partial")

    site.ok("send", "alpha", "--yes")
    assert not stale.exists()
    assert live.exists() and unrelated.exists()
    assert len(outbox_sends(site.root)) == 1

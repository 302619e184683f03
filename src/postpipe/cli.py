"""The command line: one thin function per command.

This is the only module that prints or picks exit codes: 0 success, 1 a user
error (message and hint, no traceback), 2 a usage error (argparse), 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from . import __version__
from .errors import ConfigError, ErrorGroup, PostpipeError

if TYPE_CHECKING:
    from .checks import Finding
    from .config import Settings
    from .publish import Publisher, Report


@dataclass
class Env:
    """The command's outside world: streams and the clock (tests replace them).

    ``quiet`` (``-q``) is the one place that decides what a quiet run prints:
    errors only. ``out`` and ``warn`` say nothing then; ``err`` always speaks.
    """

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    quiet: bool = False
    #: hides secrets from everything printed (``main`` sets it for the site)
    redact: Callable[[str], str] = field(default=lambda text: text)

    def now(self) -> datetime:
        fixed = os.environ.get("POSTPIPE_NOW")
        if fixed:
            try:
                value = datetime.fromisoformat(fixed)
            except ValueError:
                raise ConfigError(
                    f"POSTPIPE_NOW={fixed!r} is not valid: expected an ISO date and time "
                    "such as 2026-05-04T10:00:00+00:00",
                    hint="POSTPIPE_NOW fixes the clock for tests; unset it to use the real time",
                ) from None
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        return datetime.now(UTC)

    def out(self, text: str = "") -> None:
        """Progress and results (stdout); nothing with ``-q``."""
        if not self.quiet:
            print(self.redact(text), file=self.stdout, flush=True)

    def warn(self, text: str) -> None:
        """A warning (stderr); nothing with ``-q``."""
        if not self.quiet:
            print(self.redact(text), file=self.stderr, flush=True)

    def err(self, text: str) -> None:
        """An error (stderr), printed with ``-q`` too."""
        print(self.redact(text), file=self.stderr, flush=True)

    def finding(self, finding: Finding, strict: bool = False) -> None:
        """A check finding: an error always, a warning unless quiet (or strict)."""
        if finding.level == "error" or strict:
            self.err(finding.render())
        else:
            self.warn(finding.render())

    def step(self, line: str) -> None:
        """One action line of a publish or send run (stdout); nothing with ``-q``."""
        self.out(line)

    def failed_step(self, line: str) -> None:
        """A line of a publish or send run that reports a failure: stdout, or with
        ``-q`` stderr (a quiet run still names what failed)."""
        if self.quiet:
            self.err(line)
        else:
            self.out(line)


def _settings(args: argparse.Namespace, env: Env) -> Settings:
    from .config import load_settings

    settings = load_settings(args.root)
    for warning in settings.warnings:
        # check --strict fails on these: then they are errors, printed with -q too
        (env.err if getattr(args, "strict", False) else env.warn)(f"warning: {warning}")
    return settings


def _debug(args: argparse.Namespace) -> bool:
    """``--traceback`` or ``POSTPIPE_DEBUG=1``."""
    return bool(getattr(args, "traceback", False)) or os.environ.get("POSTPIPE_DEBUG") == "1"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------
# commands


def cmd_new(args: argparse.Namespace, env: Env) -> int:
    from .scaffold import new_post

    settings = _settings(args, env)
    path = new_post(settings, args.title, env.now())
    env.out(_rel(path, settings.root))
    return 0


def cmd_build(args: argparse.Namespace, env: Env) -> int:
    from .pipeline import build_site

    settings = _settings(args, env)
    out = Path(args.out) if args.out else settings.root / "build"
    report = build_site(settings, out, drafts=args.drafts, jobs=args.jobs)
    for finding in report.findings:
        if finding.level != "info":  # notes are for 'check'
            env.finding(finding)
    root = settings.root
    changes = f"{report.rendered_now} rendered, {_plural(report.written, 'file')} written" + (
        f", {report.removed} removed" if report.removed else ""
    )
    env.out(
        f"Built {_plural(report.pages, 'post')} into {_rel(out / 'site', root)}/: {changes}"
        + (
            f"; {_plural(report.drafts_skipped, 'draft')} left out (use --drafts)"
            if report.drafts_skipped
            else ""
        )
    )
    if report.newsletters or report.newsletters_refused:
        env.out(
            f"Wrote {_plural(report.newsletters, 'newsletter')} into "
            f"{_rel(out / 'newsletters', root)}/"
            + (
                f"; refused {', '.join(report.newsletters_refused)} (errors above)"
                if report.newsletters_refused
                else ""
            )
        )
    errors, warnings = report.counts()
    if errors or warnings:
        env.out(f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}")
    return 1 if errors else 0


def cmd_check(args: argparse.Namespace, env: Env) -> int:
    from .checks import has_errors
    from .pipeline import check_site

    settings = _settings(args, env)
    findings, checked = check_site(settings, links=args.links, now=env.now())
    if args.json:
        import json

        print(
            env.redact(json.dumps([f.as_json() for f in findings], indent=2, ensure_ascii=False)),
            file=env.stdout,
            flush=True,
        )
        if args.strict and settings.warnings:
            return 1
        return 1 if has_errors(findings, strict=args.strict) else 0
    for finding in findings:
        env.finding(finding, strict=args.strict)
    errors = sum(f.level == "error" for f in findings)
    warnings = sum(f.level == "warning" for f in findings)
    env.out(
        f"Checked {_plural(checked, 'post')}: {_plural(errors, 'error')}, "
        f"{_plural(warnings, 'warning')}"
    )
    if args.strict and settings.warnings:
        return 1
    return 1 if has_errors(findings, strict=args.strict) else 0


def _run(
    args: argparse.Namespace, env: Env, action: Callable[[Publisher], Report], **kw: Any
) -> int:
    from .publish import run

    settings = _settings(args, env)
    quiet_ok = kw.pop("quiet_ok", False)
    report = run(
        settings,
        action,
        now=env.now(),
        dry_run=getattr(args, "dry_run", False),
        say=env.step,
        say_failure=env.failed_step,
        **kw,
    )
    if not report.lines and not quiet_ok:
        env.out("nothing to do: everything is up to date")
    if _debug(args):
        for exc in report.crashes:  # reported as failures above; here is where they came from
            _traceback(env, exc)
    return 0 if report.ok else 1


def cmd_publish(args: argparse.Namespace, env: Env) -> int:
    return _run(args, env, lambda p: p.publish(args.slugs))


#: ``send --due`` reports a busy lock only when its holder ran longer than this.
STUCK_AFTER = 30 * 60


def _confirmer(env: Env, yes: bool, question: str, refusal: str) -> Callable[[str], bool]:
    """A yes/no prompt after *text*: ``yes`` answers it; without a terminal it refuses."""

    def confirm(text: str) -> bool:
        if yes:
            env.out(text)
            return True
        if not env.stdin.isatty():
            env.out(text)
            raise PostpipeError(refusal, hint="run it in a terminal to answer, or pass --yes")
        print(env.redact(text), file=env.stdout)  # the question needs its text, with -q too
        env.stdout.write(f"{question} [y/N] ")
        env.stdout.flush()
        return env.stdin.readline().strip().lower() in ("y", "yes", "j", "ja")

    return confirm


def cmd_send(args: argparse.Namespace, env: Env) -> int:
    if args.due:
        if args.slug or args.test:
            env.err("error: --due sends every due newsletter; give no SLUG or --test with it")
            return 2
        # cron mails any output: print nothing when there is nothing to do, and
        # nothing while an earlier run is still busy (unless it looks stuck)
        from .locking import Busy

        try:
            code = _run(args, env, lambda p: p.send_due(), quiet_ok=True, wait=50.0)
        except Busy as exc:
            if exc.held_for is not None and exc.held_for < STUCK_AFTER:
                return 0
            raise
        from .config import load_settings
        from .report import refresh_recent

        # the results of last week's newsletters, at most hourly; silent, never fails the send
        if not args.dry_run:
            refresh_recent(load_settings(args.root), now=env.now())
        return code
    if not args.slug:
        env.err("error: name the post to send (postpipe send SLUG), or use --due")
        return 2
    if args.test:
        return _run(args, env, lambda p: p.send_test(args.slug, args.test))

    confirm = _confirmer(
        env, args.yes or args.dry_run, "Send now?", "refusing to send without confirmation"
    )

    return _run(args, env, lambda p: p.send_one(args.slug), confirm=confirm)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def cmd_preview(args: argparse.Namespace, env: Env) -> int:
    import signal
    import threading
    import webbrowser

    from .config import load_settings
    from .preview import Preview, PreviewServer

    settings = _settings(args, env)
    server = PreviewServer(port=args.port)  # a busy port fails before the first build
    # `kill` (SIGTERM) stops it as cleanly as Ctrl-C
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main_thread else None
    try:
        server.preview = Preview(
            settings,
            reload_settings=lambda: load_settings(args.root),
            clock=env.now,
            say=env.out,
        )
        server.watch()
        posts = len(server.preview.snapshot.entries)
        env.out(f"Previewing {_plural(posts, 'post')} at {server.url}  (Ctrl-C to stop)")
        if args.open:
            threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True).start()
        server.serve_forever()
    except KeyboardInterrupt:
        env.out("stopped")
    finally:
        server.close()
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    return 0


def cmd_status(args: argparse.Namespace, env: Env) -> int:
    from .publish import status, status_json

    settings = _settings(args, env)
    rows = status(settings, now=env.now())
    if args.json:
        env.out(status_json(rows))
        return 0
    if not rows:
        env.out('no posts yet: postpipe new "Title"')
        return 0
    width = min(48, max(len(r["slug"]) for r in rows))
    env.out(f"{'POST':<{width}}  {'STATE':<11}  {'NEWSLETTER':<27}  WHERE")
    for r in rows:
        news = r["newsletter"]
        if r["sent_at"] and news == "sent":
            news = f"sent {r['sent_at'][:16].replace('T', ' ')}"
        elif r["send_at"] and news in ("scheduled", "prepared", "not prepared"):
            news = f"{news} {r['send_at'][:16].replace('T', ' ')}"
        where = r["url"] or ""
        if r["cms_id"] and r["cms"] != "folder":
            where = f"{r['cms']} #{r['cms_id']} {where}"
        env.out(f"{r['slug'][:width]:<{width}}  {r['post']:<11}  {news:<27}  {where}".rstrip())
        if r["last_error"]:
            env.out(f"{'':<{width}}  last error: {r['last_error']}")
    return 0


def cmd_report(args: argparse.Namespace, env: Env) -> int:
    from .report import render_json, render_text, report

    settings = _settings(args, env)
    results = report(settings, slugs=args.slugs, now=env.now(), refresh=args.refresh)
    for note in dict.fromkeys(results.notes):  # once each
        env.warn(f"note: {note}")
    if args.json:
        env.out(render_json(results))
        return 0
    for line in render_text(results):
        env.out(line)
    return 0


def cmd_unsubscribe(args: argparse.Namespace, env: Env) -> int:
    from .unsubscribe import unsubscribe

    confirm = _confirmer(
        env,
        args.yes,
        "Remove?",
        "refusing to take addresses off the suppression list without confirmation",
    )

    return unsubscribe(
        _settings(args, env),
        args.addresses,
        show=args.list,
        remove=args.remove,
        fetch=args.fetch,
        confirm=confirm,
        now=env.now(),
        say=env.out,
    )


# ---------------------------------------------------------------------------
# the parser

EPILOG = """\
examples:
  postpipe new "Safer Streets Summit 2026"
  postpipe build --drafts
  postpipe check --strict
"""


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--root",
        default=".",
        metavar="DIR",
        help="the site folder with posts/, templates/ and .env (default: .)",
    )
    common.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    common.add_argument(
        "--traceback",
        action="store_true",
        help="show the Python traceback of an error (or set POSTPIPE_DEBUG=1)",
    )

    parser = argparse.ArgumentParser(
        prog="postpipe",
        description="Markdown event write-ups → a blog and an email newsletter, "
        "published to a CMS and a mailing list.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"postpipe {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(
        name: str, func: Callable[[argparse.Namespace, Env], int], help: str, epilog: str = ""
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            parents=[common],
            help=help,
            description=help,
            epilog=epilog or None,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(func=func)
        return p

    p = add(
        "new",
        cmd_new,
        "write a new post from the template, with every front matter key",
        'example:\n  postpipe new "Panel: can community policing rebuild trust?"',
    )
    p.add_argument("title", help="the headline of the post")

    p = add(
        "build",
        cmd_build,
        "render the blog and the newsletters (no network)",
        "example:\n  postpipe build --out build --drafts",
    )
    p.add_argument("--out", metavar="DIR", help="output folder (default: build/)")
    p.add_argument("--drafts", action="store_true", help="include drafts")
    p.add_argument(
        "--jobs", type=int, metavar="N", help="processes to render with (default: every core)"
    )

    p = add(
        "check",
        cmd_check,
        "validate every post, its blog page and its newsletter",
        "examples:\n  postpipe check --strict\n  postpipe check --json > findings.json\n"
        "  postpipe check --links",
    )
    p.add_argument("--strict", action="store_true", help="fail on warnings too")
    p.add_argument(
        "--json",
        action="store_true",
        help="print every finding as JSON (post, path, line, level, rule, message, hint)",
    )
    p.add_argument(
        "--links",
        action="store_true",
        help="also check every external link over the network (cached for 24 h)",
    )

    p = add(
        "publish",
        cmd_publish,
        "build, then create or update each post on the CMS and prepare its newsletter "
        "campaign (not sent)",
        "examples:\n  postpipe publish\n  postpipe publish safer-streets-summit-2026 --dry-run",
    )
    p.add_argument("slugs", nargs="*", metavar="SLUG", help="only these posts (default: all)")
    p.add_argument(
        "--dry-run", action="store_true", help="print the plan; write nothing, to disk or network"
    )

    p = add(
        "send",
        cmd_send,
        "send one newsletter now (asks first), a test copy, or every due newsletter",
        "examples:\n  postpipe send safer-streets-summit-2026\n"
        "  postpipe send safer-streets-summit-2026 --test me@example.org\n"
        "  postpipe send --due      # from cron: * * * * * cd /site && postpipe send --due",
    )
    p.add_argument("slug", nargs="?", metavar="SLUG", help="the post whose newsletter to send")
    p.add_argument(
        "--due",
        action="store_true",
        help="send every newsletter whose send_at has come (for cron; silent when idle)",
    )
    p.add_argument("--test", metavar="ADDRESS", help="send one test copy to this address")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument("--dry-run", action="store_true", help="print the plan; send nothing")

    p = add(
        "preview",
        cmd_preview,
        "serve a live preview on 127.0.0.1: blog page, email at 600 and 375 px, plain "
        "text and checks of every post, updated on save",
        "examples:\n  postpipe preview                 # http://127.0.0.1:8000/\n"
        "  postpipe preview --port 0 --open # any free port, opened in the browser",
    )
    p.add_argument(
        "--port",
        type=int,
        default=8000,
        help="port on 127.0.0.1 to listen on (default: 8000; 0 picks a free one)",
    )
    p.add_argument("--open", action="store_true", help="open the preview in the web browser")

    p = add(
        "status",
        cmd_status,
        "one line per post: published where, newsletter state, last error",
        "examples:\n  postpipe status\n  postpipe status --json",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = add(
        "report",
        cmd_report,
        "how each sent newsletter did: recipients, delivered, bounces, unique opens and "
        "clicks, unsubscribes, and the clicks per link with the post section it sits in",
        "examples:\n  postpipe report\n  postpipe report safer-streets-summit-2026 --refresh\n"
        "  postpipe report --json > results.json",
    )
    p.add_argument("slugs", nargs="*", metavar="SLUG", help="only these newsletters (default: all)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument(
        "--refresh",
        action="store_true",
        help="ask the provider again even if the stored figures are under 15 minutes old",
    )

    p = add(
        "unsubscribe",
        cmd_unsubscribe,
        "the smtp target's suppression list: addresses no send mails again (add by hand, "
        "show, take back, or read unsubscribe requests and bounces from the mailbox)",
        "examples:\n  postpipe unsubscribe member@example.org other@example.org\n"
        "  postpipe unsubscribe --list\n"
        "  postpipe unsubscribe --remove member@example.org   # asks first (--yes: does not)\n"
        "  postpipe unsubscribe --fetch --list                # read the IMAP mailbox now\n"
        "\nThe list belongs to SMTP_RECIPIENTS_FILE. send --due reads the mailbox "
        "(IMAP_HOST) by itself\nbefore it sends; nothing in the mailbox is ever deleted.",
    )
    p.add_argument(
        "addresses", nargs="*", metavar="ADDRESS", help="addresses to suppress (or to --remove)"
    )
    p.add_argument("--list", action="store_true", help="show the suppressed addresses")
    p.add_argument(
        "--remove",
        action="store_true",
        help="take the addresses off the list (asks first): the next send mails them again",
    )
    p.add_argument(
        "--fetch",
        action="store_true",
        help="read unsubscribe requests and bounces from the mailbox (IMAP_*) now",
    )
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    return parser


def _redactor(root: str) -> Callable[[str], str]:
    """The secrets of the site as set in its .env and the environment (never raises:
    it must work when loading the settings is what failed)."""
    try:
        from .redact import Redactor

        return Redactor.for_site(root)
    except Exception:  # noqa: BLE001 - no redactor is better than no error message
        return lambda text: text


def _traceback(env: Env, exc: BaseException) -> None:
    """Print the traceback of ``exc``, redacted."""
    env.err("".join(traceback.format_exception(exc)).rstrip("\n"))


def main(argv: Sequence[str] | None = None, env: Env | None = None) -> int:
    """Entry point of the ``postpipe`` console script."""
    env = env or Env()
    parser = build_parser()
    args = parser.parse_args(argv)
    env.quiet = env.quiet or args.quiet
    debug = _debug(args)
    env.redact = _redactor(args.root)
    try:
        return int(args.func(args, env))
    except ErrorGroup as exc:
        if debug:
            _traceback(env, exc)
        env.err(exc.render())
        return 1
    except PostpipeError as exc:
        if debug:
            _traceback(env, exc)
        env.err(f"error: {exc.render()}")
        return 1
    except KeyboardInterrupt as exc:
        if debug:
            _traceback(env, exc)
        env.err("interrupted")
        return 130
    except BrokenPipeError:  # e.g. `postpipe status | head -1`
        sys.stderr.close()
        return 141
    except Exception as exc:  # a bug: never let Python print it unredacted
        if debug:
            _traceback(env, exc)
        env.err(
            f"error: unexpected {type(exc).__name__}: {exc}\n"
            "  hint: this is a bug in postpipe; run again with --traceback to see where, "
            "and report it"
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""``postpipe unsubscribe``: the smtp target's suppression list by hand.

Add addresses (``by-hand``), show the list (``--list``), take addresses back
(``--remove``, after a confirmation) and read the mailbox now (``--fetch``). The
list is the one of ``SMTP_RECIPIENTS_FILE`` (:func:`postpipe.suppression.list_key`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from .config import Settings
from .errors import ConfigError, PostpipeError
from .headers import parse_address
from .locking import run_lock
from .mailbox import configured, read_mailbox
from .publish import open_ledger
from .suppression import BY_HAND, Suppressed, list_key
from .targets.base import list_name


def _require_smtp(settings: Settings) -> str:
    name = list_name(settings)
    if name != "smtp":
        raise ConfigError(
            f"the suppression list belongs to the smtp target, but POSTPIPE_LIST is {name}",
            hint=(
                "the outbox only writes .eml files: set POSTPIPE_LIST=smtp to use this list"
                if name == "outbox"
                else f"{name} keeps its own unsubscribes; set POSTPIPE_LIST=smtp to use this list"
            ),
        )
    return list_key(settings)


def _addresses(values: Sequence[str]) -> list[str]:
    """Every address valid, or one error naming each bad one (nothing changed)."""
    good, bad = [], []
    for value in values:
        try:
            good.append(str(parse_address(value.strip())))
        except ValueError as exc:
            bad.append(f"{value!r} ({exc})")
    if bad:
        raise PostpipeError(
            f"not an email address: {', '.join(bad)}",
            hint="give addresses like member@example.org; nothing was changed",
        )
    return good


def _line(row: Suppressed) -> str:
    when = (row.suppressed_at or "")[:16].replace("T", " ")
    detail = f"  ({row.detail})" if row.detail else ""
    return f"{row.address:<40}  {row.reason:<13}  {when}{detail}"


def unsubscribe(
    settings: Settings,
    addresses: Sequence[str],
    *,
    show: bool = False,
    remove: bool = False,
    fetch: bool = False,
    confirm: Callable[[str], bool],
    now: datetime,
    say: Callable[[str], None],
) -> int:
    """Run the command; returns the exit code (errors are raised)."""
    lst = _require_smtp(settings)
    if remove and not addresses:
        raise PostpipeError(
            "--remove needs the addresses to take back",
            hint="postpipe unsubscribe --remove member@example.org",
        )
    if not (addresses or show or fetch):
        raise PostpipeError(
            "name the addresses to suppress, or use --list or --fetch",
            hint="postpipe unsubscribe member@example.org; see postpipe unsubscribe --help",
        )
    valid = _addresses(addresses)
    if fetch and not configured(settings):
        raise ConfigError(
            "--fetch reads the mailbox, but IMAP_HOST is not set",
            hint="set IMAP_HOST, IMAP_USER and IMAP_PASSWORD (and IMAP_FOLDER, IMAP_SECURITY)",
        )
    ledger = open_ledger(settings, read_only=False)
    try:
        store = ledger.suppressions
        if fetch:  # under the run lock: never while send --due reads the same mailbox
            with run_lock(settings.state_dir / "run.lock", wait=60.0):
                say(read_mailbox(settings, store, now).summary())
        if remove:
            on = [a for a in valid if (row := store.get(lst, a)) is not None and row.reason]
            for a in valid:
                if a not in on:
                    say(f"{a} is not on the suppression list of {lst}")
            if on and confirm(
                f"Take {', '.join(on)} off the suppression list of {lst}? The next send "
                "mails them again."
            ):
                for a in on:
                    store.remove(lst, a)
                    say(f"removed {a}: the next send of {lst} mails it again")
            elif on:
                say("nothing removed")
        elif valid:
            for a in valid:
                if store.suppress(lst, a, BY_HAND, now, "by hand"):
                    say(f"suppressed {a}: no send of {lst} mails it again")
                else:
                    row = store.get(lst, a)
                    reason = row.reason if row else "?"
                    say(f"{a} was already suppressed ({reason})")
        if show:
            rows = store.rows(lst)
            if not rows:
                say(f"no suppressed addresses for {lst}")
            else:
                say(f"{len(rows)} suppressed for {lst}:")
                for row in rows:
                    say(_line(row))
    finally:
        ledger.close()
    return 0

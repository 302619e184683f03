"""The ``outbox`` list: each send becomes one ``.eml`` file in ``POSTPIPE_OUTBOX_DIR``.

Files are named ``<UTC time>-<slug>.eml`` and carry the idempotency key in an
``X-Postpipe-Key`` header, which is how ``find_campaign`` recognises a send
that happened before a crash or before the ledger was deleted.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import default
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from ..errors import ProviderError
from ..headers import require_address
from ..keys import IdempotencyKey
from ..tempfiles import sweep_stale, write_atomic
from .base import Campaign, MailingList, OutgoingEmail

if TYPE_CHECKING:
    from ..config import Settings


class Outbox(MailingList):
    name: ClassVar[str] = "outbox"

    def __init__(
        self, settings: Settings, *, clock: Callable[[], datetime] | None = None, **_: object
    ) -> None:
        self.root = settings.root
        self.settings = settings
        self.dir = settings.path(settings.outbox_dir)
        self.lang_dirs = set(settings.language_lists(self.name).values())
        self.clock = clock or (lambda: datetime.now(UTC))
        self.list_address = settings.from_email
        self.writes = 0

    def _dir(self, list_id: str | None) -> Path:
        """``POSTPIPE_OUTBOX_DIR``, or the ``POSTPIPE_OUTBOX_DIR_<LANG>`` the settings
        chose for the newsletter's language (any other list: the one outbox)."""
        if list_id and list_id in self.lang_dirs:
            return self.settings.path(list_id)
        return self.dir

    def find_campaign(self, key: IdempotencyKey) -> Campaign | None:
        folder = self._dir(key.list_id)
        if not folder.is_dir():
            return None
        parser = BytesHeaderParser(policy=default)
        for path in sorted(folder.glob(f"*-{key.slug}*.eml")):
            with path.open("rb") as f:
                headers = parser.parse(f)
            if key.matches(headers.get("X-Postpipe-Key")):
                return Campaign(
                    key=key.value, remote_id=path.name, status="sent", sent_at=_date(headers)
                )
        return None

    def prepare(
        self, email: OutgoingEmail, key: IdempotencyKey, existing: Campaign | None
    ) -> Campaign:
        return existing or Campaign(key=key.value, remote_id=None, status="draft")

    def send(self, campaign: Campaign, email: OutgoingEmail) -> Campaign:
        now = self.clock()
        msg = email.message(
            to=(f"{email.from_name} subscribers", self.list_address),
            date=now,
            key=campaign.key,
            personalise_for=self.list_address,
        )
        name = self._write(
            f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{email.slug}.eml",
            bytes(msg),
            self._dir(email.list_id),
        )
        return Campaign(key=campaign.key, remote_id=name, status="sent", sent_at=now)

    def send_test(self, campaign: Campaign, email: OutgoingEmail, address: str) -> None:
        require_address(address, "the test address")
        now = self.clock()
        msg = email.message(to=address, date=now)
        msg.replace_header("Subject", f"[Test] {email.subject}")
        self._write(
            f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{email.slug}-test.eml",
            bytes(msg),
            self._dir(email.list_id),
        )

    def _write(self, name: str, data: bytes, folder: Path) -> str:
        """Write atomically: a crash leaves the whole file or none, a failure nothing
        (the partial temporary file is removed; a killed run's is swept next time)."""
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._cannot_write(folder, exc) from None
        sweep_stale(folder)
        dest = folder / name
        n = 1
        while dest.exists():
            n += 1
            dest = folder / name.replace(".eml", f"-{n}.eml")
        try:
            write_atomic(dest, data, fsync=True)
        except OSError as exc:
            raise self._cannot_write(dest, exc) from None
        self.writes += 1
        return Path(dest).name

    def _cannot_write(self, path: Path, exc: OSError) -> ProviderError:
        """Nothing was written (``maybe_sent`` False): the next run tries again."""
        if self.dir.exists() and not self.dir.is_dir():
            reason = os.strerror(errno.ENOTDIR)
        else:
            reason = exc.strerror or str(exc) or type(exc).__name__
        try:
            shown = str(path.relative_to(self.root))
        except ValueError:
            shown = str(path)
        return ProviderError(
            f"cannot write to {shown}: {reason}",
            target=self.name,
            hint=f"check POSTPIPE_OUTBOX_DIR ({self.dir}): it must be a folder you can "
            "write to, on a disk with free space",
        )


def _date(headers: Message) -> datetime | None:
    """When a written message went out: its ``Date`` header."""
    try:
        return parsedate_to_datetime(str(headers.get("Date")))
    except (TypeError, ValueError):
        return None

"""The ``outbox`` list: each send becomes one ``.eml`` file in ``POSTPIPE_OUTBOX_DIR``.

Files are named ``<UTC time>-<slug>.eml`` and carry the idempotency key in an
``X-Postpipe-Key`` header, which is how ``find_campaign`` recognises a send
that happened before a crash or before the ledger was deleted.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import default
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from ..headers import require_address
from ..keys import IdempotencyKey
from .base import Campaign, OutgoingEmail

if TYPE_CHECKING:
    from ..config import Settings


class Outbox:
    name: ClassVar[str] = "outbox"

    def __init__(
        self, settings: Settings, *, clock: Callable[[], datetime] | None = None, **_: object
    ) -> None:
        self.dir = settings.path(settings.outbox_dir)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.list_address = settings.from_email
        self.writes = 0

    def find_campaign(self, key: IdempotencyKey) -> Campaign | None:
        if not self.dir.is_dir():
            return None
        parser = BytesHeaderParser(policy=default)
        for path in sorted(self.dir.glob(f"*-{key.slug}*.eml")):
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
        name = self._write(f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{email.slug}.eml", bytes(msg))
        return Campaign(key=campaign.key, remote_id=name, status="sent", sent_at=now)

    def send_test(self, campaign: Campaign, email: OutgoingEmail, address: str) -> None:
        require_address(address, "the test address")
        now = self.clock()
        msg = email.message(to=address, date=now)
        msg.replace_header("Subject", f"[Test] {email.subject}")
        self._write(f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{email.slug}-test.eml", bytes(msg))

    def _write(self, name: str, data: bytes) -> str:
        """Write atomically: a crash leaves the whole file or none."""
        self.dir.mkdir(parents=True, exist_ok=True)
        dest = self.dir / name
        n = 1
        while dest.exists():
            n += 1
            dest = self.dir / name.replace(".eml", f"-{n}.eml")
        tmp = self.dir / f".{dest.name}.tmp-{os.getpid()}"
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
        self.writes += 1
        return Path(dest).name


def _date(headers: Message) -> datetime | None:
    """When a written message went out: its ``Date`` header."""
    try:
        return parsedate_to_datetime(str(headers.get("Date")))
    except (TypeError, ValueError):
        return None

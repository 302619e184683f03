"""A ``MailingList`` target for the fake API of ``listapi.py``, over ``postpipe.http.Http``.

postpipe loads it with ``POSTPIPE_LIST=fakelist_target:FakeList`` when this
folder is on ``PYTHONPATH``. The base URL comes from ``FAKELIST_URL``, the token
from ``FAKELIST_TOKEN``. It is a thin mapping like a real provider adapter: no
retries of its own (``Http`` decides), no ledger.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from postpipe.errors import ConfigError, ProviderError
from postpipe.http import Http, RetryPolicy
from postpipe.keys import IdempotencyKey
from postpipe.targets.base import Campaign, MailingList, OutgoingEmail

if TYPE_CHECKING:
    from postpipe.config import Settings

#: Short backoff so that retried GETs/PUTs keep the tests fast; Retry-After still wins.
FAST_RETRIES = RetryPolicy(max_attempts=3, backoff_base=0.05, backoff_max=0.2)


class FakeList(MailingList):
    name: ClassVar[str] = "fakelist"

    def __init__(
        self, settings: Settings, *, clock: Callable[[], datetime] | None = None, **_: object
    ) -> None:
        url = os.environ.get("FAKELIST_URL")
        token = os.environ.get("FAKELIST_TOKEN")
        missing = [n for n, v in (("FAKELIST_URL", url), ("FAKELIST_TOKEN", token)) if not v]
        if missing:
            raise ConfigError(
                f"the fakelist target needs {', '.join(missing)}",
                hint="start tests/fakes/listapi.py and point FAKELIST_URL at it",
            )
        assert url is not None and token is not None
        self.http = Http(
            self.name,
            url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=(5.0, settings.http_timeout),
            policy=FAST_RETRIES,
        )

    @staticmethod
    def _campaign(key: str, data: dict[str, Any]) -> Campaign:
        return Campaign(
            key=key,
            remote_id=str(data["id"]),
            status=str(data.get("status", "draft")),
            data={"id": data["id"]},
        )

    def find_campaign(self, key: IdempotencyKey) -> Campaign | None:
        # every campaign, then the key's own test: it also knows the older key form
        found = [c for c in self.http.get("/campaigns").json() if key.matches(c.get("name"))]
        if not found:
            return None
        # a create that was answered by nothing may have left a second draft
        best = next((c for c in found if c.get("status") == "sent"), found[0])
        return self._campaign(key.value, best)

    def prepare(
        self, email: OutgoingEmail, key: IdempotencyKey, existing: Campaign | None
    ) -> Campaign:
        body = {"name": key.value, "subject": email.subject, "html": email.html, "text": email.text}
        if existing is not None and existing.remote_id:
            data = self.http.put(f"/campaigns/{existing.remote_id}", json=body).json()
        else:
            data = self.http.post("/campaigns", json=body).json()
        return self._campaign(key.value, data)

    def send(self, campaign: Campaign, email: OutgoingEmail) -> Campaign:
        response = self.http.post(f"/campaigns/{campaign.remote_id}/send", expect={200, 409})
        if response.status_code == 409:
            message = (response.json() or {}).get("message", "")
            if "already sent" not in message:
                raise ProviderError(f"HTTP 409: {message}", target=self.name, status=409)
        return Campaign(key=campaign.key, remote_id=campaign.remote_id, status="sent")

    def send_test(self, campaign: Campaign, email: OutgoingEmail, address: str) -> None:
        self.http.post(f"/campaigns/{campaign.remote_id}/test", json={"email": address})

"""Site-wide rules about how the newsletter is sent (``postpipe check`` only).

``smtp-dkim`` (warning): the ``smtp`` target is configured without DKIM
(``SMTP_DKIM_SELECTOR`` and ``SMTP_DKIM_KEY_FILE``). Gmail and Yahoo reject or
junk bulk mail that is not authenticated; unless the relay signs for the sender's
domain, the messages go out unsigned.
"""

from __future__ import annotations

from ..config import Settings
from .base import WARNING, Finding


def sender_findings(settings: Settings) -> list[Finding]:
    """The findings about the configured list target's sending set-up."""
    if settings.list != "smtp" or (settings.smtp_dkim_selector and settings.smtp_dkim_key_file):
        return []
    domain = settings.from_email.rpartition("@")[2]
    return [
        Finding(
            WARNING,
            ".env",
            None,
            f"the smtp target sends for {domain} without DKIM: Gmail and Yahoo reject or "
            "junk unauthenticated bulk mail",
            "set SMTP_DKIM_SELECTOR and SMTP_DKIM_KEY_FILE and publish the public key at "
            f"<selector>._domainkey.{domain} (README: SMTP), unless your relay signs for "
            f"{domain} itself",
            rule="smtp-dkim",
        )
    ]

"""Helpers of the provider contract tests: one fake per provider, the matching
environment, and an adapter built through ``POSTPIPE_LIST`` like postpipe does."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FAKES = Path(__file__).resolve().parent.parent / "fakes"
if str(FAKES) not in sys.path:
    sys.path.insert(0, str(FAKES))

import fake_brevo  # noqa: E402
import fake_buttondown  # noqa: E402
import fake_listmonk  # noqa: E402
import fake_mailchimp  # noqa: E402
from fakeprovider import FakeProvider  # noqa: E402

from postpipe.config import load_settings  # noqa: E402
from postpipe.render.email import UNSUBSCRIBE_TAGS  # noqa: E402
from postpipe.targets.base import MailingList, OutgoingEmail, get_list  # noqa: E402

COMMON_ENV = {
    "POSTPIPE_SITE_URL": "https://news.example.org",
    "POSTPIPE_FROM_EMAIL": "news@example.org",
    "POSTPIPE_FROM_NAME": "Test Network",
    "POSTPIPE_HTTP_TIMEOUT": "5",
}


def provider_env(fake: FakeProvider) -> dict[str, str]:
    """The variables that point postpipe's adapter for ``fake`` at it."""
    if isinstance(fake, fake_mailchimp.FakeMailchimp):
        return {
            "POSTPIPE_LIST": "mailchimp",
            "MAILCHIMP_API_KEY": fake.key,
            "MAILCHIMP_LIST_ID": fake_mailchimp.LIST_ID,
            "MAILCHIMP_BASE_URL": fake.url,
        }
    if isinstance(fake, fake_listmonk.FakeListmonk):
        return {
            "POSTPIPE_LIST": "listmonk",
            "LISTMONK_URL": fake.url,
            "LISTMONK_USER": fake_listmonk.USER,
            "LISTMONK_TOKEN": fake_listmonk.TOKEN,
            "LISTMONK_LIST_IDS": ",".join(str(i) for i in fake.lists),
        }
    if isinstance(fake, fake_buttondown.FakeButtondown):
        return {
            "POSTPIPE_LIST": "buttondown",
            "BUTTONDOWN_API_KEY": fake.key,
            "BUTTONDOWN_BASE_URL": fake.url,
        }
    if isinstance(fake, fake_brevo.FakeBrevo):
        return {
            "POSTPIPE_LIST": "brevo",
            "BREVO_API_KEY": fake.key,
            "BREVO_LIST_IDS": ",".join(str(i) for i in sorted(fake.lists)),
            "BREVO_BASE_URL": fake.url,
        }
    raise AssertionError(fake)


def is_send(method: str, path: str, status: object = None) -> bool:
    """Whether a request starts a send: Mailchimp's actions/send, listmonk's status PUT,
    Buttondown's publish, Brevo's sendNow."""
    if method == "PUT":
        return path.endswith("/status") and path.startswith("/api/")
    return method == "POST" and path.endswith(("/actions/send", "/publish", "/sendNow"))


def make_email(
    provider: str,
    *,
    subject: str = "Summit recap: 5 ideas",
    slug: str = "alpha",
    body: str = "Forty neighbours came.",
) -> OutgoingEmail:
    tag = UNSUBSCRIBE_TAGS[provider]
    html = (
        "<!DOCTYPE html><html><body><table><tr><td>"
        f'<p>{body}</p><p><a href="{tag}" class="unsubscribe">Unsubscribe</a></p>'
        "</td></tr></table></body></html>"
    )
    return OutgoingEmail(
        slug=slug,
        subject=subject,
        preheader="What we heard from police, NGOs and city hall",
        html=html,
        text=f"{body}\n\nUnsubscribe:\n{tag}\n",
        from_name="Test Network",
        from_email="news@example.org",
        reply_to="news@example.org",
        view_url=f"https://news.example.org/{slug}/",
        unsubscribe_url=tag,
    )


@dataclass
class Harness:
    """A running fake and a way to build adapters for it."""

    name: str
    fake: Any
    root: Path
    sleeps: list[float] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {**COMMON_ENV, **provider_env(self.fake)}

    def adapter(self, *, real_sleep: bool = False, **env: str) -> MailingList:
        """The adapter of ``POSTPIPE_LIST``; its backoff sleeps are recorded (and only
        taken with ``real_sleep``)."""
        settings = load_settings(self.root, environ={**self.env, **env})

        def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)
            if real_sleep:
                time.sleep(seconds)

        return get_list(settings, sleep=sleep)

    def email(self, **kw: Any) -> OutgoingEmail:
        return make_email(self.name, **kw)

    @property
    def tester(self) -> str:
        """An address this provider accepts a test copy for."""
        if self.name == "listmonk":
            return "ann@example.org"  # listmonk tests only go to subscribers
        return "test@example.org"

    def stored(self, key: str) -> list[dict[str, Any]]:
        """The provider's campaigns carrying ``key``."""
        f = self.fake
        if self.name == "mailchimp":
            return f.by_title(key)
        if self.name == "buttondown":
            return f.by_key(key)
        return f.by_name(key)

    def set_status(self, key: str, status: str) -> None:
        """Give the provider's one campaign carrying ``key`` the provider status ``status``
        (as if changed in the provider's web app)."""
        [campaign] = self.stored(key)
        campaign["status"] = status

    def html_of(self, campaign: dict[str, Any]) -> str:
        if self.name == "mailchimp":
            return self.fake.content[campaign["id"]]["html"]
        return campaign.get("htmlContent") or campaign.get("body") or ""


FAKE_CLASSES: dict[str, Callable[[], FakeProvider]] = {
    "mailchimp": fake_mailchimp.FakeMailchimp,
    "listmonk": fake_listmonk.FakeListmonk,
    "buttondown": fake_buttondown.FakeButtondown,
    "brevo": fake_brevo.FakeBrevo,
}

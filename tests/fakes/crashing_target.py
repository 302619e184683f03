"""The outbox, failing the way a buggy or unlucky target might, for the tests of a
failure after the send claim. ``POSTPIPE_LIST=crashing_target:CrashingOutbox`` with
``CRASH=<step>:<error>``:

* step: ``find`` (looking for the campaign), ``prepare``, ``send`` (before anything is
  written) or ``sent`` (after the ``.eml`` is written: the newsletter went out);
* error: ``value`` (ValueError), ``unicode`` (UnicodeEncodeError), ``os`` (OSError)
  or ``interrupt`` (KeyboardInterrupt, as Ctrl-C raises it).

It keeps the outbox's name, ledger rows and files, so a later run with
``POSTPIPE_LIST=outbox`` carries on where it stopped.
"""

from __future__ import annotations

import os
from typing import ClassVar

from postpipe.keys import IdempotencyKey
from postpipe.targets.base import Campaign, OutgoingEmail
from postpipe.targets.outbox import Outbox


def _crash(step: str) -> None:
    where, _, what = os.environ.get("CRASH", "").partition(":")
    if where != step:
        return
    if what == "value":
        raise ValueError(f"a bad value at {step}")
    if what == "unicode":
        "björn".encode("ascii")
    if what == "os":
        raise OSError(28, "No space left on device")
    if what == "interrupt":
        raise KeyboardInterrupt
    raise AssertionError(f"unknown CRASH={os.environ.get('CRASH')}")


class CrashingOutbox(Outbox):
    name: ClassVar[str] = "outbox"

    def find_campaign(self, key: IdempotencyKey) -> Campaign | None:
        _crash("find")
        return super().find_campaign(key)

    def prepare(
        self, email: OutgoingEmail, key: IdempotencyKey, existing: Campaign | None
    ) -> Campaign:
        _crash("prepare")
        return super().prepare(email, key, existing)

    def send(self, campaign: Campaign, email: OutgoingEmail) -> Campaign:
        _crash("send")
        result = super().send(campaign, email)
        _crash("sent")
        return result

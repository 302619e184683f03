"""The idempotency key: a value made from the slug and the list, nothing else."""

from __future__ import annotations

import hashlib

from postpipe.keys import IdempotencyKey, slug_of


def test_the_key_depends_on_slug_and_list_only() -> None:
    a = IdempotencyKey.for_newsletter("summit-2026", "mailchimp:")
    assert a == IdempotencyKey.for_newsletter("summit-2026", "mailchimp:")
    assert a != IdempotencyKey.for_newsletter("summit-2026", "mailchimp:abc123")
    assert a != IdempotencyKey.for_newsletter("summit-2027", "mailchimp:")
    assert a.slug == "summit-2026"
    assert str(a) == a.value and a.value.startswith("summit-2026-pk")
    assert len(a.value) == len("summit-2026-pk") + 10


def test_it_matches_itself_and_the_old_form_of_its_own_slug_only() -> None:
    key = IdempotencyKey.for_newsletter("summit-2026", "outbox:")
    old = "summit-2026-pp" + hashlib.sha256(b"https://old.example.org|summit-2026").hexdigest()[:10]
    assert key.matches(key.value)
    assert key.matches(f" {key.value}\n")  # as some providers echo a name back
    assert key.matches(old)
    assert not key.matches("summit-2026-pp0123")  # not a key at all
    assert not key.matches("other-summit-2026-pp0123456789")
    assert not key.matches("summit-pp0123456789")  # another post's old key
    assert not key.matches(IdempotencyKey.for_newsletter("summit-2026", "smtp:").value)
    assert not key.matches(None) and not key.matches("")


def test_a_stored_key_of_either_form_keeps_its_value() -> None:
    stored = IdempotencyKey.stored("alpha", "alpha-pp0123456789")
    assert stored.value == "alpha-pp0123456789" and stored.matches("alpha-pp0123456789")
    assert slug_of("alpha-beta-pp0123456789") == "alpha-beta"
    assert slug_of(IdempotencyKey.for_newsletter("a-b", "x").value) == "a-b"
    assert slug_of("not a key") is None

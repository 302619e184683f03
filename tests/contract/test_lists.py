"""The list adapters against faithful fakes of their providers (api-contracts §3–§7).

One shared suite runs the same scenarios over Mailchimp, listmonk, Buttondown and
Brevo: prepare → test send → send → send again (refused, not counted) → find by
key with no ledger. Then each provider's own rules: auth failures, validation,
429s, scheduling, and the calls made.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from listkit import Harness, is_send

from postpipe.errors import AuthError, ConfigError, ProviderError, RateLimited
from postpipe.keys import IdempotencyKey
from postpipe.targets.base import Campaign
from postpipe.targets.mailchimp import base_url_for, quarter_hour

KEY = IdempotencyKey.for_newsletter("alpha", "test:")


def writes(h: Harness) -> list[tuple[str, str, int]]:
    return h.fake.calls(writes_only=True)


def send_calls(h: Harness) -> list[tuple[str, str, int]]:
    """The requests that start a send, as each provider spells it."""
    return [c for c in h.fake.calls() if is_send(*c)]


# ---------------------------------------------------------------------------
# the shared contract


def test_prepare_test_send_send_again_find(provider: Harness) -> None:
    h, fake = provider, provider.fake
    lst = h.adapter()
    assert lst.name == h.name
    assert lst.find_campaign(KEY) is None

    # prepare: one campaign carrying the key, with the unsubscribe tag; nothing sent
    draft = lst.prepare(h.email(), KEY, None)
    assert (draft.key, draft.status) == (KEY.value, "draft")
    assert draft.remote_id
    [stored] = h.stored(KEY.value)
    assert str(stored["id"]) == draft.remote_id
    assert "Forty neighbours came." in h.html_of(stored)
    assert h.email().unsubscribe_url in h.html_of(stored)
    assert fake.sends == []

    # prepare again after an edit: the same campaign is updated, no second one
    found = lst.find_campaign(KEY)
    assert found is not None and (found.remote_id, found.status) == (draft.remote_id, "draft")
    edited = h.email(body="Fifty neighbours came.")
    draft = lst.prepare(edited, KEY, found)
    [stored] = h.stored(KEY.value)
    assert "Fifty neighbours came." in h.html_of(stored)

    # a test copy: recorded as a test, not a send
    lst.send_test(draft, edited, h.tester)
    assert [t["email"] for t in fake.tests] == [h.tester]
    assert fake.sends == []

    # the send
    sent = lst.send(draft, edited)
    assert sent.sent
    assert [s["id"] for s in fake.sends] == [stored["id"]]

    # again, as a run that did not know: the provider refuses (or replays), never sends
    before = len(fake.log)
    again = lst.send(Campaign(key=KEY, remote_id=draft.remote_id, status="draft"), edited)
    assert again.sent
    assert len(fake.sends) == 1
    second_send = [r for r in fake.log[before:] if r["method"] in ("POST", "PUT")]
    assert len(second_send) == 1
    if h.name == "buttondown":  # the idempotency key replays the first answer
        assert second_send[0]["status"] == 200
    else:
        assert second_send[0]["status"] == 400

    # the ledger is gone: a fresh adapter finds the sent campaign by its key
    fresh = h.adapter()
    found = fresh.find_campaign(KEY)
    assert found is not None and found.sent and found.remote_id == draft.remote_id
    assert fresh.prepare(edited, KEY, found) == found  # a sent campaign is never touched
    assert len(h.stored(KEY.value)) == 1


def test_wrong_credentials_name_the_variable(provider: Harness) -> None:
    h = provider
    variable, status = {
        "mailchimp": ("MAILCHIMP_API_KEY", 401),
        "listmonk": ("LISTMONK_TOKEN", 403),
        "buttondown": ("BUTTONDOWN_API_KEY", 401),
        "brevo": ("BREVO_API_KEY", 401),
    }[h.name]
    secret = "wrong-secret-value-us21"
    lst = h.adapter(**{variable: secret})
    with pytest.raises(AuthError) as info:
        lst.find_campaign(KEY)
    err = info.value
    assert err.status == status
    assert variable in (err.hint or "")
    assert secret not in err.render() and secret not in (err.body_excerpt or "")
    assert h.sleeps == []  # an auth failure is not retried


def test_placeholder_sender_is_refused(provider: Harness) -> None:
    with pytest.raises(ConfigError) as info:
        provider.adapter(POSTPIPE_FROM_EMAIL="newsletter@example.invalid")
    assert "POSTPIPE_FROM_EMAIL" in info.value.message


def test_missing_variables_are_named(provider: Harness) -> None:
    variable = {
        "mailchimp": "MAILCHIMP_LIST_ID",
        "listmonk": "LISTMONK_LIST_IDS",
        "buttondown": "BUTTONDOWN_API_KEY",
        "brevo": "BREVO_LIST_IDS",
    }[provider.name]
    with pytest.raises(ConfigError) as info:
        provider.adapter(**{variable: ""})
    assert variable in info.value.message


def test_a_newsletter_without_the_unsubscribe_tag_never_leaves(provider: Harness) -> None:
    lst = provider.adapter()
    email = provider.email()
    tag = email.unsubscribe_url
    broken = type(email)(**{**email.__dict__, "html": email.html.replace(tag, "#")})
    with pytest.raises(Exception, match="unsubscribe"):
        lst.prepare(broken, KEY, None)
    assert writes(provider) == []


def test_scheduled_at_the_provider_is_never_sent_again(provider: Harness) -> None:
    h, fake = provider, provider.fake
    lst = h.adapter()
    draft = lst.prepare(h.email(), KEY, None)
    at = datetime.now(UTC) + timedelta(hours=2, minutes=7)
    scheduled = lst.schedule(draft, h.email(), at)
    assert scheduled.status == "scheduled"
    assert scheduled.data["scheduled_at"]

    # send --due later: find says scheduled, prepare leaves it alone, send refuses
    found = h.adapter().find_campaign(KEY)
    assert found is not None and found.status == "scheduled" and not found.sent
    calls = len(fake.log)
    assert lst.prepare(h.email(body="changed"), KEY, found) == found
    with pytest.raises(ProviderError) as info:
        lst.send(found, h.email())
    assert info.value.maybe_sent  # the core keeps it "sending" and only reconciles
    assert "scheduled" in info.value.message
    assert len(fake.log) == calls  # not one call: the state was known
    assert fake.sends == []


def test_429_on_send_is_retried_and_a_lasting_one_sends_nothing(provider: Harness) -> None:
    # a 429 means the provider did nothing: the send is asked again (within the
    # policy's four attempts); when it lasts, nothing was sent and the caller may release it
    h, fake = provider, provider.fake
    lst = h.adapter()
    draft = lst.prepare(h.email(), KEY, None)
    for _ in range(4):
        fake.inject("send", "429")
    with pytest.raises(RateLimited) as info:
        lst.send(draft, h.email())
    assert not info.value.maybe_sent
    explained = {
        "mailchimp": "Mailchimp answered a bare 429",
        "listmonk": "too many requests",
        "buttondown": "rate_limited: Request was throttled.",
        "brevo": "too_many_requests: Too many requests",
    }[h.name]
    assert explained in info.value.message
    assert fake.sends == []
    assert [s for _, _, s in send_calls(h)] == [429] * 4
    assert len(h.sleeps) == 3  # backoff between the attempts, never a real sleep here

    fake.inject("send", "429")  # once: the next attempt sends
    assert lst.send(draft, h.email()).sent
    [retried, ok] = [s for _, _, s in send_calls(h)][4:]
    assert retried == 429 and ok in (200, 204)
    assert len(fake.sends) == 1


#: Every provider status the providers document → what postpipe makes of it.
DOCUMENTED = {
    "mailchimp": {
        "save": "draft",
        "paused": "draft",
        "schedule": "scheduled",
        "sending": "sending",
        "sent": "sent",
        "canceling": "sending",
        "canceled": "sent",
        "archived": "sent",
    },
    "listmonk": {
        "draft": "draft",
        "scheduled": "scheduled",
        "running": "sending",
        "paused": "sending",
        "cancelled": "sent",
        "finished": "sent",
    },
    "buttondown": {
        "draft": "draft",
        "scheduled": "scheduled",
        "about_to_send": "sending",
        "in_flight": "sending",
        "paused": "sending",
        "throttled": "sending",
        "resending": "sending",
        "errored": "sent",
        "sent": "sent",
    },
    "brevo": {
        "draft": "draft",
        "suspended": "draft",
        "queued": "scheduled",
        "inReview": "sending",
        "inProcess": "sending",
        "in_process": "sending",
        "sent": "sent",
        "archive": "sent",
    },
}


def test_every_documented_status_is_mapped_and_a_past_draft_is_never_sent(
    provider: Harness,
) -> None:
    h, fake = provider, provider.fake
    lst = h.adapter()
    lst.prepare(h.email(), KEY, None)
    for raw, expected in DOCUMENTED[h.name].items():
        h.set_status(KEY.value, raw)
        found = lst.find_campaign(KEY)
        assert found is not None and (raw, found.status) == (raw, expected)
        assert found.provider_status == raw and not found.unknown
        if found.sent:  # it went out, or part of it may have: never a second send
            calls = len(fake.log)
            assert lst.send(found, h.email()) == found
            assert lst.prepare(h.email(body="changed"), KEY, found) == found
            assert len(fake.log) == calls  # not one call
    assert fake.sends == []


def test_an_unknown_status_counts_as_possibly_sent(provider: Harness) -> None:
    h, fake = provider, provider.fake
    lst = h.adapter()
    lst.prepare(h.email(), KEY, None)
    h.set_status(KEY.value, "quantum_superposition")  # a status postpipe has never heard of
    found = lst.find_campaign(KEY)
    assert found is not None and found.unknown and found.sent
    assert found.provider_status == "quantum_superposition"
    calls = len(fake.log)
    assert lst.send(found, h.email()) == found  # never sent: it may have gone out
    assert lst.prepare(h.email(body="changed"), KEY, found) == found  # nor changed
    assert len(fake.log) == calls
    assert fake.sends == []


def test_a_refused_send_of_a_campaign_cancelled_by_hand_reads_it_again(
    provider: Harness,
) -> None:
    # the ledger says "prepared", but someone started and cancelled it at the provider:
    # the provider refuses the send, the adapter reads the campaign and reports it sent
    h, fake = provider, provider.fake
    lst = h.adapter()
    draft = lst.prepare(h.email(), KEY, None)
    raw = {"mailchimp": "canceled", "listmonk": "cancelled", "buttondown": "errored"}.get(
        h.name, "archive"
    )
    h.set_status(KEY.value, raw)
    result = lst.send(draft, h.email())  # a stale "draft": the provider is asked
    assert result.sent and result.provider_status == raw
    assert fake.sends == []
    assert [s for _, _, s in send_calls(h)] == [400]


def test_schedule_in_the_past_is_refused_without_a_call(provider: Harness) -> None:
    lst = provider.adapter()
    draft = lst.prepare(provider.email(), KEY, None)
    calls = len(provider.fake.log)
    with pytest.raises(ProviderError, match="less than 2 minutes from now"):
        lst.schedule(draft, provider.email(), datetime.now(UTC) - timedelta(minutes=5))
    assert len(provider.fake.log) == calls
    assert provider.fake.sends == []


# ---------------------------------------------------------------------------
# Mailchimp


def test_mailchimp_base_url_comes_from_the_key(make_harness) -> None:
    assert base_url_for("0123abcd-us21") == "https://us21.api.mailchimp.com/3.0"
    h = make_harness("mailchimp")
    lst = h.adapter(MAILCHIMP_BASE_URL="")
    assert lst.http.base_url == "https://us21.api.mailchimp.com/3.0"
    with pytest.raises(ConfigError, match="MAILCHIMP_API_KEY"):
        h.adapter(MAILCHIMP_BASE_URL="", MAILCHIMP_API_KEY="no-data-centre")


def test_mailchimp_schedule_rounds_up_to_the_quarter_hour(make_harness) -> None:
    h = make_harness("mailchimp")
    lst = h.adapter()
    draft = lst.prepare(h.email(), KEY, None)
    at = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=7, second=30, microsecond=0)
    result = lst.schedule(draft, h.email(), at)
    assert result.data["scheduled_at"] == at.replace(minute=15, second=0).isoformat()
    assert "rounded up to 08:15 UTC" in result.data["note"]
    [stored] = h.stored(KEY.value)
    assert stored["status"] == "schedule"
    assert quarter_hour(at.replace(minute=45, second=0)) == at.replace(minute=45, second=0)


def test_mailchimp_backs_off_on_a_bare_429_or_403_without_retry_after(make_harness) -> None:
    h = make_harness("mailchimp")
    h.fake.inject("any", "429")
    h.fake.inject("any", "403")
    lst = h.adapter()
    assert lst.find_campaign(KEY) is None  # third try answered
    assert len(h.sleeps) == 2 and all(0 < s < 5 for s in h.sleeps)
    assert [s for _, _, s in h.fake.calls()] == [429, 403, 200]


def test_mailchimp_problem_json_errors_are_explained(make_harness) -> None:
    h = make_harness("mailchimp")
    lst = h.adapter(MAILCHIMP_LIST_ID="nosuchlist")
    with pytest.raises(ProviderError) as info:
        lst.prepare(h.email(), KEY, None)
    assert info.value.status == 404
    assert "Resource Not Found" in info.value.message
    assert "MAILCHIMP_LIST_ID" in (info.value.hint or "")


def test_mailchimp_not_ready_send_shows_the_checklist(make_harness) -> None:
    h = make_harness("mailchimp")
    lst = h.adapter()
    draft = lst.prepare(h.email(), KEY, None)
    h.fake.campaigns[draft.remote_id]["settings"]["reply_to"] = ""
    with pytest.raises(ProviderError) as info:
        lst.send(draft, h.email())
    assert "not ready to send" in info.value.message
    assert "Reply-to address" in info.value.message
    assert not info.value.maybe_sent
    assert h.fake.sends == []


def test_mailchimp_uses_few_connections(make_harness) -> None:
    h = make_harness("mailchimp")
    lst = h.adapter()
    assert lst.http.session.get_adapter("http://x")._pool_maxsize <= 4  # noqa: SLF001
    lst.prepare(h.email(), KEY, None)
    assert h.fake.max_in_flight <= 4


# ---------------------------------------------------------------------------
# listmonk


def test_listmonk_sends_and_reads_the_documented_fields(make_harness) -> None:
    h = make_harness("listmonk")
    lst = h.adapter()
    lst.prepare(h.email(), KEY, None)
    [create] = [r for r in h.fake.log if r["method"] == "POST"]
    body = create["body"]
    assert body["content_type"] == "html"
    assert body["lists"] == [3]
    assert body["altbody"].startswith("Forty neighbours came.")
    assert "{{ UnsubscribeURL }}" in body["body"] and "{{ UnsubscribeURL }}" in body["altbody"]
    assert body["from_email"] == "Test Network <news@example.org>"
    assert create["headers"]["authorization"] == "token postpipe:lm-token-4d2f9b"


def test_listmonk_test_only_to_subscribers_and_missing_is_400(make_harness) -> None:
    h = make_harness("listmonk")
    lst = h.adapter()
    draft = lst.prepare(h.email(), KEY, None)
    with pytest.raises(ProviderError) as info:
        lst.send_test(draft, h.email(), "stranger@example.org")
    assert "No known subscribers to test." in info.value.message
    assert "existing subscribers" in (info.value.hint or "")
    with pytest.raises(ProviderError) as info:
        lst.send(Campaign(key=KEY, remote_id="999", status="draft"), h.email())
    assert info.value.status == 400 and "Campaign not found" in info.value.message
    assert h.fake.sends == []


def test_listmonk_permission_denied_names_the_role(make_harness) -> None:
    h = make_harness("listmonk", perms=("campaigns:get_all", "campaigns:manage"))
    lst = h.adapter()
    draft = lst.prepare(h.email(), KEY, None)
    with pytest.raises(AuthError) as info:
        lst.send(draft, h.email())
    assert "permission denied: campaigns:send" in info.value.message
    assert "campaigns:send" in (info.value.hint or "")
    assert h.fake.sends == []


def test_listmonk_lost_answer_to_start_is_marked_maybe_sent(make_harness) -> None:
    h = make_harness("listmonk")
    lst = h.adapter()
    draft = lst.prepare(h.email(), KEY, None)
    h.fake.inject("send", "500-after")
    with pytest.raises(ProviderError) as info:
        lst.send(draft, h.email())
    assert info.value.status == 500 and info.value.maybe_sent  # the core reconciles
    assert len(h.fake.sends) == 1
    found = h.adapter().find_campaign(KEY)
    assert found is not None and found.sent
    # a blind second start is refused by listmonk and recognised as sent
    assert lst.send(draft, h.email()).sent
    statuses = [s for m, p, s in h.fake.calls() if p.endswith("/status")]
    assert statuses == [500, 400]
    assert len(h.fake.sends) == 1


# ---------------------------------------------------------------------------
# Buttondown


def test_buttondown_creates_drafts_only_with_an_idempotency_key(make_harness) -> None:
    h = make_harness("buttondown")
    lst = h.adapter()
    h.fake.inject("any", "429")  # the create is throttled once: Retry-After, then again
    draft = lst.prepare(h.email(), KEY, None)
    assert h.fake.sends == []  # a create without status would have mailed everyone
    creates = [r for r in h.fake.log if r["method"] == "POST"]
    assert [r["status"] for r in creates] == [429, 201]
    assert all(r["body"]["status"] == "draft" for r in creates)
    keys = {r["headers"]["x-idempotency-key"] for r in creates}
    assert len(keys) == 1 and KEY.value in keys.pop()
    assert h.sleeps == [1.0]  # Retry-After honoured
    assert creates[0]["headers"]["x-api-version"] == "2026-04-01"
    assert len(h.stored(KEY.value)) == 1 and draft.remote_id.startswith("em_")


def test_buttondown_paces_on_its_rate_limit_headers(make_harness) -> None:
    h = make_harness("buttondown", limit=2, window=0.5, page_size=1)
    lst = h.adapter(real_sleep=True)
    lst.prepare(h.email(subject="Other"), IdempotencyKey.for_newsletter("other", "test:"), None)
    lst.prepare(h.email(), KEY, None)  # the window is used up now (Remaining: 0)
    found = lst.find_campaign(KEY)  # two pages of one: waits for the reset, no 429
    assert found is not None and found.status == "draft"
    assert h.fake.rate_limited == 0
    assert len(h.sleeps) == 1 and 0 < h.sleeps[0] <= 2


def test_buttondown_validation_errors_are_readable(make_harness) -> None:
    h = make_harness("buttondown")
    lst = h.adapter()
    with pytest.raises(ProviderError) as info:
        lst.prepare(h.email(subject="x" * 2001), KEY, None)
    assert info.value.status == 422
    assert "body.subject: String should have at most 2000 characters" in info.value.message
    assert h.fake.sends == []


# ---------------------------------------------------------------------------
# Brevo


def test_brevo_makes_as_few_calls_as_it_can(make_harness) -> None:
    h = make_harness("brevo")
    lst = h.adapter()
    # publish: one look, one create
    assert lst.find_campaign(KEY) is None
    draft = lst.prepare(h.email(), KEY, None)
    # send --due: one look, no update (same content), one sendNow
    found = lst.find_campaign(KEY)
    assert found is not None
    prepared = lst.prepare(h.email(), KEY, found)
    assert lst.send(prepared, h.email()).sent
    assert [(m, p) for m, p, _ in h.fake.calls()] == [
        ("GET", "/v3/emailCampaigns"),
        ("POST", "/v3/emailCampaigns"),
        ("GET", "/v3/emailCampaigns"),
        ("POST", f"/v3/emailCampaigns/{draft.remote_id}/sendNow"),
    ]
    create = h.fake.log[1]["body"]
    assert create["sender"] == {"name": "Test Network", "email": "news@example.org"}
    assert create["recipients"] == {"listIds": [7]}
    assert create["previewText"] and "{{ unsubscribe }}" in create["htmlContent"]


def test_brevo_no_credits_is_final(make_harness) -> None:
    h = make_harness("brevo")
    h.fake.credits = False
    lst = h.adapter()
    draft = lst.prepare(h.email(), KEY, None)
    with pytest.raises(ProviderError) as info:
        lst.send(draft, h.email())
    err = info.value
    assert err.status == 402 and "not_enough_credits" in err.message
    assert "credits" in (err.hint or "") and not err.maybe_sent
    assert h.sleeps == [] and h.fake.sends == []


def test_brevo_hourly_limit_is_a_clear_429(make_harness) -> None:
    h = make_harness("brevo", hourly=2)
    lst = h.adapter()
    lst.find_campaign(KEY)
    draft = lst.prepare(h.email(), KEY, None)
    with pytest.raises(RateLimited) as info:
        lst.send(draft, h.email())
    assert "100 campaign requests an hour" in (info.value.hint or "")
    assert not info.value.maybe_sent
    assert h.fake.sends == []
    last = h.fake.calls()[-1]
    assert last[2] == 429

"""``plan()`` as a pure function: a Site, a frozen ledger snapshot and a clock in,
the actions of a run out. No target is constructed and nothing is written."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postpipe.config import load_settings
from postpipe.errors import PostpipeError
from postpipe.ledger import CMS, LIST, PREPARED, PUBLISHED, SENDING, SENT, Item, Snapshot
from postpipe.plan import (
    LeaveOut,
    MarkMissed,
    PrepareCampaign,
    Publish,
    PushPost,
    Reconcile,
    RefreshSite,
    Send,
    SendDue,
    SendOne,
    Skip,
    Stop,
    Targets,
    UploadMedia,
    Wait,
    campaign_hash,
    idempotency_key,
    plan,
)
from postpipe.site import Site, load_site
from postpipe.targets.base import RemoteRef

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
FOLDER = Targets(cms="folder", lst="outbox", schedules=False)
ENV = {
    "POSTPIPE_SITE_URL": "https://news.example.org",
    "POSTPIPE_TIMEZONE": "UTC",
    "POSTPIPE_FROM_EMAIL": "news@example.org",
}
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c4944415408d763f8cfc000000301010018dd8db00000000049454e44ae426082"
)


def post(
    slug: str,
    *,
    date: str = "2026-06-10 10:00",
    send_at: str | None = None,
    newsletter: bool = True,
    body: str = "Forty neighbours came.",
    extra: str = "",
) -> str:
    lines = [
        "---",
        f'title: "{slug.title()} recap"',
        f"slug: {slug}",
        f"date: {date}",
        f'summary: "What happened at {slug}."',
    ]
    lines += [extra] if extra else []
    if newsletter:
        lines += ["newsletter:", f'  subject: "{slug.title()} recap"']
        lines += [f"  send_at: {send_at}"] if send_at else []
    return "\n".join([*lines, "---", "", body, ""])


def site_of(tmp_path: Path, posts: Mapping[str, str], images: Mapping[str, bytes] = {}) -> Site:
    (tmp_path / "posts").mkdir(parents=True)
    for name, text in posts.items():
        (tmp_path / "posts" / name).write_text(text, encoding="utf-8")
    for name, data in images.items():
        (tmp_path / "posts" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "posts" / name).write_bytes(data)
    return load_site(load_settings(tmp_path, environ=ENV), drafts=False, cache=False)


def snapshot(*items: Item, media: Mapping[tuple[str, str], str] = {}) -> Snapshot:
    return Snapshot(items={(i.slug, i.kind, i.target): i for i in items}, media=media)


def published(site: Site, slug: str, *, content_hash: str | None = None) -> Item:
    p = site.by_slug(slug)
    assert p is not None
    return Item(
        slug,
        CMS,
        "folder",
        PUBLISHED,
        remote_id=slug,
        remote_url=p.url,
        content_hash=content_hash or p.page_digest,
    )


def prepared(site: Site, slug: str, state: str = PREPARED, **kw: str) -> Item:
    p = site.by_slug(slug)
    assert p is not None
    facts = p.email_facts()
    assert facts is not None
    key = str(idempotency_key("outbox", slug, None))
    return Item(
        slug,
        LIST,
        "outbox",
        state,
        idem_key=key,
        content_hash=campaign_hash(facts, p.url, {}),
        **kw,
    )


def kinds(actions: list[object]) -> list[str]:
    return [type(a).__name__ for a in actions]


def test_a_new_post_is_created_and_its_campaign_prepared(tmp_path: Path) -> None:
    site = site_of(tmp_path, {"a.md": post("alpha")})
    actions = plan(site, Snapshot(), NOW, mode=Publish(), targets=FOLDER)
    assert kinds(actions) == ["PushPost", "PrepareCampaign", "RefreshSite"]
    push, campaign, refresh = actions
    assert isinstance(push, PushPost) and push.verb == "create" and push.known is None
    # self-contained: the page as bytes, and its share card (the post has no other image)
    assert isinstance(push.push.files["alpha/index.html"], bytes)
    others = sorted(set(push.push.files) - {"alpha/index.html"})
    assert len(others) == 1 and others[0].startswith("assets/alpha-card.")
    assert push.push.url == "https://news.example.org/alpha/"
    assert isinstance(campaign, PrepareCampaign) and not campaign.update and campaign.url is None
    assert campaign.key == idempotency_key("outbox", "alpha", None)
    assert refresh == RefreshSite(("alpha",))


def test_an_unchanged_post_needs_no_action(tmp_path: Path) -> None:
    site = site_of(tmp_path, {"a.md": post("alpha")})
    snap = snapshot(published(site, "alpha"), prepared(site, "alpha"))
    assert plan(site, snap, NOW, mode=Publish(), targets=FOLDER) == [RefreshSite(("alpha",))]


def test_an_edited_post_is_updated_where_the_ledger_has_it(tmp_path: Path) -> None:
    site = site_of(tmp_path, {"a.md": post("alpha")})
    snap = snapshot(
        published(site, "alpha", content_hash="before-the-edit"), prepared(site, "alpha")
    )
    push = plan(site, snap, NOW, mode=Publish(), targets=FOLDER)[0]
    assert isinstance(push, PushPost) and push.verb == "update"
    assert push.known == RemoteRef(id="alpha", url="https://news.example.org/alpha/")


def test_a_due_newsletter_is_sent(tmp_path: Path) -> None:
    site = site_of(tmp_path, {"a.md": post("alpha", send_at="2026-06-15 11:00+00:00")})
    snap = snapshot(published(site, "alpha"), prepared(site, "alpha"))
    actions = plan(site, snap, NOW, mode=SendDue(), targets=FOLDER)
    key = idempotency_key("outbox", "alpha", None)
    deadline = datetime(2026, 6, 15, 11, 0, tzinfo=UTC) + timedelta(hours=24)
    assert actions == [
        Send("alpha", key, "https://news.example.org/alpha/", deadline),
        RefreshSite(None),
    ]
    assert type(actions[0]) is Send


def test_a_newsletter_not_yet_due_is_left_alone(tmp_path: Path) -> None:
    site = site_of(tmp_path, {"a.md": post("alpha", send_at="2026-06-15 13:00+00:00")})
    assert plan(site, Snapshot(), NOW, mode=SendDue(), targets=FOLDER) == []


def test_a_row_left_sending_is_reconciled_even_when_late(tmp_path: Path) -> None:
    site = site_of(tmp_path, {"a.md": post("alpha", send_at="2026-06-10 11:00+00:00")})
    snap = snapshot(published(site, "alpha"), prepared(site, "alpha", SENDING))
    [reconcile, _] = plan(site, snap, NOW, mode=SendDue(), targets=FOLDER)
    assert isinstance(reconcile, Reconcile)
    assert reconcile.deadline == datetime(2026, 6, 11, 11, 0, tzinfo=UTC)  # the executor decides


def test_too_late_is_marked_missed_and_not_sent(tmp_path: Path) -> None:
    site = site_of(tmp_path, {"a.md": post("alpha", send_at="2026-06-13 11:00+00:00")})
    snap = snapshot(published(site, "alpha"), prepared(site, "alpha"))
    assert plan(site, snap, NOW, mode=SendDue(), targets=FOLDER) == [
        MarkMissed(
            "alpha",
            idempotency_key("outbox", "alpha", None),
            "due 2026-06-13 11:00+00:00, 49h late (more than POSTPIPE_MAX_LATENESS=24h)",
        )
    ]
    # sent or missed before: nothing at all
    for state in (SENT, "missed"):
        done = snapshot(published(site, "alpha"), prepared(site, "alpha", state))
        assert plan(site, done, NOW, mode=SendDue(), targets=FOLDER) == []


def test_a_future_date_on_the_folder_cms_waits(tmp_path: Path) -> None:
    site = site_of(tmp_path, {"a.md": post("alpha", date="2026-06-20 10:00")})
    dated = datetime(2026, 6, 20, 10, 0, tzinfo=UTC)
    assert plan(site, Snapshot(), NOW, mode=Publish(), targets=FOLDER) == [
        Wait("alpha", dated=dated),
        RefreshSite(("alpha",)),
    ]
    # sending it now would link to nothing: the run stops after saying why
    actions = plan(site, Snapshot(), NOW, mode=SendOne("alpha"), targets=FOLDER)
    assert kinds(actions) == ["Confirm", "Wait", "Stop"]
    assert isinstance(actions[-1], Stop) and "not published yet" in str(actions[-1].error)
    # a CMS that schedules gets the post, marked to publish later
    schedules = Targets(cms="wordpress", lst="outbox", schedules=True)
    push = plan(site, Snapshot(), NOW, mode=Publish(), targets=schedules)[0]
    assert isinstance(push, PushPost) and push.push.scheduled


def test_send_one_asks_first_and_an_already_sent_newsletter_is_skipped(tmp_path: Path) -> None:
    site = site_of(tmp_path, {"a.md": post("alpha")})
    snap = snapshot(
        published(site, "alpha"), prepared(site, "alpha", SENT, sent_at="2026-06-12T08:00:00+00:00")
    )
    assert kinds(plan(site, snap, NOW, mode=SendOne("alpha"), targets=FOLDER)) == [
        "Confirm",
        "RefreshSite",
        "Skip",
    ]
    assert plan(site, snap, NOW, mode=SendOne("alpha"), targets=FOLDER)[-1] == Skip(
        "alpha", "already sent 2026-06-12 08:00+00:00"
    )
    with pytest.raises(PostpipeError, match="no post with slug 'alpah'"):
        plan(site, snap, NOW, mode=SendOne("alpah"), targets=FOLDER)


def test_a_broken_post_is_left_out_and_the_others_go_on(tmp_path: Path) -> None:
    site = site_of(
        tmp_path,
        {
            "a.md": post("alpha", send_at="2026-06-15 11:00+00:00"),
            "typo.md": "---\ntittle: x\ndate: 2026-06-01 10:00\n---\n\nText.\n",
        },
    )
    actions = plan(site, snapshot(published(site, "alpha")), NOW, mode=SendDue(), targets=FOLDER)
    assert kinds(actions) == ["LeaveOut", "Send", "RefreshSite"]
    assert isinstance(actions[0], LeaveOut) and actions[0].slug == "posts/typo.md"


def test_images_not_in_the_media_store_are_uploaded_first(tmp_path: Path) -> None:
    site = site_of(
        tmp_path,
        {"a.md": post("alpha", extra='image: images/hero.png\nimage_alt: "The hall"')},
        images={"images/hero.png": PNG},
    )
    hosted = Targets(cms="wordpress", lst="outbox", media_target="wordpress:https://wp")
    actions = plan(site, Snapshot(), NOW, mode=Publish(), targets=hosted)
    # the hero, then its email file (a newsletter links a file sized for mail)
    assert kinds(actions) == [
        "UploadMedia",
        "UploadMedia",
        "PushPost",
        "PrepareCampaign",
        "RefreshSite",
    ]
    upload, email_file = actions[0], actions[1]
    assert isinstance(upload, UploadMedia) and upload.alt == "The hall"
    assert isinstance(email_file, UploadMedia) and "-email." in email_file.asset.name
    push = actions[2]
    assert isinstance(push, PushPost) and push.push.image_alt == "The hall"
    # uploaded before: the store has them, no upload planned
    known = Snapshot(
        media={
            ("wordpress:https://wp", a.asset.digest): f"https://wp/{a.asset.name}"
            for a in (upload, email_file)
        }
    )
    assert "UploadMedia" not in kinds(plan(site, known, NOW, mode=Publish(), targets=hosted))


def test_planning_is_pure(tmp_path: Path) -> None:
    site = site_of(tmp_path, {"a.md": post("alpha", send_at="2026-06-15 11:00+00:00")})
    snap = snapshot(published(site, "alpha", content_hash="old"))
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    first = plan(site, snap, NOW, mode=SendDue(), targets=FOLDER)
    assert plan(site, snap, NOW, mode=SendDue(), targets=FOLDER) == first
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert snap == snapshot(published(site, "alpha", content_hash="old"))

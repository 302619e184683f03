"""What a ``publish`` or ``send`` run would do, as a list of actions: pure, no I/O.

``plan(site, snapshot, now, mode=…, targets=…)`` reads a :class:`~postpipe.site.Site`
(rendered, checked posts), a frozen :class:`~postpipe.ledger.Snapshot` of the
ledger taken before planning, the clock and a few facts about the configured
targets, and returns the actions in the order they run. ``--dry-run`` prints
this list; :mod:`postpipe.publish` executes it. A provider's own answers
(does it have the post, was the campaign sent) are asked by the executor: the
plan says what to do, the executor checks before it writes.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .assets import Asset, digest
from .build import EmailFacts, post_files
from .checks import ERROR, Finding
from .content import Post
from .errors import ErrorGroup, PostpipeError
from .keys import IdempotencyKey
from .ledger import CMS as KIND_CMS
from .ledger import LIST as KIND_LIST
from .ledger import MISSED, PREPARED, PUBLISHED, SCHEDULED, SENDING, SENT, Item, Snapshot
from .site import Broken, Site, SitePost
from .targets.base import Edition, PostPush, RemoteRef, used_assets
from .translations import base_lang

# -- what is asked ---------------------------------------------------------------------


@dataclass(frozen=True)
class Publish:
    """``postpipe publish [SLUG…]``: posts to the CMS, campaigns prepared (never sent)."""

    slugs: tuple[str, ...] = ()


@dataclass(frozen=True)
class SendOne:
    """``postpipe send SLUG``: publish the post if needed, then send its newsletter."""

    slug: str


@dataclass(frozen=True)
class SendDue:
    """``postpipe send --due``: every newsletter whose ``send_at`` has come."""


@dataclass(frozen=True)
class SendTest:
    """``postpipe send SLUG --test ADDRESS``: one copy; the send state is untouched."""

    slug: str
    address: str


Mode = Publish | SendOne | SendDue | SendTest


@dataclass(frozen=True)
class Targets:
    """What the plan needs to know of the configured targets (no credentials)."""

    cms: str
    lst: str
    schedules: bool = True  # the CMS publishes a future-dated post by itself
    media_target: str | None = None  # where the CMS's uploads are remembered


# -- the actions -----------------------------------------------------------------------


@dataclass(frozen=True)
class LeaveOut:
    """A post file that cannot be read or rendered: named, left out (a failure)."""

    broken: Broken

    @property
    def slug(self) -> str:
        return self.broken.rel


@dataclass(frozen=True)
class SkipErrors:
    """A post with error findings: left out until it is fixed (a failure)."""

    slug: str
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class Skip:
    """Nothing to do for this post, and why (printed)."""

    slug: str
    reason: str


@dataclass(frozen=True)
class Wait:
    """Not yet: dated ahead on a CMS that cannot schedule (``dated``), or not
    published yet, so its newsletter waits (``dated=None``)."""

    slug: str
    dated: datetime | None = None


@dataclass(frozen=True)
class Confirm:
    """Ask before a send (``send SLUG``); a no stops the run."""

    slug: str


@dataclass(frozen=True)
class UploadMedia:
    """Upload one image the post uses to the CMS's media library."""

    slug: str
    asset: Asset
    alt: str


@dataclass(frozen=True)
class PushPost:
    """Create or update the post on the CMS (``known``: where the ledger has it)."""

    slug: str
    push: PostPush
    known: RemoteRef | None
    page_hash: str

    @property
    def verb(self) -> str:
        return "update" if self.known else "create"


@dataclass(frozen=True)
class PrepareCampaign:
    """Create or update the newsletter's campaign; never sends.

    ``url`` is the post's address from the ledger (``None``: from this run's push).
    """

    slug: str
    key: IdempotencyKey
    update: bool
    url: str | None
    send_at: datetime | None
    scheduled: bool


@dataclass(frozen=True)
class Send:
    """Send the newsletter once (claimed in the ledger before the provider is called).

    ``deadline``: past it, a newsletter the provider never sent is marked missed.
    """

    slug: str
    key: IdempotencyKey
    url: str | None
    deadline: datetime | None = None


@dataclass(frozen=True)
class Reconcile(Send):
    """A row an earlier run left ``sending``: ask the provider, then send or record."""


@dataclass(frozen=True)
class MarkMissed:
    """Too late to send without asking: recorded as missed, not sent."""

    slug: str
    key: IdempotencyKey
    detail: str


@dataclass(frozen=True)
class SendTestCopy:
    """One test copy of the newsletter to ``address``."""

    slug: str
    key: IdempotencyKey
    url: str
    address: str


@dataclass(frozen=True)
class RefreshSite:
    """Let the CMS refresh its site-wide pages if this run changed anything.

    ``slugs``: the posts that count (``None``: every rendered post of the site).
    """

    slugs: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Stop:
    """End the run with this error (after the actions before it)."""

    error: PostpipeError


Action = (
    LeaveOut
    | SkipErrors
    | Skip
    | Wait
    | Confirm
    | UploadMedia
    | PushPost
    | PrepareCampaign
    | Send
    | MarkMissed
    | SendTestCopy
    | RefreshSite
    | Stop
)

#: actions that count as a failure of the run
FAILURES = LeaveOut | SkipErrors


# -- planning --------------------------------------------------------------------------


def plan(
    site: Site,
    snapshot: Snapshot,
    now: datetime,
    *,
    mode: Mode,
    targets: Targets,
    more_findings: Mapping[str, Sequence[Finding]] | None = None,
) -> list[Action]:
    """The actions of one run, in order. Raises for a named post that cannot be
    published or sent (missing, a draft, broken, no newsletter).

    ``more_findings`` (by slug) adds findings made outside the site's own checks,
    such as a newsletter's spam score: an error there leaves the post out too.
    """
    return _Planner(site, snapshot, now, targets, more_findings or {}).run(mode)


class _Planner:
    def __init__(
        self,
        site: Site,
        snapshot: Snapshot,
        now: datetime,
        targets: Targets,
        more_findings: Mapping[str, Sequence[Finding]],
    ) -> None:
        self.site = site
        self.snap = snapshot
        self.now = now
        self.t = targets
        self.more = more_findings

    def run(self, mode: Mode) -> list[Action]:
        if isinstance(mode, Publish):
            return self.publish(mode.slugs)
        if isinstance(mode, SendOne):
            return self.send_one(mode.slug)
        if isinstance(mode, SendTest):
            return self.send_test(mode.slug, mode.address)
        return self.send_due()

    # -- the modes -----------------------------------------------------------------
    def publish(self, slugs: Sequence[str]) -> list[Action]:
        actions, posts = self.load(slugs)
        for p in posts:
            steps, url, ready = self.post_step(p)
            actions += steps
            if ready and p.email_facts() is not None:
                actions += self.campaign_step(p, url)
        actions.append(RefreshSite(None if slugs else tuple(p.slug for p in posts)))
        return actions

    def send_one(self, slug: str) -> list[Action]:
        actions, posts = self.load([slug])
        if not posts:
            return actions
        p = posts[0]
        facts = p.email_facts()
        if facts is None:
            raise PostpipeError(
                f"'{slug}' has no newsletter block",
                path=p.rel,
                hint="add newsletter: with at least subject:",
            )
        actions.append(Confirm(slug))
        steps, url, ready = self.post_step(p)
        actions += steps
        if not ready:
            actions.append(
                Stop(
                    PostpipeError(
                        f"'{slug}' is not published yet, so the email would link to nothing",
                        hint="publish it first (its date must have come)",
                    )
                )
            )
            return actions
        actions.append(RefreshSite(None))
        actions.append(self.send_step(p, facts, url, deadline=None))
        return actions

    def send_test(self, slug: str, address: str) -> list[Action]:
        actions, posts = self.load([slug])
        if not posts:
            return actions
        p = posts[0]
        facts = p.email_facts()
        if facts is None:
            raise PostpipeError(f"'{slug}' has no newsletter block", path=p.rel)
        cms = self.snap.get(slug, KIND_CMS, self.t.cms)
        url = cms.remote_url if cms and cms.remote_url else p.url
        key = self.key(self.snap.get(slug, KIND_LIST, self.t.lst), slug, facts.list_id)
        return [*actions, SendTestCopy(slug, key, url, address)]

    def send_due(self) -> list[Action]:
        max_late = self.site.settings.max_lateness
        actions: list[Action] = [LeaveOut(b) for b in self.site.broken]
        due: list[SitePost] = []
        for p in self.site.posts:
            facts = p.email_facts()
            if facts is None or facts.send_at is None or facts.send_at > self.now:
                continue
            item = self.snap.get(p.slug, KIND_LIST, self.t.lst)
            if item and item.state in (SENT, MISSED):
                continue
            late = self.now - facts.send_at
            if late > max_late and not (item and item.state == SENDING):
                detail = (
                    f"due {when(facts.send_at)}, {hours(late)} late (more than "
                    f"POSTPIPE_MAX_LATENESS={hours(max_late)})"
                )
                actions.append(MarkMissed(p.slug, self.key(item, p.slug, facts.list_id), detail))
                continue
            due.append(p)
        if not due:
            return actions
        skipped, ready = checked(due, self.more)
        actions += skipped
        for p in ready:
            steps, url, published = self.post_step(p)
            actions += steps
            if not published:
                actions.append(Wait(p.slug))
                continue
            facts = p.email_facts()
            assert facts is not None and facts.send_at is not None
            actions.append(self.send_step(p, facts, url, deadline=facts.send_at + max_late))
        actions.append(RefreshSite(None))
        return actions

    # -- the steps -------------------------------------------------------------------
    def load(self, slugs: Sequence[str]) -> tuple[list[Action], list[SitePost]]:
        """The posts to act on: every one without errors, or the named ones."""
        if not slugs:
            left_out: list[Action] = [LeaveOut(b) for b in self.site.broken]
            skipped, ready = checked(self.site.posts, self.more)
            return [*left_out, *skipped], ready
        skipped, ready = checked([named(self.site, slug) for slug in slugs], self.more)
        return list(skipped), ready

    def post_step(self, p: SitePost) -> tuple[list[Action], str | None, bool]:
        """The post on the CMS: (actions, its URL from the ledger or ``None`` when
        this run pushes it, whether it is (or will be) published)."""
        ahead = p.date > self.now
        if ahead and not self.t.schedules:
            return [Wait(p.slug, dated=p.date)], None, False
        item = self.snap.get(p.slug, KIND_CMS, self.t.cms)
        editions = editions_of(p)
        content_hash = digest(p.page_digest, *map(repr, editions)) if editions else p.page_digest
        if (
            item
            and item.content_hash == content_hash
            and item.remote_id
            and item.state in (PUBLISHED, SCHEDULED)
            and (item.state == SCHEDULED) == ahead
        ):
            return [], item.remote_url or p.url, True
        known = None
        if item and item.remote_id and item.state in (PUBLISHED, SCHEDULED):
            known = RemoteRef(id=item.remote_id, url=item.remote_url or "", data=item.data)
        push = push_of(p, self.now, editions)
        actions: list[Action] = []
        if self.t.media_target is not None:
            for asset in used_assets(push):
                if (self.t.media_target, asset.digest) not in self.snap.media:
                    alt = push.image_alt if push.image and asset.name == push.image.name else ""
                    actions.append(UploadMedia(p.slug, asset, alt))
        actions.append(PushPost(p.slug, push, known, content_hash))
        return actions, None, True

    def campaign_step(self, p: SitePost, url: str | None) -> list[Action]:
        """Prepare the campaign unless the ledger has it as it would be now."""
        facts = p.email_facts()
        assert facts is not None
        item = self.snap.get(p.slug, KIND_LIST, self.t.lst)
        if item and item.state in (SENT, SENDING, MISSED):
            return []
        if url is not None and item and item.state in (PREPARED, SCHEDULED):
            media = media_urls(p, self.t.media_target, self.snap.media)
            if item.content_hash == campaign_hash(facts, url, media):
                return []
        send_at = facts.send_at
        return [
            PrepareCampaign(
                p.slug,
                self.key(item, p.slug, facts.list_id),
                update=item is not None,
                url=url,
                send_at=send_at,
                scheduled=send_at is not None and send_at > self.now,
            )
        ]

    def send_step(
        self, p: SitePost, facts: EmailFacts, url: str | None, deadline: datetime | None
    ) -> Action:
        item = self.snap.get(p.slug, KIND_LIST, self.t.lst)
        key = self.key(item, p.slug, facts.list_id)
        if item and item.state == SENT:
            return Skip(p.slug, f"already sent {when(item.sent_at)}")
        if item and item.state == SENDING:
            return Reconcile(p.slug, key, url, deadline)
        return Send(p.slug, key, url, deadline)

    def key(self, item: Item | None, slug: str, list_id: str | None) -> IdempotencyKey:
        return newsletter_key(self.t.lst, item, slug, list_id)


# -- pure helpers, shared with the executor ----------------------------------------------


def idempotency_key(list_target: str, slug: str, list_id: str | None) -> IdempotencyKey:
    """The key of a post's newsletter: from its slug and its list only, so it is
    stable across runs, a deleted ledger and a changed ``POSTPIPE_SITE_URL``."""
    return IdempotencyKey.for_newsletter(slug, f"{list_target}:{list_id or ''}", list_id)


def newsletter_key(
    list_target: str, item: Item | None, slug: str, list_id: str | None
) -> IdempotencyKey:
    """The key the ledger has for the newsletter, else the one it gets."""
    if item and item.idem_key:
        return IdempotencyKey.stored(slug, item.idem_key, list_id)
    return idempotency_key(list_target, slug, list_id)


def named(site: Site, slug: str) -> SitePost:
    """The post with this slug, or an error that says why there is none."""
    found = site.by_slug(slug)
    if found is not None:
        return found
    broken = [b for b in site.broken if b.slug == slug]
    if broken:
        raise ErrorGroup([e for b in broken for e in b.errors])
    for draft in site.drafts:
        if draft.slug == slug:
            raise PostpipeError(
                f"'{slug}' is a draft; drafts are never published or sent",
                path=draft.rel,
                line=draft.line("draft"),
                hint="remove draft: true when it is ready",
            )
    if site.broken:  # it may be one of the files that cannot be read
        raise ErrorGroup(site.errors)
    close = difflib.get_close_matches(slug, [p.slug for p in site.posts], n=1)
    raise PostpipeError(
        f"no post with slug '{slug}'",
        hint=f"did you mean '{close[0]}'?" if close else "see the slugs with 'postpipe status'",
    )


def checked(
    posts: Iterable[SitePost], more: Mapping[str, Sequence[Finding]] | None = None
) -> tuple[list[Action], list[SitePost]]:
    """Posts with error findings become :class:`SkipErrors`; the rest go on."""
    skipped: list[Action] = []
    ready: list[SitePost] = []
    for p in posts:
        found = (*p.findings, *(more or {}).get(p.slug, ()))
        errors = tuple(f for f in found if f.level == ERROR)
        if errors:
            skipped.append(SkipErrors(p.slug, errors))
        else:
            ready.append(p)
    return skipped, ready


def push_of(p: SitePost, now: datetime, editions: tuple[Edition, ...] = ()) -> PostPush:
    """The frozen, self-contained input of a CMS push: body, page files, images, alt
    text, and the post's editions in other languages."""
    rendered = p.rendered
    post = rendered.post
    assets = tuple(sorted(rendered.assets.values(), key=lambda a: a.name))
    hero = rendered.assets.get(str(post.image.path)) if post.image else None
    files = post_files(rendered)  # the page, its assets and an invitation's event.ics
    return PostPush(
        slug=post.slug,
        title=post.title,
        date=post.date,
        scheduled=post.date > now,
        body_html=p.body_html,
        summary=p.view.summary,
        tags=post.tags,
        categories=post.categories,
        image=hero,
        assets=assets,
        url=p.url,
        image_alt=post.image.alt if post.image else "",
        files=files,
        email_files={
            name: pic.email for name, pic in rendered.pictures.items() if pic.email is not None
        },
        lang_tag=lang_tag(post, p.site.settings.lang),
        editions=editions,
    )


def lang_tag(post: Post, default_lang: str) -> str | None:
    """``lang-sv`` for an edition of a translated post or a post not in the site's
    language: how the CMS records the language (Ghost: internal tag ``#lang-sv``)."""
    if post.translation_key or base_lang(post.lang) != base_lang(default_lang):
        return f"lang-{post.lang.lower()}"
    return None


def editions_of(p: SitePost) -> tuple[Edition, ...]:
    """The post's editions in other languages, as a CMS links them: by slug, so the
    link is right whichever edition reaches the CMS first."""
    return tuple(Edition(t["lang"], t["label"], t["slug"]) for t in p.translations)


def media_urls(
    p: SitePost, media_target: str | None, media: Mapping[tuple[str, str], str]
) -> dict[str, str]:
    """The site URL → CMS URL of each of the post's images the CMS serves from its
    media library: the email links there, so it works without the static site."""
    if media_target is None:
        return {}
    url_of = p.site.builder.site.url_of
    urls = {}
    for asset in p.rendered.assets.values():
        url = media.get((media_target, asset.digest))
        if url:
            urls[url_of(asset.name)] = url
    return urls


def campaign_hash(facts: EmailFacts, url: str, media: Mapping[str, str]) -> str:
    """What a campaign depends on, compared without rendering the email again."""
    return digest(
        facts.subject,
        facts.preheader,
        facts.html,
        facts.text,
        facts.list_id or "",
        url,
        *(f"{k}={v}" for k, v in sorted(media.items())),
    )


def when(value: str | datetime | None) -> str:
    """A time as the run lines show it (``2026-05-04 10:00+00:00``)."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.isoformat(sep=" ", timespec="minutes")


def hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f}h" if hours >= 1 else f"{delta.total_seconds() / 60:.0f}m"

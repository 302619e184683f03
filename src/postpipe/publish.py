"""Orchestration of ``publish``, ``send``, ``send --due`` and ``status``.

load_site → plan against the ledger → push to the targets → record. It knows
the targets only through their protocols and the ledger only through its named
transitions. Every run that may write holds the site's run lock, so two
overlapping cron runs never reach a provider at the same time. A post with
errors is left out and named (the run exits 1); it never holds up another
post. ``status`` reads the site and the ledger and constructs no target.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .assets import digest
from .build import Builder
from .checks import ERROR, Finding
from .config import Settings
from .content import Post
from .errors import ErrorGroup, PostpipeError, ProviderError
from .keys import IdempotencyKey
from .ledger import (
    CMS as KIND_CMS,
)
from .ledger import (
    LIST as KIND_LIST,
)
from .ledger import (
    MISSED,
    PREPARED,
    PUBLISHED,
    SCHEDULED,
    SENDING,
    SENT,
    Item,
    Ledger,
)
from .locking import run_lock
from .redact import Redactor
from .site import Broken, Site, SitePost, load_site
from .targets.base import (
    Campaign,
    OutgoingEmail,
    PostPush,
    RemoteRef,
    cms_name,
    get_cms,
    get_list,
    list_name,
)

Say = Callable[[str], None]


def idempotency_key(list_target: str, slug: str, list_id: str | None) -> IdempotencyKey:
    """The key of a post's newsletter: from its slug and its list only, so it is
    stable across runs, a deleted ledger and a changed ``POSTPIPE_SITE_URL``."""
    return IdempotencyKey.for_newsletter(slug, f"{list_target}:{list_id or ''}")


def _when(value: str | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.isoformat(sep=" ", timespec="minutes")


@dataclass
class Report:
    """What a run did: one line per action, and whether anything failed."""

    lines: list[str] = field(default_factory=list)
    failures: int = 0
    writes: int = 0
    findings: list[Finding] = field(default_factory=list)
    #: unexpected exceptions (not a PostpipeError) caught and reported as failures
    crashes: list[BaseException] = field(default_factory=list)
    posts_read: int = 0  # post files read and parsed (unchanged cached posts are not)

    @property
    def ok(self) -> bool:
        return self.failures == 0


class Publisher:
    """One publish/send run against the configured targets."""

    def __init__(
        self,
        settings: Settings,
        *,
        now: datetime,
        dry_run: bool = False,
        say: Say | None = None,
        confirm: Callable[[str], bool] | None = None,
    ) -> None:
        self.settings = settings
        self.confirm = confirm
        self.cms_changed = False
        self.now = now
        self.dry_run = dry_run
        self.report = Report()
        self._say = say
        #: hides every secret of the settings from what a run prints or records
        self.redact = Redactor.for_settings(settings)
        self._site: Site | None = None
        self.builder = Builder(settings, write_cache=not dry_run)
        self.ledger = open_ledger(settings, read_only=dry_run, redact=self.redact)
        # adapters use the ledger only for their own bookkeeping: uploaded media
        # (assets) and per-recipient sends (recipients)
        self.cms = get_cms(
            settings, builder=self.builder, ledger=self.ledger, clock=lambda: self.now
        )
        self.lst = get_list(
            settings, builder=self.builder, ledger=self.ledger, clock=lambda: self.now
        )

    def close(self) -> None:
        self.ledger.close()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- output ----------------------------------------------------------------
    def say(self, line: str) -> None:
        line = self.redact(line)
        self.report.lines.append(line)
        if self._say:
            self._say(line)

    def fail(self, slug: str, kind: str, target: str, error: PostpipeError) -> None:
        self.report.failures += 1
        text = error.render()
        if not self.dry_run:
            self.ledger.record_error(slug, kind, target, str(error), self.now)
        self.say(f"error  {slug} → {target}: {text}")

    # -- loading ---------------------------------------------------------------
    @property
    def site(self) -> Site:
        """Every non-draft post, loaded once per run through the render cache."""
        if self._site is None:
            self._site = load_site(self.settings, drafts=False, cache=not self.dry_run)
            self.report.posts_read += self._site.parsed
        return self._site

    def broken(self, broken: Sequence[Broken]) -> None:
        """Name each post left out for its errors (``path:line``, message, hint)."""
        for b in broken:
            self.report.failures += 1
            for e in b.errors:
                hint = f"\n       hint: {e.hint}" if e.hint else ""
                self.say(f"error  {e}{hint}")
            self.say(f"skip   {b.rel}: left out until it is fixed; the other posts go on")

    def load(self, slugs: Sequence[str] = ()) -> list[SitePost]:
        """The non-draft posts (or the named ones) without errors.

        Without ``slugs`` a broken post is named and left out; a named post that
        is missing, a draft or broken stops the run.
        """
        site = self.site
        if not slugs:
            self.broken(site.broken)
            return self._checked(list(site.posts), site.findings)
        chosen = [self.named(slug) for slug in slugs]
        return self._checked(chosen, [f for p in chosen for f in p.findings])

    def named(self, slug: str) -> SitePost:
        """The post with this slug, or an error that says why there is none."""
        site = self.site
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
        import difflib

        close = difflib.get_close_matches(slug, [p.slug for p in site.posts], n=1)
        raise PostpipeError(
            f"no post with slug '{slug}'",
            hint=f"did you mean '{close[0]}'?" if close else "see the slugs with 'postpipe status'",
        )

    def _checked(self, rendered: list[SitePost], findings: list[Finding]) -> list[SitePost]:
        """Leave out (and report) the posts with error findings."""
        self.report.findings = findings
        bad = {f.path for f in findings if f.level == ERROR}
        for r in rendered:
            if r.rel in bad:
                self.report.failures += 1
                # one block, so that -q (which keeps failure lines) keeps the reasons too
                reasons = [
                    f"  {f.render()}".replace("\n", "\n  ")
                    for f in findings
                    if f.level == ERROR and f.path == r.rel
                ]
                self.say(
                    "\n".join([f"skip   {r.slug}: it has errors; run 'postpipe check'", *reasons])
                )
        return [r for r in rendered if r.rel not in bad]

    # -- the CMS -----------------------------------------------------------------
    def push_of(self, r: SitePost) -> PostPush:
        rendered = r.rendered
        post = rendered.post
        assets = tuple(sorted(rendered.assets.values(), key=lambda a: a.name))
        hero = rendered.assets.get(str(post.image.path)) if post.image else None
        return PostPush(
            slug=post.slug,
            title=post.title,
            date=post.date,
            scheduled=post.date > self.now,
            body_html=r.body_html,
            summary=r.view.summary,
            tags=post.tags,
            categories=post.categories,
            image=hero,
            assets=assets,
            rendered=rendered,
        )

    def publish_post(self, r: SitePost) -> RemoteRef | None:
        """Create or update the post on the CMS; returns where it lives (None: not yet)."""
        target = self.cms.name
        ahead = r.date > self.now
        if ahead and not getattr(self.cms, "schedules", True):
            self.say(
                f"wait   {r.slug}: dated {_when(r.date)}; the first publish after that "
                "publishes it (or send --due, when its newsletter is due)"
            )
            return None
        page_hash = r.page_digest
        item = self.ledger.get(r.slug, KIND_CMS, target)
        if (
            item
            and item.content_hash == page_hash
            and item.remote_id
            and item.state in (PUBLISHED, SCHEDULED)
            and (item.state == SCHEDULED) == ahead
        ):
            return RemoteRef(id=item.remote_id, url=item.remote_url or r.url)
        push = self.push_of(r)
        existing = None
        if item and item.remote_id and item.state in (PUBLISHED, SCHEDULED):
            existing = RemoteRef(id=item.remote_id, url=item.remote_url or "", data=item.data)
        else:
            try:
                existing = self.cms.find(push)  # a crash or a deleted ledger: never duplicate
            except ProviderError as exc:
                self.fail(r.slug, KIND_CMS, target, exc)
                return None
        verb = "update" if existing else "create"
        if self.dry_run:
            self.say(f"{verb:<6} {r.slug} → {target}" + (" (scheduled)" if push.scheduled else ""))
            return existing or RemoteRef(id="", url=r.url)
        try:
            ref = self.cms.upsert(push, existing)
        except ProviderError as exc:
            self.fail(r.slug, KIND_CMS, target, exc)
            return None
        self.cms_changed = True
        # a CMS publishes at once a post dated too little ahead to schedule it
        # (WordPress: under 60 s, Ghost: under 2 min); it says so with status "publish"
        scheduled = push.scheduled and ref.status != "publish"
        self.ledger.record_published(
            r.slug,
            target,
            remote_id=ref.id,
            remote_url=ref.url,
            content_hash=page_hash,
            now=self.now,
            scheduled=scheduled,
            data=ref.data,
        )
        past = "created" if verb == "create" else "updated"
        note = f" (scheduled for {_when(r.date)})" if scheduled else ""
        if push.scheduled and not scheduled:
            note = f" (published now: dated {_when(r.date)}, too soon for {target} to schedule it)"
        self.say(f"{past:<6} {r.slug} → {target} {ref.url}{note}")
        return ref

    # -- the newsletter ------------------------------------------------------------
    def outgoing(self, r: SitePost, view_url: str) -> OutgoingEmail:
        s = self.settings
        media = self.media_urls(r)
        rendered = r.rendered
        if rendered.email is not None and view_url == r.url and not media:
            email = rendered.email  # rendered for the site's own URL already
        else:
            email = self.builder.render_email(
                rendered, view_url=view_url, list_target=s.list, media=media
            )
        assert rendered.post.newsletter is not None
        return OutgoingEmail(
            slug=r.slug,
            subject=email.subject,
            preheader=email.preheader,
            html=email.html,
            text=email.text,
            from_name=s.sender_name,
            from_email=s.from_email,
            reply_to=s.reply_address,
            view_url=view_url,
            unsubscribe_url=email.unsubscribe_url,
            list_id=rendered.post.newsletter.list,
        )

    def media_urls(self, r: SitePost) -> dict[str, str]:
        """Images the CMS serves from its media library: the email links there, so it
        works without the static site."""
        media_url = getattr(self.cms, "media_url", None)
        if media_url is None:
            return {}
        urls = {}
        for asset in r.rendered.assets.values():
            url = media_url(asset)
            if url:
                urls[self.builder.site.url_of(asset.name)] = url
        return urls

    def _key(self, item: Item | None, slug: str, list_id: str | None) -> IdempotencyKey:
        if item and item.idem_key:
            return IdempotencyKey.stored(slug, item.idem_key)
        return idempotency_key(self.lst.name, slug, list_id)

    def _found_sent(self, slug: str, campaign: Campaign) -> None:
        # a status postpipe does not know may mean sent: recorded, never sent again
        raw = campaign.provider_status or campaign.status
        unknown = campaign.unknown
        detail = f"status {raw!r} unknown to postpipe" if unknown else "found sent at the provider"
        if not self.dry_run:
            self.ledger.confirm_sent(
                slug,
                self.lst.name,
                remote_id=campaign.remote_id,
                now=self.now,
                sent_at=campaign.sent_at,
                detail=detail,
            )
        if unknown:
            self.say(
                f"sent?  {slug} → {self.lst.name}: status {raw!r} unknown to postpipe; not "
                f"sending; check it at the provider (campaign {campaign.remote_id})"
            )
            return
        self.say(f"sent   {slug} → {self.lst.name}: already sent (found at the provider); recorded")

    def prepare_newsletter(self, r: SitePost, ref: RemoteRef) -> None:
        """Create or update the campaign (never send); no call when nothing changed."""
        target = self.lst.name
        item = self.ledger.get(r.slug, KIND_LIST, target)
        if item and item.state in (SENT, SENDING, MISSED):
            return
        facts = r.email_facts()
        if facts is None:
            return
        # what the campaign depends on, compared without rendering the email again
        media = self.media_urls(r) if getattr(self.cms, "media_url", None) else {}
        content_hash = digest(
            facts.subject,
            facts.preheader,
            facts.html,
            facts.text,
            facts.list_id or "",
            ref.url,
            *(f"{k}={v}" for k, v in sorted(media.items())),
        )
        send_at = facts.send_at
        scheduled = send_at is not None and send_at > self.now
        if item and item.content_hash == content_hash and item.state in (PREPARED, SCHEDULED):
            return
        email = self.outgoing(r, ref.url)
        key = self._key(item, r.slug, facts.list_id)
        try:
            existing = self.lst.find_campaign(key)
        except ProviderError as exc:
            self.fail(r.slug, KIND_LIST, target, exc)
            return
        if existing and existing.sent:
            self._found_sent(r.slug, existing)
            return
        verb = "update" if (existing and existing.remote_id) or item else "create"
        if self.dry_run:
            self.say(f"{verb:<6} {r.slug} → {target} campaign (not sent)")
            return
        try:
            campaign = self.lst.prepare(email, key, existing)
        except ProviderError as exc:
            self.fail(r.slug, KIND_LIST, target, exc)
            return
        self.ledger.record_prepared(
            r.slug,
            target,
            key=str(key),
            remote_id=campaign.remote_id,
            content_hash=content_hash,
            now=self.now,
            scheduled=scheduled,
            data=campaign.data,
        )
        when = f"; due {_when(send_at)}" if scheduled else ""
        self.say(f"{'prepared':<6} {r.slug} → {target} campaign{when}")

    def send_newsletter(
        self, r: SitePost, ref: RemoteRef, deadline: datetime | None = None
    ) -> bool:
        """Send once. The claim is committed before the provider is called.

        ``deadline`` (for cron): past it, a newsletter the provider never sent is
        marked missed instead of sent late.
        """
        target = self.lst.name
        item = self.ledger.get(r.slug, KIND_LIST, target)
        facts = r.email_facts()
        key = self._key(item, r.slug, facts.list_id if facts else None)
        email = self.outgoing(r, ref.url)
        if self.dry_run:
            if item and item.state == SENT:
                self.say(f"skip   {r.slug}: already sent {_when(item.sent_at)}")
            else:
                self.say(f"send   {r.slug} → {target}")
            return True
        claim = self.ledger.claim_send(r.slug, target, str(key), self.now)
        if claim.action == "done":
            self.say(f"skip   {r.slug}: already sent {_when(claim.item.sent_at)}")
            return True
        key = IdempotencyKey.stored(r.slug, claim.item.idem_key or str(key))
        # From here on the row is ours ("sending"). Whatever happens, it ends with a
        # state the next run can act on: sent, released to "prepared" (certainly not
        # sent) or left "sending" with the error (maybe sent: the next run asks the
        # provider first). ``maybe_sent`` says which one an unexpected exception gets.
        maybe_sent = claim.action == "reconcile"  # an earlier run may have sent it
        try:
            try:
                # always look first: a crash, an overlapping run or a deleted ledger may
                # have sent it already
                existing = self.lst.find_campaign(key)
            except ProviderError as exc:
                self._after_failed_send(r.slug, exc, sent_maybe=maybe_sent)
                return False
            if existing and existing.sent:
                self._found_sent(r.slug, existing)
                return True
            maybe_sent = False  # the provider says it was not sent
            if deadline is not None and self.now > deadline:
                # a run left it "sending"; the provider says it never went out, and by
                # now it is too late to send it silently
                detail = f"not sent, and now later than {_when(deadline)}"
                self.ledger.mark_missed(
                    r.slug, target, key=str(key), now=self.now, detail=detail, confirmed_unsent=True
                )
                self.say(
                    f"missed {r.slug}: {detail}. To send it anyway: postpipe send {r.slug} --yes"
                )
                return True
            try:
                campaign = self.lst.prepare(email, key, existing)
            except ProviderError as exc:
                self._after_failed_send(r.slug, exc, sent_maybe=False)
                return False
            maybe_sent = True  # from the first byte of the send call on
            try:
                result = self.lst.send(campaign, email)
            except ProviderError as exc:
                self._after_failed_send(r.slug, exc, sent_maybe=exc.maybe_sent)
                return False
            if result.unknown:  # refused, and read again: a status we do not know
                self._found_sent(r.slug, result)
                return True
            self.ledger.confirm_sent(
                r.slug, target, remote_id=result.remote_id, now=self.now, sent_at=result.sent_at
            )
        except Exception as exc:  # a bug or an unforeseen failure of a target
            self._after_failed_send(r.slug, exc, sent_maybe=maybe_sent)
            return False
        except BaseException as exc:  # Ctrl-C, SystemExit: record, then stop the run
            self._after_failed_send(r.slug, exc, sent_maybe=maybe_sent)
            raise
        self.say(
            f"sent   {r.slug} → {target}" + (f" ({result.remote_id})" if result.remote_id else "")
        )
        return True

    def _after_failed_send(self, slug: str, exc: BaseException, *, sent_maybe: bool) -> None:
        """Record a send that failed after the claim, and say what the next run does."""
        target = self.lst.name
        self.report.failures += 1
        if isinstance(exc, PostpipeError):
            stored, shown = str(exc), exc.render()
        elif isinstance(exc, KeyboardInterrupt):
            stored = shown = "interrupted"
        else:
            # not a PostpipeError: a bug, or a failure the target did not foresee
            stored = f"unexpected {type(exc).__name__}: {exc}"
            shown = stored + "\n  hint: run again with --traceback to see where; please report it"
            self.report.crashes.append(exc)
        try:
            if sent_maybe:
                self.ledger.mark_uncertain(slug, target, stored, self.now)
            else:
                self.ledger.release(slug, target, stored, self.now)
        except Exception as failure:  # noqa: BLE001 - the original error is the one to report
            shown += f"\n  (and the ledger could not record it: {failure})"
        if sent_maybe:
            self.say(
                f"error  {slug} → {target}: {shown}\n"
                "       it may have been sent; the next run asks the provider before "
                "sending again"
            )
        else:
            self.say(
                f"error  {slug} → {target}: {shown}\n       not sent; the next run tries again"
            )

    # -- commands ------------------------------------------------------------------
    def publish(self, slugs: Sequence[str] = ()) -> Report:
        """``postpipe publish``: every non-draft post to the CMS, campaigns prepared."""
        rendered = self.load(slugs)
        for r in rendered:
            ref = self.publish_post(r)
            if ref is not None and r.email_facts() is not None:
                self.prepare_newsletter(r, ref)
        self.finish_cms(rendered if not slugs else None)
        return self.report

    def finish_cms(self, rendered: Sequence[SitePost] | None) -> None:
        """Let the CMS refresh site-wide pages from every post it has.

        With ``rendered=None`` (a send run) every rendered post of the site counts;
        a broken post is left out rather than failing the send run.
        """
        if self.dry_run or not self.cms_changed:
            return  # nothing changed on the CMS in this run: its pages are current
        if rendered is None:
            rendered = self.site.posts
        published = {
            i.slug
            for i in self.ledger.items()
            if i.kind == KIND_CMS
            and i.target == self.cms.name
            and i.state in (PUBLISHED, SCHEDULED)
        }
        pushes = [self.push_of(r) for r in rendered if r.slug in published]
        self.report.writes += self.cms.finish(pushes)

    def send_one(self, slug: str) -> Report:
        """``postpipe send SLUG``: publish the post if needed, then send its newsletter."""
        rendered = self.load([slug])
        if not rendered:
            return self.report
        r = rendered[0]
        if r.email_facts() is None:
            raise PostpipeError(
                f"'{slug}' has no newsletter block",
                path=r.rel,
                hint="add newsletter: with at least subject:",
            )
        if self.confirm is not None and not self.confirm(self.describe(r)):
            self.say(f"skip   {slug}: not confirmed; nothing sent")
            return self.report
        ref = self.publish_post(r)
        if ref is None:
            if self.report.failures:
                return self.report
            raise PostpipeError(
                f"'{slug}' is not published yet, so the email would link to nothing",
                hint="publish it first (its date must have come)",
            )
        self.finish_cms(None)
        self.send_newsletter(r, ref)
        return self.report

    def describe(self, r: SitePost) -> str:
        """What a person confirms before a send."""
        assert r.post.newsletter is not None
        item = self.ledger.get(r.slug, KIND_LIST, self.lst.name)
        count = getattr(self.lst, "recipients_count", lambda: None)()
        lines = [
            f"Send '{r.post.newsletter.subject}'",
            f"  post:  {r.slug}",
            f"  list:  {self.lst.name}"
            + (f" ({r.post.newsletter.list})" if r.post.newsletter.list else ""),
            f"  to:    {count} recipients"
            if count is not None
            else "  to:    every subscriber of the list",
        ]
        if item and item.state == SENT:
            lines.append(f"  note:  already sent {_when(item.sent_at)}; it will not be sent again")
        return "\n".join(lines)

    def send_test(self, slug: str, address: str) -> Report:
        """``postpipe send SLUG --test ADDRESS``: one copy; the send state is untouched."""
        rendered = self.load([slug])
        if not rendered:
            return self.report
        r = rendered[0]
        facts = r.email_facts()
        if facts is None:
            raise PostpipeError(f"'{slug}' has no newsletter block", path=r.rel)
        item = self.ledger.get(slug, KIND_CMS, self.cms.name)
        url = item.remote_url if item and item.remote_url else r.url
        email = self.outgoing(r, url)
        key = self._key(self.ledger.get(slug, KIND_LIST, self.lst.name), slug, facts.list_id)
        if self.dry_run:
            self.say(f"test   {slug} → {address}")
            return self.report
        campaign = self.lst.find_campaign(key)
        if campaign is None or not campaign.sent:
            campaign = self.lst.prepare(email, key, campaign)
        self.lst.send_test(campaign, email, address)
        self.say(f"test   {slug} → {address} via {self.lst.name}")
        return self.report

    def send_due(self) -> Report:
        """``postpipe send --due``: what cron runs every minute; silent when idle.

        Every post file is read once. A post with errors is named and left out
        (exit 1); the due newsletters of the other posts go out all the same.
        """
        s = self.settings
        site = self.site
        self.broken(site.broken)
        target = self.lst.name
        due: list[SitePost] = []
        for post in site.posts:
            facts = post.email_facts()
            if facts is None or facts.send_at is None or facts.send_at > self.now:
                continue
            item = self.ledger.get(post.slug, KIND_LIST, target)
            if item and item.state in (SENT, MISSED):
                continue
            late = self.now - facts.send_at
            if late > s.max_lateness and not (item and item.state == SENDING):
                key = self._key(item, post.slug, facts.list_id)
                detail = (
                    f"due {_when(facts.send_at)}, {_hours(late)} late (more than "
                    f"POSTPIPE_MAX_LATENESS={_hours(s.max_lateness)})"
                )
                if not self.dry_run:
                    self.ledger.mark_missed(
                        post.slug, target, key=str(key), now=self.now, detail=detail
                    )
                self.say(
                    f"missed {post.slug}: {detail}; not sent. To send it anyway: "
                    f"postpipe send {post.slug} --yes"
                )
                continue
            due.append(post)
        if not due:
            return self.report
        rendered = self._checked(due, [f for p in due for f in p.findings])
        for r in rendered:
            failures = self.report.failures
            ref = self.publish_post(r)
            if ref is None:
                if self.report.failures == failures:
                    self.say(f"wait   {r.slug}: the post is not published yet")
                continue
            facts = r.email_facts()
            send_at = facts.send_at if facts else None
            deadline = send_at + s.max_lateness if send_at else None
            self.send_newsletter(r, ref, deadline=deadline)
        self.finish_cms(None)
        return self.report


def open_ledger(
    settings: Settings, *, read_only: bool, redact: Callable[[str], str] | None = None
) -> Ledger:
    """The site's ledger; read-only use creates no file when there is none yet.
    ``redact`` hides secrets from every text the ledger stores."""
    path = settings.state_dir / "ledger.sqlite3"
    return Ledger(
        Path(":memory:") if read_only and not path.exists() else path,
        redact=redact or Redactor.for_settings(settings),
    )


def status(settings: Settings, *, now: datetime) -> list[dict[str, Any]]:
    """``postpipe status``: the site and the ledger; constructs no target, so it
    needs no credentials."""
    site = load_site(settings, drafts=False)
    ledger = open_ledger(settings, read_only=True)
    try:
        return status_rows(site, ledger, now=now)
    finally:
        ledger.close()


def status_rows(site: Site, ledger: Ledger, *, now: datetime) -> list[dict[str, Any]]:
    """One row per post: CMS state and newsletter state from the ledger.

    A file that cannot be read gets a row of its own (state ``invalid``) with
    its first error, so one broken post does not hide the others.
    """
    cms_target, list_target = cms_name(site.settings), list_name(site.settings)
    rows: list[dict[str, Any]] = []
    for b in site.broken:
        first = b.first
        rows.append(
            {
                "slug": b.rel,
                "title": "",
                "date": None,
                "post": "invalid",
                "cms": cms_target,
                "cms_id": None,
                "url": None,
                "newsletter": "unknown",
                "list": list_target,
                "send_at": None,
                "sent_at": None,
                "last_error": f"{first}" + (f" ({first.hint})" if first.hint else ""),
            }
        )
    posts: list[tuple[datetime, str, str, bool, bool, datetime | None]] = [
        (p.date, p.slug, p.view.title, p.draft, p.email_facts() is not None, _send_at(p))
        for p in site.posts
    ]
    posts += [
        (p.date, p.slug, p.title, p.draft, p.newsletter is not None, _send_at(p))
        for p in site.drafts
    ]
    posts.sort(key=lambda p: (p[0], p[1]), reverse=True)
    for date, slug, title, draft, has_newsletter, send_at in posts:
        cms = ledger.get(slug, KIND_CMS, cms_target)
        lst = ledger.get(slug, KIND_LIST, list_target)
        if draft:
            post_state = "draft"
        elif cms and cms.state in (PUBLISHED, SCHEDULED):
            post_state = cms.state
        elif date > now:
            post_state = "scheduled"
        else:
            post_state = "unpublished"
        if not has_newsletter:
            nl_state = "none"
        elif lst:
            nl_state = lst.state
        elif send_at and send_at > now:
            nl_state = "scheduled"
        else:
            nl_state = "not prepared"
        errors = [i.last_error for i in (cms, lst) if i and i.last_error]
        rows.append(
            {
                "slug": slug,
                "title": title,
                "date": date.isoformat(),
                "post": post_state,
                "cms": cms_target,
                "cms_id": cms.remote_id if cms else None,
                "url": cms.remote_url if cms else None,
                "newsletter": nl_state,
                "list": list_target,
                "send_at": send_at.isoformat() if send_at else None,
                "sent_at": lst.sent_at if lst else None,
                "last_error": errors[-1] if errors else None,
            }
        )
    return rows


def _send_at(post: SitePost | Post) -> datetime | None:
    if isinstance(post, Post):
        return post.newsletter.send_at if post.newsletter else None
    facts = post.email_facts()
    return facts.send_at if facts else None


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f}h" if hours >= 1 else f"{delta.total_seconds() / 60:.0f}m"


def run(
    settings: Settings,
    action: Callable[[Publisher], Report],
    *,
    now: datetime,
    dry_run: bool = False,
    say: Say | None = None,
    confirm: Callable[[str], bool] | None = None,
    wait: float = 60.0,
) -> Report:
    """Run one action under the site's run lock (no lock for a dry run)."""
    if dry_run:
        with Publisher(settings, now=now, dry_run=True, say=say, confirm=confirm) as p:
            return action(p)
    with (
        run_lock(settings.state_dir / "run.lock", wait=wait),
        Publisher(settings, now=now, say=say, confirm=confirm) as p,
    ):
        return action(p)


def status_json(rows: Iterable[dict[str, Any]]) -> str:
    return json.dumps(list(rows), indent=2, ensure_ascii=False)

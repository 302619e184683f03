"""Execution of a publish plan: the only code that writes to targets and the ledger.

load_site → snapshot the ledger → :func:`postpipe.plan.plan` → execute each
action against the targets and record it in the ledger (or, with
``--dry-run``, print the plan and write nothing). It knows the targets only
through their protocols and the ledger only through its named transitions.
Every run that may write holds the site's run lock, so two overlapping cron
runs never reach a provider at the same time. ``status`` reads the site and
the ledger and constructs no target.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .checks import ERROR, Finding, spam
from .config import Settings
from .content import Post
from .errors import PostpipeError, ProviderError
from .keys import IdempotencyKey
from .ledger import CMS as KIND_CMS
from .ledger import LIST as KIND_LIST
from .ledger import (
    PREPARED,
    PUBLISHED,
    SCHEDULED,
    SENT,
    Ledger,
    LedgerMedia,
    LedgerRecipients,
)
from .locking import run_lock
from .plan import (
    FAILURES,
    Action,
    Confirm,
    LeaveOut,
    MarkMissed,
    Mode,
    PrepareCampaign,
    Publish,
    PushPost,
    Reconcile,
    RefreshSite,
    Send,
    SendDue,
    SendOne,
    SendTest,
    SendTestCopy,
    Skip,
    SkipErrors,
    Stop,
    Targets,
    UploadMedia,
    Wait,
    campaign_hash,
    idempotency_key,
    media_urls,
    plan,
    when,
)
from .redact import Redactor
from .site import Site, SitePost, load_site
from .suppression import ListSuppressions
from .targets.base import (
    CMS,
    Campaign,
    MailingList,
    OutgoingEmail,
    RemoteRef,
    cms_name,
    get_cms,
    get_list,
    list_name,
)

Say = Callable[[str], None]

__all__ = ["Publisher", "Report", "idempotency_key", "open_ledger", "run", "status"]


@dataclass
class Report:
    """What a run did: one line per action, and whether anything failed."""

    lines: list[str] = field(default_factory=list)
    failures: int = 0
    writes: int = 0
    #: unexpected exceptions (not a PostpipeError) caught and reported as failures
    crashes: list[BaseException] = field(default_factory=list)
    posts_read: int = 0  # post files read and parsed (unchanged cached posts are not)
    #: the plan the run executed (or, dry, printed)
    actions: list[Action] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failures == 0


class Run:
    """What every step of one run shares: site, ledger, targets, clock and output."""

    def __init__(
        self,
        site: Site,
        ledger: Ledger,
        cms: CMS,
        lst: MailingList,
        *,
        now: datetime,
        report: Report,
        say: Say | None,
        redact: Callable[[str], str],
        say_failure: Say | None = None,
    ) -> None:
        self.site = site
        self.settings = site.settings
        self.ledger = ledger
        self.cms = cms
        self.lst = lst
        self.now = now
        self.report = report
        self._say = say
        self._say_failure = say_failure or say
        self.redact = redact
        #: where each post pushed in this run lives (``None``: its push failed)
        self.refs: dict[str, RemoteRef | None] = {}
        self.cms_changed = False

    def say(self, line: str, *, failure: bool = False) -> None:
        """One line of the run; a ``failure`` line is the kind ``-q`` still prints."""
        line = self.redact(line)
        self.report.lines.append(line)
        say = self._say_failure if failure else self._say
        if say:
            say(line)

    def fail(self, slug: str, kind: str, target: str, error: PostpipeError) -> None:
        """A step failed for this post: recorded in the ledger and said."""
        self.report.failures += 1
        self.ledger.record_error(slug, kind, target, str(error), self.now)
        self.say(f"error  {slug} → {target}: {error.render()}", failure=True)

    def post(self, slug: str) -> SitePost:
        found = self.site.by_slug(slug)
        assert found is not None, slug  # the plan names only posts of the site
        return found

    def url_for(self, slug: str, planned: str | None) -> str | None:
        """The post's URL: from the ledger (``planned``) or from this run's push."""
        if planned is not None:
            return planned
        ref = self.refs.get(slug)
        return ref.url if ref is not None else None


class CmsSteps:
    """Uploads, pushes and the site-wide refresh, against the CMS."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.uploads: dict[str, list[UploadMedia]] = {}

    def upload(self, a: UploadMedia) -> None:
        """Queued for the post's push: the CMS is asked for the post first (a read), so
        a wrong key fails before anything is written."""
        self.uploads.setdefault(a.slug, []).append(a)

    def push(self, a: PushPost) -> None:
        """Create or update the post; a crash or a deleted ledger never duplicates it."""
        r = self.run
        target = r.cms.name
        r.refs[a.slug] = None
        existing = a.known
        try:
            if existing is None:
                existing = r.cms.find(a.push)
            for upload in self.uploads.pop(a.slug, []):
                r.cms.upload(upload.asset, upload.alt)
            ref = r.cms.upsert(a.push, existing)
        except ProviderError as exc:
            r.fail(a.slug, KIND_CMS, target, exc)
            return
        r.cms_changed = True
        # a CMS publishes at once a post dated too little ahead to schedule it
        # (WordPress: under 60 s, Ghost: under 2 min); it says so with status "publish"
        scheduled = a.push.scheduled and ref.status != "publish"
        r.ledger.record_published(
            a.slug,
            target,
            remote_id=ref.id,
            remote_url=ref.url,
            content_hash=a.page_hash,
            now=r.now,
            scheduled=scheduled,
            data=ref.data,
        )
        r.refs[a.slug] = ref
        past = "created" if existing is None else "updated"
        date = when(a.push.date)
        note = f" (scheduled for {date})" if scheduled else ""
        if a.push.scheduled and not scheduled:
            note = f" (published now: dated {date}, too soon for {target} to schedule it)"
        r.say(f"{past:<6} {a.slug} → {target} {ref.url}{note}")

    def refresh(self, a: RefreshSite) -> None:
        """Let a CMS that serves the whole site rewrite its index, feed and tag pages
        from every post it has, when this run changed anything on it."""
        r = self.run
        if not r.cms_changed or not r.cms.site_pages:
            return
        posts = r.site.posts if a.slugs is None else [r.post(s) for s in a.slugs]
        published = {
            i.slug
            for i in r.ledger.items()
            if i.kind == KIND_CMS and i.target == r.cms.name and i.state in (PUBLISHED, SCHEDULED)
        }
        rendered = [p.rendered for p in posts if p.slug in published]
        r.report.writes += r.cms.finish(r.site.builder.lists.site_files(rendered))


class ListSteps:
    """Campaigns, sends and test copies, against the mailing list.

    A send is claimed in the ledger before the provider is called, and ends in a
    state the next run can act on (sent, released, or left ``sending``: ask first).
    """

    def __init__(self, run: Run) -> None:
        self.run = run

    def outgoing(self, p: SitePost, view_url: str) -> OutgoingEmail:
        """The newsletter as the list gets it: linking to ``view_url`` and to the
        CMS's copies of its images."""
        r = self.run
        s = r.settings
        media = self.media(p)
        rendered = p.rendered
        if rendered.email is not None and view_url == p.url and not media:
            email = rendered.email  # rendered for the site's own URL already
        else:
            email = r.site.builder.render_email(
                rendered, view_url=view_url, list_target=s.list, media=media
            )
        assert rendered.post.newsletter is not None
        return OutgoingEmail(
            slug=p.slug,
            subject=email.subject,
            preheader=email.preheader,
            html=email.html,
            text=email.text,
            from_name=s.sender_name,
            from_email=s.from_email,
            reply_to=s.reply_address,
            view_url=view_url,
            unsubscribe_url=email.unsubscribe_url,
            list_id=p.list_id,
        )

    def media(self, p: SitePost) -> dict[str, str]:
        """The post's images at the CMS, as the media store has them now."""
        target = self.run.cms.media_target
        return media_urls(p, target, self.run.ledger.snapshot().media) if target else {}

    def prepare(self, a: PrepareCampaign) -> None:
        """Create or update the campaign (never send); no call when nothing changed."""
        r = self.run
        url = r.url_for(a.slug, a.url)
        if url is None:
            return  # the post could not be pushed: its failure is reported
        target = r.lst.name
        p = r.post(a.slug)
        facts = p.email_facts()
        assert facts is not None
        content_hash = campaign_hash(facts, url, self.media(p))
        item = r.ledger.get(a.slug, KIND_LIST, target)
        if item and item.content_hash == content_hash and item.state in (PREPARED, SCHEDULED):
            return
        email = self.outgoing(p, url)
        try:
            existing = r.lst.find_campaign(a.key)
            if existing and existing.sent:
                self.found_sent(a.slug, existing)
                return
            campaign = r.lst.prepare(email, a.key, existing)
        except ProviderError as exc:
            r.fail(a.slug, KIND_LIST, target, exc)
            return
        r.ledger.record_prepared(
            a.slug,
            target,
            key=str(a.key),
            remote_id=campaign.remote_id,
            content_hash=content_hash,
            now=r.now,
            scheduled=a.scheduled,
            data=campaign.data,
        )
        due = f"; due {when(a.send_at)}" if a.scheduled else ""
        r.say(f"{'prepared':<6} {a.slug} → {target} campaign{due}")

    def found_sent(self, slug: str, campaign: Campaign) -> None:
        """The provider has it sent (or in a status postpipe does not know, which may
        mean sent): recorded, never sent again."""
        r = self.run
        raw = campaign.provider_status or campaign.status
        unknown = campaign.unknown
        detail = f"status {raw!r} unknown to postpipe" if unknown else "found sent at the provider"
        r.ledger.confirm_sent(
            slug,
            r.lst.name,
            remote_id=campaign.remote_id,
            now=r.now,
            sent_at=campaign.sent_at,
            detail=detail,
        )
        if unknown:
            r.say(
                f"sent?  {slug} → {r.lst.name}: status {raw!r} unknown to postpipe; not "
                f"sending; check it at the provider (campaign {campaign.remote_id})"
            )
            return
        r.say(f"sent   {slug} → {r.lst.name}: already sent (found at the provider); recorded")

    def send(self, a: Send) -> None:
        """Send once (``Reconcile`` too: the claim says whether to ask first)."""
        r = self.run
        url = r.url_for(a.slug, a.url)
        if url is None:
            return  # the post could not be pushed: its failure is reported
        target = r.lst.name
        email = self.outgoing(r.post(a.slug), url)
        claim = r.ledger.claim_send(a.slug, target, str(a.key), r.now)
        if claim.action == "done":
            r.say(f"skip   {a.slug}: already sent {when(claim.item.sent_at)}")
            return
        key = IdempotencyKey.stored(a.slug, claim.item.idem_key or str(a.key), a.key.list_id)
        # From here on the row is ours ("sending"). Whatever happens, it ends with a
        # state the next run can act on: sent, released to "prepared" (certainly not
        # sent) or left "sending" with the error (maybe sent: the next run asks the
        # provider first). ``maybe_sent`` says which one an unexpected exception gets.
        maybe_sent = claim.action == "reconcile"  # an earlier run may have sent it
        try:
            try:
                # always look first: a crash, an overlapping run or a deleted ledger may
                # have sent it already
                existing = r.lst.find_campaign(key)
            except ProviderError as exc:
                self.failed_send(a.slug, exc, sent_maybe=maybe_sent)
                return
            if existing and existing.sent:
                self.found_sent(a.slug, existing)
                return
            maybe_sent = False  # the provider says it was not sent
            if a.deadline is not None and r.now > a.deadline:
                # a run left it "sending"; the provider says it never went out, and by
                # now it is too late to send it silently
                detail = f"not sent, and now later than {when(a.deadline)}"
                r.ledger.mark_missed(
                    a.slug, target, key=str(key), now=r.now, detail=detail, confirmed_unsent=True
                )
                r.say(f"missed {a.slug}: {detail}. To send it anyway: postpipe send {a.slug} --yes")
                return
            try:
                campaign = r.lst.prepare(email, key, existing)
            except ProviderError as exc:
                self.failed_send(a.slug, exc, sent_maybe=False)
                return
            maybe_sent = True  # from the first byte of the send call on
            try:
                result = r.lst.send(campaign, email)
            except ProviderError as exc:
                self.failed_send(a.slug, exc, sent_maybe=exc.maybe_sent)
                return
            if result.unknown:  # refused, and read again: a status we do not know
                self.found_sent(a.slug, result)
                return
            r.ledger.confirm_sent(
                a.slug, target, remote_id=result.remote_id, now=r.now, sent_at=result.sent_at
            )
        except Exception as exc:  # a bug or an unforeseen failure of a target
            self.failed_send(a.slug, exc, sent_maybe=maybe_sent)
            return
        except BaseException as exc:  # Ctrl-C, SystemExit: record, then stop the run
            self.failed_send(a.slug, exc, sent_maybe=maybe_sent)
            raise
        remote = f" ({result.remote_id})" if result.remote_id else ""
        r.say(f"sent   {a.slug} → {target}{remote}")

    def failed_send(self, slug: str, exc: BaseException, *, sent_maybe: bool) -> None:
        """Record a send that failed after the claim, and say what the next run does."""
        r = self.run
        target = r.lst.name
        r.report.failures += 1
        if isinstance(exc, PostpipeError):
            stored, shown = str(exc), exc.render()
        elif isinstance(exc, KeyboardInterrupt):
            stored = shown = "interrupted"
        else:
            # not a PostpipeError: a bug, or a failure the target did not foresee
            stored = f"unexpected {type(exc).__name__}: {exc}"
            shown = stored + "\n  hint: run again with --traceback to see where; please report it"
            r.report.crashes.append(exc)
        try:
            if sent_maybe:
                r.ledger.mark_uncertain(slug, target, stored, r.now)
            else:
                r.ledger.release(slug, target, stored, r.now)
        except Exception as failure:  # noqa: BLE001 - the original error is the one to report
            shown += f"\n  (and the ledger could not record it: {failure})"
        if sent_maybe:
            next_run = "it may have been sent; the next run asks the provider before sending again"
        else:
            next_run = "not sent; the next run tries again"
        r.say(f"error  {slug} → {target}: {shown}\n       {next_run}", failure=True)

    def missed(self, a: MarkMissed) -> None:
        r = self.run
        r.ledger.mark_missed(a.slug, r.lst.name, key=str(a.key), now=r.now, detail=a.detail)
        r.say(missed_line(a))

    def test_copy(self, a: SendTestCopy) -> None:
        r = self.run
        email = self.outgoing(r.post(a.slug), a.url)
        campaign = r.lst.find_campaign(a.key)
        if campaign is None or not campaign.sent:
            campaign = r.lst.prepare(email, a.key, campaign)
        r.lst.send_test(campaign, email, a.address)
        r.say(f"test   {a.slug} → {a.address} via {r.lst.name}")


class Executor:
    """Runs a plan's actions in order: the CMS steps, then the list steps."""

    def __init__(self, run: Run, confirm: Callable[[str], bool] | None = None) -> None:
        self.run = run
        self.confirm = confirm
        self.cms = CmsSteps(run)
        self.lst = ListSteps(run)

    def execute(self, actions: Sequence[Action]) -> None:
        for action in actions:
            if not self.step(action):
                return

    def step(self, a: Action) -> bool:
        """Run one action; ``False`` ends the run (a send not confirmed)."""
        r = self.run
        if isinstance(a, FAILURES | Wait | Skip):
            report_line(r, a)
        elif isinstance(a, Confirm):
            return self.confirmed(a)
        elif isinstance(a, UploadMedia):
            self.cms.upload(a)
        elif isinstance(a, PushPost):
            self.cms.push(a)
        elif isinstance(a, RefreshSite):
            self.cms.refresh(a)
        elif isinstance(a, PrepareCampaign):
            self.lst.prepare(a)
        elif isinstance(a, Send):
            self.lst.send(a)
        elif isinstance(a, MarkMissed):
            self.lst.missed(a)
        elif isinstance(a, SendTestCopy):
            self.lst.test_copy(a)
        elif isinstance(a, Stop):
            raise a.error
        return True

    def confirmed(self, a: Confirm) -> bool:
        if self.confirm is None or self.confirm(describe(self.run, a.slug)):
            return True
        self.run.say(f"skip   {a.slug}: not confirmed; nothing sent")
        return False

    def dry(self, actions: Sequence[Action]) -> None:
        """Print the plan; write nothing (the ledger, the targets and the disk stay as
        they are)."""
        r = self.run
        for a in actions:
            if isinstance(a, Confirm):
                if not self.confirmed(a):
                    return
            elif isinstance(a, Stop):
                raise a.error
            elif isinstance(a, FAILURES | Wait | Skip):
                report_line(r, a)
            else:
                line = plan_line(a, r.cms.name, r.lst.name)
                if line is not None:
                    r.say(line)


def report_line(r: Run, a: LeaveOut | SkipErrors | Wait | Skip) -> None:
    """The lines of an action that only reports (the same in a dry run)."""
    if isinstance(a, LeaveOut):
        r.report.failures += 1
        for e in a.broken.errors:
            hint = f"\n       hint: {e.hint}" if e.hint else ""
            r.say(f"error  {e}{hint}", failure=True)
        r.say(f"skip   {a.broken.rel}: left out until it is fixed; the other posts go on")
    elif isinstance(a, SkipErrors):
        r.report.failures += 1
        # one block, so that -q (which keeps failure lines) keeps the reasons too
        reasons = [f"  {f.render()}".replace("\n", "\n  ") for f in a.findings]
        r.say(
            "\n".join([f"skip   {a.slug}: it has errors; run 'postpipe check'", *reasons]),
            failure=True,
        )
    elif isinstance(a, Wait):
        if a.dated is None:
            r.say(f"wait   {a.slug}: the post is not published yet")
        else:
            r.say(
                f"wait   {a.slug}: dated {when(a.dated)}; the first publish after that "
                "publishes it (or send --due, when its newsletter is due)"
            )
    else:
        r.say(f"skip   {a.slug}: {a.reason}")


def plan_line(a: Action, cms: str, lst: str) -> str | None:
    """One planned write as ``--dry-run`` prints it (``None``: nothing to show)."""
    if isinstance(a, PushPost):
        return f"{a.verb:<6} {a.slug} → {cms}" + (" (scheduled)" if a.push.scheduled else "")
    if isinstance(a, UploadMedia):
        return f"upload {a.slug} → {cms}: {a.asset.name}"
    if isinstance(a, PrepareCampaign):
        return f"{'update' if a.update else 'create'} {a.slug} → {lst} campaign (not sent)"
    if isinstance(a, Reconcile):
        return (
            f"check  {a.slug} → {lst}: left sending by an earlier run; the provider is "
            "asked before it is sent"
        )
    if isinstance(a, Send):
        return f"send   {a.slug} → {lst}"
    if isinstance(a, MarkMissed):
        return missed_line(a)
    if isinstance(a, SendTestCopy):
        return f"test   {a.slug} → {a.address}"
    return None


def missed_line(a: MarkMissed) -> str:
    return f"missed {a.slug}: {a.detail}; not sent. To send it anyway: postpipe send {a.slug} --yes"


def describe(r: Run, slug: str) -> str:
    """What a person confirms before a send."""
    post = r.post(slug).post
    assert post.newsletter is not None
    item = r.ledger.get(slug, KIND_LIST, r.lst.name)
    count = r.lst.recipients_count()
    lines = [
        f"Send '{post.newsletter.subject}'",
        f"  post:  {slug}",
        f"  list:  {r.lst.name}" + (f" ({post.newsletter.list})" if post.newsletter.list else ""),
        f"  to:    {count} recipients"
        if count is not None
        else "  to:    every subscriber of the list",
    ]
    if item and item.state == SENT:
        lines.append(f"  note:  already sent {when(item.sent_at)}; it will not be sent again")
    return "\n".join(lines)


class Publisher:
    """One publish/send run: the site, the ledger and the configured targets.

    Each command plans against a snapshot of the ledger, then executes the plan
    (or, ``dry_run``, prints it).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        now: datetime,
        dry_run: bool = False,
        say: Say | None = None,
        confirm: Callable[[str], bool] | None = None,
        say_failure: Say | None = None,
    ) -> None:
        self.settings = settings
        self.confirm = confirm
        self._say_failure = say_failure
        self.now = now
        self.dry_run = dry_run
        self.report = Report()
        self._say = say
        #: hides every secret of the settings from what a run prints or records
        self.redact = Redactor.for_settings(settings)
        self._site: Site | None = None
        self.ledger = open_ledger(settings, read_only=dry_run, redact=self.redact)
        # the targets' own bookkeeping, kept in the ledger: uploaded media and
        # per-recipient sends
        self.cms = get_cms(
            settings, media=LedgerMedia(self.ledger, lambda: self.now), clock=lambda: self.now
        )
        self.lst = get_list(
            settings,
            recipients=LedgerRecipients(self.ledger, list_name(settings)),
            suppressions=ListSuppressions(self.ledger.suppressions, settings),
            clock=lambda: self.now,
        )

    def close(self) -> None:
        self.ledger.close()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def site(self) -> Site:
        """Every non-draft post, loaded once per run through the render cache."""
        if self._site is None:
            self._site = load_site(self.settings, drafts=False, cache=not self.dry_run)
            self.report.posts_read += self._site.parsed
        return self._site

    def targets(self) -> Targets:
        return Targets(
            cms=self.cms.name,
            lst=self.lst.name,
            schedules=self.cms.schedules,
            media_target=self.cms.media_target,
        )

    def plan(self, mode: Mode) -> list[Action]:
        """The actions of ``mode``, against the ledger as it is now.

        A newsletter this run would prepare or send is scored by SpamAssassin first
        (where installed; cached by the message's digest): a score that is an error
        leaves its post out, like any other error finding.
        """
        snapshot, targets = self.ledger.snapshot(), self.targets()
        actions = plan(self.site, snapshot, self.now, mode=mode, targets=targets)
        mailing = {a.slug for a in actions if isinstance(a, PrepareCampaign | Send)}
        if not mailing:
            return actions
        scored = spam.site_findings(
            self.settings,
            (p.rendered for p in self.site.posts if p.slug in mailing),
            write_cache=not self.dry_run,
        )
        errors: dict[str, list[Finding]] = {}
        for f in scored:
            if f.level == ERROR and f.post:
                errors.setdefault(f.post, []).append(f)
        if not errors:
            return actions
        return plan(self.site, snapshot, self.now, mode=mode, targets=targets, more_findings=errors)

    def execute(self, mode: Mode, before_send: Callable[[], None] | None = None) -> Report:
        actions = self.plan(mode)
        self.report.actions = actions
        if before_send and not self.dry_run and any(isinstance(a, Send) for a in actions):
            before_send()
        run = Run(
            self.site,
            self.ledger,
            self.cms,
            self.lst,
            now=self.now,
            report=self.report,
            say=self._say,
            redact=self.redact,
            say_failure=self._say_failure,
        )
        executor = Executor(run, self.confirm)
        if self.dry_run:
            executor.dry(actions)
        else:
            executor.execute(actions)
        return self.report

    # -- the commands ----------------------------------------------------------------
    def publish(self, slugs: Sequence[str] = ()) -> Report:
        """``postpipe publish``: every non-draft post to the CMS, campaigns prepared."""
        return self.execute(Publish(tuple(slugs)))

    def send_one(self, slug: str) -> Report:
        """``postpipe send SLUG``: publish the post if needed, then send its newsletter."""
        return self.execute(SendOne(slug))

    def send_test(self, slug: str, address: str) -> Report:
        """``postpipe send SLUG --test ADDRESS``: one copy; the send state is untouched."""
        return self.execute(SendTest(slug, address))

    def send_due(self) -> Report:
        """``postpipe send --due``: what cron runs every minute; silent when idle.
        Before a send, the smtp target's mailbox is read (:meth:`read_mailbox`)."""
        return self.execute(SendDue(), before_send=self.read_mailbox)

    def read_mailbox(self) -> None:
        """Unsubscribe requests and bounces into the suppression list (smtp with
        ``IMAP_HOST``). A failure is reported, and never stops the send."""
        if self.lst.name != "smtp":
            return
        from . import mailbox  # IMAP and the bounce parsers: only for smtp

        if not mailbox.configured(self.settings):
            return
        try:
            outcome = mailbox.read_mailbox(self.settings, self.ledger.suppressions, self.now)
        except PostpipeError as exc:
            self.report.failures += 1
            line = self.redact(f"error  mailbox: {exc.render()} (sending anyway)")
            self.report.lines.append(line)
            say = self._say_failure or self._say
            if say:
                say(line)
            return
        if outcome.handled or outcome.left:
            line = self.redact(outcome.summary())
            self.report.lines.append(line)
            if self._say:
                self._say(line)


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


def run(
    settings: Settings,
    action: Callable[[Publisher], Report],
    *,
    now: datetime,
    dry_run: bool = False,
    say: Say | None = None,
    confirm: Callable[[str], bool] | None = None,
    wait: float = 60.0,
    say_failure: Say | None = None,
) -> Report:
    """Run one action under the site's run lock (no lock for a dry run).

    ``say`` gets each line of the run; ``say_failure`` (default: ``say``) the lines
    that report a failure."""
    kw: dict[str, Any] = {"say": say, "confirm": confirm, "say_failure": say_failure}
    if dry_run:
        with Publisher(settings, now=now, dry_run=True, **kw) as p:
            return action(p)
    with (
        run_lock(settings.state_dir / "run.lock", wait=wait),
        Publisher(settings, now=now, **kw) as p,
    ):
        return action(p)


def status_json(rows: Iterable[dict[str, Any]]) -> str:
    return json.dumps(list(rows), indent=2, ensure_ascii=False)

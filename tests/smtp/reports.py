"""Mail that lands in the unsubscribe/return mailbox, built with the stdlib ``email``
package in the formats real mail servers and people send:

* ``dsn``: a delivery status notification as Postfix writes it (RFC 3464
  ``multipart/report; report-type=delivery-status``: a human part, a
  ``message/delivery-status`` part, and the original's headers as
  ``text/rfc822-headers``), hard (5.1.1 unknown user) or soft (4.2.2 mailbox full);
* ``unsubscribe_request``: what the default ``mailto:`` link sends;
* ``reply``: a person's reply (quoting the newsletter, whose footer says "Unsubscribe").
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage, Message, MIMEPart
from email.utils import format_datetime, make_msgid

WHEN = datetime(2026, 6, 15, 12, 30, tzinfo=UTC)


def dsn(
    recipient: str,
    *,
    hard: bool = True,
    key: str | None = None,
    sender: str = "news@example.org",
    action: str = "failed",
) -> EmailMessage:
    """A Postfix bounce of one message to ``recipient`` (hard 5.1.1 / soft 4.2.2)."""
    status = "5.1.1" if hard else "4.2.2"
    diagnostic = (
        "smtp; 550 5.1.1 <{0}>: Recipient address rejected: User unknown in virtual mailbox table"
        if hard
        else "smtp; 452 4.2.2 <{0}>: Mailbox full"
    ).format(recipient)
    msg = EmailMessage()
    msg["From"] = "MAILER-DAEMON@mx.example.org (Mail Delivery System)"
    msg["To"] = sender
    msg["Subject"] = "Undelivered Mail Returned to Sender"
    msg["Date"] = format_datetime(WHEN)
    msg["Message-ID"] = make_msgid(domain="mx.example.org")
    msg["Auto-Submitted"] = "auto-replied"
    msg.set_type("multipart/report")
    msg.set_param("report-type", "delivery-status")
    msg.set_boundary("B0UNDARY.1781525400/mx.example.org")

    human = MIMEPart()
    human.set_content(
        "This is the mail system at host mx.example.org.\n\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients.\n\n"
        f"<{recipient}>: host mail.example.net said: {diagnostic[6:]}\n",
        disposition="inline",
    )
    human.replace_header("Content-Disposition", "inline")
    human["Content-Description"] = "Notification"

    # message/delivery-status: the per-message fields, then one group per recipient
    per_message, per_recipient = Message(), Message()
    for name, value in (
        ("Reporting-MTA", "dns; mx.example.org"),
        ("X-Postfix-Queue-ID", "4Wq3Zk1Lr2z9sVb"),
        ("X-Postfix-Sender", f"rfc822; {sender}"),
        ("Arrival-Date", "Mon, 15 Jun 2026 12:00:01 +0000 (UTC)"),
    ):
        per_message[name] = value
    for name, value in (
        ("Final-Recipient", f"rfc822; {recipient}"),
        ("Original-Recipient", f"rfc822;{recipient}"),
        ("Action", action),
        ("Status", status),
        ("Remote-MTA", "dns; mail.example.net"),
        ("Diagnostic-Code", diagnostic),
    ):
        per_recipient[name] = value
    status_part = MIMEPart()
    status_part["Content-Type"] = "message/delivery-status"
    status_part["Content-Description"] = "Delivery report"
    status_part.set_payload([per_message, per_recipient])

    headers = MIMEPart()
    original = (
        f"From: Test Network <{sender}>\n"
        f"To: <{recipient}>\n"
        "Subject: Summit recap\n"
        "Date: Mon, 15 Jun 2026 12:00:00 +0000\n"
        f"Message-ID: {make_msgid(domain='example.org')}\n"
        + (f"X-Postpipe-Key: {key}\n" if key else "")
    )
    headers.set_payload(original)
    headers["Content-Type"] = "text/rfc822-headers"
    headers["Content-Description"] = "Undelivered Message Headers"

    msg.set_payload([human, status_part, headers])
    return msg


def unsubscribe_request(sender: str, subject: str = "unsubscribe", body: str = "") -> EmailMessage:
    """The message a mail client writes for ``mailto:news@example.org?subject=unsubscribe``."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "news@example.org"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(WHEN)
    msg["Message-ID"] = make_msgid(domain="example.net")
    msg.set_content(body or "\n")
    return msg


def reply(sender: str, text: str, subject: str = "Re: Summit recap") -> EmailMessage:
    """A person's reply: their ``text``, then the quoted newsletter (with its footer)."""
    quoted = (
        "On Mon, 15 Jun 2026 at 12:00, Test Network <news@example.org> wrote:\n"
        "> Forty neighbours came.\n"
        ">\n"
        "> Unsubscribe: mailto:news@example.org?subject=unsubscribe\n"
    )
    return unsubscribe_request(sender, subject, f"{text}\n\n{quoted}")

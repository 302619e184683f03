"""What a message in the unsubscribe/return mailbox is (``postpipe.mailbox.classify``),
for the formats real servers and people send (no server needed)."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage, Message

from reports import dsn, reply, unsubscribe_request

from postpipe.keys import IdempotencyKey
from postpipe.mailbox import Bounce, classify

KEY = IdempotencyKey.for_newsletter("summit-recap", "smtp:").value


def parsed(msg: Message | bytes):  # type: ignore[no-untyped-def]
    """As read back from IMAP: bytes parsed again."""
    data = msg if isinstance(msg, bytes) else msg.as_bytes()
    return classify(message_from_bytes(data, policy=policy.default))


def test_postfix_dsns_hard_soft_and_delayed() -> None:
    hard = parsed(dsn("ann@example.org", hard=True, key=KEY))
    assert hard.kind == "bounce" and hard.slug == "summit-recap"
    assert hard.bounces == (Bounce("ann@example.org", True, "5.1.1"),)
    soft = parsed(dsn("bo@example.org", hard=False))
    assert soft.bounces == (Bounce("bo@example.org", False, "4.2.2"),) and soft.slug is None
    delayed = parsed(dsn("bo@example.org", hard=False, action="delayed"))
    assert delayed.bounces == (Bounce("bo@example.org", False, "4.2.2"),)
    delivered = parsed(dsn("cy@example.org", hard=False, action="delivered"))
    assert delivered.kind == "unknown"  # a success notice: nothing to do, left for a person


def test_a_bounce_in_an_older_format_is_read_with_flufl_bounce() -> None:
    qmail = (
        b"From: MAILER-DAEMON@mx.example.org\r\nTo: news@example.org\r\n"
        b"Subject: failure notice\r\n\r\n"
        b"Hi. This is the qmail-send program at mx.example.org.\r\n"
        b"I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
        b"This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n"
        b"<gus@example.org>:\r\n"
        b"Remote host said: 550 5.1.1 <gus@example.org>: User unknown\r\n\r\n"
        b"--- Below this line is a copy of the message.\r\n\r\n"
        b"From: news@example.org\r\nTo: gus@example.org\r\n"
    )
    found = parsed(qmail)
    assert found.kind == "bounce" and found.bounces == (Bounce("gus@example.org", True, ""),)


def test_a_complaint_report_names_the_complainer() -> None:
    msg = EmailMessage()
    msg["From"] = "feedback@fbl.example.net"
    msg["To"] = "news@example.org"
    msg["Subject"] = "Complaint"
    msg.set_type("multipart/report")
    msg.set_param("report-type", "feedback-report")
    human = EmailMessage()
    human.set_content("This is an email abuse report.")
    report = Message()
    report["Feedback-Type"] = "abuse"
    report["Original-Rcpt-To"] = "<hal@example.org>"
    part = EmailMessage()
    part["Content-Type"] = "message/feedback-report"
    part.set_payload([report])
    msg.set_payload([human, part])
    found = parsed(msg)
    assert (found.kind, found.address) == ("complaint", "hal@example.org")


def test_unsubscribe_requests_and_replies() -> None:
    assert parsed(unsubscribe_request("Cy <cy@example.org>")).address == "cy@example.org"
    assert parsed(unsubscribe_request("cy@example.org", "Re: Unsubscribe")).kind == "unsubscribe"
    assert parsed(unsubscribe_request("cy@example.org", "avsluta")).kind == "unsubscribe"
    asks = parsed(reply("eve@example.org", "Please unsubscribe me."))
    assert (asks.kind, asks.address) == ("unsubscribe", "eve@example.org")
    # the quoted newsletter's own "Unsubscribe" footer is not a request
    assert parsed(reply("dee@example.org", "Thanks, lovely evening!")).kind == "unknown"
    # a message that is not a reply asks only through its subject
    text = unsubscribe_request("fay@example.org", "Question", "How do I unsubscribe my wife?")
    assert parsed(text).kind == "unknown"


def test_auto_replies_are_never_requests() -> None:
    vacation = unsubscribe_request("gus@example.org", "Re: unsubscribe", "I am away.")
    vacation["Auto-Submitted"] = "auto-replied"
    assert parsed(vacation).kind == "unknown"

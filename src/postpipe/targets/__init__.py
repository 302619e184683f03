"""Publishing targets: CMSs and mailing lists, behind two small protocols."""

from .base import CMS, Campaign, MailingList, OutgoingEmail, PostPush, RemoteRef, get_cms, get_list

__all__ = [
    "CMS",
    "Campaign",
    "MailingList",
    "OutgoingEmail",
    "PostPush",
    "RemoteRef",
    "get_cms",
    "get_list",
]

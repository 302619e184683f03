"""Optional target capabilities are declared on the protocols (with defaults), not
probed with ``getattr``; the unsubscribe tag is a property of the list class."""

from __future__ import annotations

import importlib

import pytest

from postpipe.render.email import UNSUBSCRIBE_TAGS
from postpipe.targets.base import CMS, CMS_TARGETS, LIST_TARGETS, MailingList


def _class(path: str) -> type:
    module, _, name = path.partition(":")
    cls: type = getattr(importlib.import_module(module), name)
    return cls


@pytest.mark.parametrize("name", sorted(LIST_TARGETS))
def test_each_list_declares_its_unsubscribe_tag_as_the_email_renders_it(name: str) -> None:
    cls = _class(LIST_TARGETS[name])
    assert MailingList in cls.__mro__
    assert cls.unsubscribe_tag == UNSUBSCRIBE_TAGS.get(name)  # None: postpipe's own URL


@pytest.mark.parametrize("name", sorted(CMS_TARGETS))
def test_each_cms_declares_its_capabilities(name: str) -> None:
    cls = _class(CMS_TARGETS[name])
    assert CMS in cls.__mro__
    # a folder cannot publish later and serves the whole site; the hosted CMSes
    # schedule and render their own index pages
    assert (cls.schedules, cls.site_pages) == ((False, True) if name == "folder" else (True, False))


def test_the_defaults_of_the_protocols() -> None:
    class Minimal(MailingList):
        name = "minimal"

    assert Minimal().recipients_count() is None
    assert Minimal.unsubscribe_tag is None

    class Pages(CMS):
        name = "pages"

    assert Pages.schedules and not Pages.site_pages and Pages.media_target is None
    assert Pages().finish({}) == 0

"""One parse per HTML text, shared by the rules of a post.

The rules read the same three documents of a rendered post (the blog page, the
inlined email, the body); each is parsed once and the tree is shared. The trees
are **read-only**: a rule that needs to change one works on a copy
(``copy.deepcopy``), so that no rule changes what another sees
(``tests/unit/test_checks_speed.py`` checks that the rules leave them as they were).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=8)
def document(html: str) -> Any:
    """The lxml document of ``html`` (shared: never change it)."""
    import lxml.html

    return lxml.html.document_fromstring(html)


def body(html: str) -> Any:
    """A post body's HTML in a ``<div>`` (shared: never change it)."""
    return document(f"<div>{html}</div>")

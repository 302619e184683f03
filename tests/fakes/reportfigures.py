"""What a test sets as a sent campaign's results on a contract fake (``fake.reports[id]``).

Each fake turns these into its provider's own report answer (field names, nesting,
rates as the provider gives them); ``omit`` names figures the provider leaves out
(answered as missing or ``null``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Figures:
    sent: int = 0
    delivered: int = 0
    hard_bounces: int = 0
    soft_bounces: int = 0
    opens_total: int = 0
    unique_opens: int = 0
    clicks_total: int = 0
    unique_clicks: int = 0
    unsubscribes: int = 0
    links: dict[str, int] = field(default_factory=dict)
    omit: frozenset[str] = frozenset()

    def get(self, name: str) -> int | None:
        """A figure, or ``None`` when the test made the provider leave it out."""
        return None if name in self.omit else getattr(self, name)

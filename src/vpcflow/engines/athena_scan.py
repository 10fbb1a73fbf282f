"""What Athena scanned, per rule and in total, and the budget that stops a run before it costs too much.

Athena bills by the bytes a query scans (``Statistics.DataScannedInBytes``). A rule's scan is known only
once it has run, so the budget judges the next rule by the largest rule so far: over text files every
rule reads the same folders, so that is close; over Parquet it errs on the side of stopping early.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vpcflow.engines.base import RunStopped

GB = 10**9
"""Decimal gigabytes, as Athena's price per terabyte counts them."""

OUTSIDE_RULES = "(outside rules)"


def gigabytes(n: int) -> str:
    """Bytes for people: MB below a gigabyte, so a small scan does not read as 0.00 GB."""
    return f"{n / GB:.2f} GB" if n >= GB else f"{n / 10**6:.1f} MB"


@dataclass
class ScanMeter:
    budget: int | None = None  # bytes; None: no budget
    by_rule: dict[str, int] = field(default_factory=dict)
    queries: int = 0
    rule: str = OUTSIDE_RULES
    _judged: bool = False

    @property
    def total(self) -> int:
        return sum(self.by_rule.values())

    def start_rule(self, rule_id: str) -> None:
        """Queries from now on belong to ``rule_id`` (its main query, then its evidence look-ups)."""
        self.rule = rule_id
        self._judged = False

    def before_query(self) -> None:
        """Stop before a rule's first query when the rule, scanning as much as the largest one so far,
        would take the total past the budget. Its evidence look-ups are not judged again."""
        if self.budget is None or self._judged:
            return
        largest = max(self.by_rule.values(), default=0)
        if self.total + largest > self.budget:
            raise RunStopped(
                f"Stopped before rule {self.rule}: {gigabytes(self.total)} scanned so far and a rule scans up to "
                f"{gigabytes(largest)}, which would pass the {gigabytes(self.budget)} budget of --max-scan-gb."
            )
        self._judged = True

    def add(self, scanned: int) -> None:
        self.queries += 1
        self.by_rule[self.rule] = self.by_rule.get(self.rule, 0) + scanned

    def summary(self) -> str:
        """One line for stderr: the total, then the rules that scanned most."""
        ranked = sorted(((n, r) for r, n in self.by_rule.items() if r != OUTSIDE_RULES), reverse=True)
        top = ", ".join(f"{r} {gigabytes(n)}" for n, r in ranked[:5])
        return f"Athena scanned {gigabytes(self.total)} in {self.queries} queries" + (f" (most: {top})" if top else "")

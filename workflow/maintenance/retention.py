"""`flask apply-retention`: anonymise the citizen data of cases closed longer ago than the retention period.

Run it from cron (once a night is plenty). The rule is workflow/services/retention.py; this prints what it did
(case numbers and counts, never a name or CPR number) and exits 1 if a citizen could not be anonymised.
"""
from __future__ import annotations

import click
from flask import Flask

from workflow.clock import COPENHAGEN
from workflow.services.retention import PDF_KEY, RetentionReport


def _count(number: int, one: str, many: str | None = None) -> str:
    return f"{number} {one if number == 1 else (many or one + 's')}"


def summary(report: RetentionReport) -> list[str]:
    """The lines the command prints: the rule, one line per case, the totals and any failure."""
    would = "would be " if report.dry_run else ""
    lines = [f"Retention {_count(report.years, 'year')}: citizens whose cases were all closed before "
             f"{report.cutoff.astimezone(COPENHAGEN):%d-%m-%Y %H:%M} {would}anonymised"
             f"{' (dry run: nothing is changed)' if report.dry_run else ''}."]
    for case in report.cases:
        pdfs = case.counts.get(PDF_KEY, 0)
        lines.append(f"  {case.number} (closed {case.closed_at.astimezone(COPENHAGEN):%d-%m-%Y}): "
                     f"{_count(case.texts, 'text')} {would}redacted"
                     + (f", {_count(pdfs, 'archived contract summary', 'archived contract summaries')} "
                        f"{would}made again" if pdfs else ""))
    totals = report.totals
    pdfs = totals.pop(PDF_KEY, 0)
    by_column = ", ".join(f"{key} {count}" for key, count in sorted(totals.items()))
    lines.append(f"{_count(len(report.done), 'citizen')} with {_count(len(report.cases), 'case')} {would}anonymised: "
                 f"{_count(sum(totals.values()), 'text')} {would}redacted{f' ({by_column})' if by_column else ''}, "
                 f"{_count(pdfs, 'archived contract summary', 'archived contract summaries')} {would}made again.")
    for failed in report.failed:
        lines.append(f"Citizen id {failed.citizen_id} not anonymised ({failed.error}): nothing of theirs was "
                     "changed; the next run tries again.")
    return lines


def init_app(app: Flask) -> None:
    """Registers this module's commands on app.cli."""

    @app.cli.command("apply-retention")
    @click.option("--dry-run", is_flag=True, help="Report what would be anonymised; change nothing.")
    def apply_retention(dry_run: bool):
        """Anonymise citizens whose cases were all closed longer ago than the retention period (setting)."""
        from workflow.services import retention

        report = retention.apply_retention(dry_run=dry_run)
        for line in summary(report):
            click.echo(line)
        if not report.ok:
            raise click.ClickException(f"{_count(len(report.failed), 'citizen')} could not be anonymised.")

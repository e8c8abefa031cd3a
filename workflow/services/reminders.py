"""Reminders by e-mail about follow-ups that are soon due or overdue (`flask --app wsgi send-reminders`).

Run daily from cron. The rules:

- Which follow-ups: open ones (neither held nor cancelled) on open cases (neither closed nor
  cancelled) whose state today (`followup.state_of`) is soon, due or overdue, that is due within the
  setting `followup_soon_days` (14 days by default) or past their date.
- Who is reminded: about an individual follow-up, the case owner (the caseworker); about a supplier
  review, procurement and economy on the case, or the owner when neither is set. Inactive users and
  users without an e-mail address are skipped (and counted as skipped).
- How often: once when the follow-up becomes soon due (state soon or due, recorded as "soon"), once
  when it becomes overdue ("overdue"), and again every 7 days while it stays overdue. ReminderSent
  keeps what was sent to whom and when, so running twice the same day sends nothing new. A new
  owner or colleague on the case is reminded from the start, as nothing was sent to them yet.
- What is sent: one mail per person per run listing all their follow-ups: case number, kind, due
  date (dd-mm-yyyy), how soon due or how long overdue, and a link to the case's follow-up page. Never the
  citizen's name or CPR number. In Danish, whoever runs the command.
- Delivery: a person's ReminderSent rows are written and committed only after their mail was handed
  to the SMTP server. This batch job therefore commits once per person, unlike the other services.
  When one person's mail fails, it is logged (user id and error type only), the others are still
  sent, and the report lists the failure; the next run retries, since nothing was recorded.

Links are built with url_for(..., _external=True), so the caller runs this inside a request
context that knows the app's public address (the command gives one).
"""
from __future__ import annotations

import logging
import smtplib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import url_for
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from workflow import i18n
from workflow.extensions import db
from workflow.models import FollowUp, ReminderSent, User
from workflow.process import Stage
from workflow.services import followup, mail, settings

log = logging.getLogger(__name__)

SOON, OVERDUE = "soon", "overdue"       # what a ReminderSent row reminded of
OVERDUE_REPEAT = timedelta(days=7)      # remind again this long after the last overdue reminder
CLOSED_STAGES = (Stage.CLOSED, Stage.CANCELLED)


@dataclass
class Reminder:
    """One follow-up in one person's mail."""

    follow_up: FollowUp
    state: str       # the follow-up's state today: soon, due or overdue
    reminds_of: str  # what is recorded: "soon" or "overdue"
    follow_up_id: int = field(init=False)  # kept, as a commit expires the loaded follow-up

    def __post_init__(self):
        self.follow_up_id = self.follow_up.id


@dataclass
class ReminderMail:
    user: User
    reminders: list[Reminder]
    mail: mail.Mail
    user_id: int = field(init=False)

    def __post_init__(self):
        self.user_id = self.user.id


@dataclass
class ReminderReport:
    """What a run did (or, in a dry run, would do)."""

    today: date
    dry_run: bool = False
    mails: list[ReminderMail] = field(default_factory=list)   # handed to the SMTP server (or planned)
    skipped: int = 0                                          # reminders for inactive users or without e-mail
    failed_user_ids: list[int] = field(default_factory=list)  # whose mail could not be sent

    @property
    def people(self) -> int:
        return len(self.mails)

    @property
    def follow_ups(self) -> int:
        return len({reminder.follow_up_id for sent in self.mails for reminder in sent.reminders})

    @property
    def ok(self) -> bool:
        return not self.failed_user_ids


def reminder_due(state: str, sent: list[ReminderSent], today: date) -> str | None:
    """What to remind this person of today ("soon" or "overdue"), given what they were sent; or None."""
    if state == followup.OVERDUE:
        last = max((row.sent_on for row in sent if row.state == OVERDUE), default=None)
        return OVERDUE if last is None or today - last >= OVERDUE_REPEAT else None
    if state in (followup.SOON, followup.DUE):
        return None if any(row.state == SOON for row in sent) else SOON
    return None


def state_text(follow_up: FollowUp, today: date) -> str:
    """How soon the follow-up is due, or how long it is overdue, in the current language."""
    days = (follow_up.due_date - today).days
    if days > 0:
        return ngettext("due in %(num)d day", "due in %(num)d days", days)
    if days == 0:
        return _("due today")
    return ngettext("overdue by %(num)d day", "overdue by %(num)d days", -days)


def _sent_before(follow_ups: list[FollowUp]) -> dict[tuple[int, int], list[ReminderSent]]:
    found = defaultdict(list)
    if follow_ups:
        for row in db.session.scalars(select(ReminderSent).where(
                ReminderSent.follow_up_id.in_([follow_up.id for follow_up in follow_ups]))):
            found[(row.follow_up_id, row.user_id)].append(row)
    return found


def _can_receive(user: User) -> bool:
    return bool(user.active and (user.email or "").strip())


def _build_mail(user: User, reminders: list[Reminder], today: date) -> mail.Mail:
    with force_locale("da"):  # staff read Danish, whoever runs the command
        count = len(reminders)
        lines = [_("Dear %(name)s,", name=user.full_name), "",
                 ngettext("This follow-up is soon due or overdue:",
                          "These follow-ups are soon due or overdue:", count), ""]
        for reminder in reminders:
            follow_up = reminder.follow_up
            lines += [_("Case %(number)s: %(kind)s", number=follow_up.case.number,
                        kind=i18n.followup_kind_label(follow_up.kind)),
                      "  " + _("Due date: %(date)s (%(state)s)", date=i18n.day(follow_up.due_date),
                               state=state_text(follow_up, today)),
                      "  " + url_for("followup.overview", case_id=follow_up.case_id, _external=True), ""]
        lines += [_("You are reminded when a follow-up is soon due, when it becomes overdue and every "
                    "%(days)d days while it stays overdue.", days=OVERDUE_REPEAT.days),
                  _("This mail was sent automatically by Socialkøb.")]
        subject = ngettext("Reminder: %(num)d follow-up soon due or overdue",
                           "Reminder: %(num)d follow-ups soon due or overdue", count)
    return mail.Mail(to=[user.email.strip()], subject=subject, body="\n".join(lines) + "\n")


def plan(today: date) -> tuple[list[ReminderMail], int]:
    """The mails due today, one per person, and how many reminders were skipped (nobody to send to)."""
    soon_days = settings.get("followup_soon_days")
    follow_ups = followup.due(today)
    sent_before = _sent_before(follow_ups)
    per_user: dict[int, list[Reminder]] = defaultdict(list)
    users: dict[int, User] = {}
    skipped = 0
    for follow_up in follow_ups:
        state = followup.state_of(follow_up, today, soon_days)
        for user in followup.responsible(follow_up):
            reminds_of = reminder_due(state, sent_before[(follow_up.id, user.id)], today)
            if reminds_of is None:
                continue
            if not _can_receive(user):
                skipped += 1
                continue
            users[user.id] = user
            per_user[user.id].append(Reminder(follow_up, state, reminds_of))
    mails = [ReminderMail(users[user_id], reminders, _build_mail(users[user_id], reminders, today))
             for user_id, reminders in sorted(per_user.items())]
    return mails, skipped


def _deliver(planned: ReminderMail, today: date) -> bool:
    """Send one person's mail, then record and commit what it reminded of. False when sending failed."""
    try:
        mail.send(planned.mail)
    except (smtplib.SMTPException, OSError, ValueError) as error:
        # The error's text may hold the address: log the user id and the kind of error only.
        log.warning("reminder mail to user %s failed: %s", planned.user_id, type(error).__name__)
        return False
    for reminder in planned.reminders:
        db.session.add(ReminderSent(follow_up_id=reminder.follow_up_id, user_id=planned.user_id,
                                    state=reminder.reminds_of, sent_on=today))
    try:
        db.session.commit()
    except IntegrityError:
        # A run at the same time recorded the same reminders: the mail went out, nothing is lost.
        db.session.rollback()
        log.warning("reminders to user %s were recorded by another run", planned.user_id)
    return True


def send_reminders(today: date, dry_run: bool = False) -> ReminderReport:
    """Mail each responsible person their follow-ups soon due or overdue; see the module's rules.

    With dry_run, the mails are planned and reported but neither sent nor recorded.
    """
    mails, skipped = plan(today)
    report = ReminderReport(today=today, dry_run=dry_run, skipped=skipped)
    if dry_run:
        report.mails = mails
        return report
    for planned in mails:
        if _deliver(planned, today):
            report.mails.append(planned)
        else:
            report.failed_user_ids.append(planned.user_id)
    log.info("reminders for %s: %d mailed about %d follow-ups, %d skipped, %d failed", today.isoformat(),
             report.people, report.follow_ups, report.skipped, len(report.failed_user_ids))
    return report

"""Does the seeded data hold together? Open the pages of a sample of cases in every stage, as their own people.

For each stage a few cases are opened by their owner (the case page, needs, market scan, dialogue,
contract, follow-up and ending pages, as far as the case has come) and by their procurement colleague;
then each unit's manager opens the dashboard and a caseworker the start page and task list. Every
page must answer 200; the ones that do not are returned.
"""
from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

STAGES = ("needs", "market_scan", "dialogue", "terms", "approval", "delivery", "follow_up", "ending", "closed",
          "cancelled")
LATER = {stage: STAGES.index(stage) for stage in STAGES}


def case_urls(case) -> list[str]:
    """The pages of a case that its stage has reached."""
    reached = LATER["ending"] if case.stage in ("closed",) else LATER.get(case.stage, 0)
    base = f"/cases/{case.id}"
    urls = [base, f"{base}/needs"] if case.stage == "needs" else [base]
    if case.stage == "cancelled":
        return urls
    if reached >= LATER["market_scan"]:
        urls.append(f"{base}/market-scan")
    if reached >= LATER["dialogue"]:
        urls += [f"{base}/dialogue", f"{base}/dialogue/comparison"]
    if reached >= LATER["terms"]:
        urls.append(f"{base}/contract")
    if reached >= LATER["delivery"]:
        urls += [f"{base}/followup", f"{base}/contract.pdf"]
    if reached >= LATER["ending"]:
        urls.append(f"{base}/ending")
    return urls


def check_sample(app: Flask, per_stage: int = 2) -> list[tuple[str, str, int]]:
    """(login, url, status) of every page of the sample that did not answer 200; empty when all did."""
    from bench._support import sign_in
    from workflow.extensions import db
    from workflow.models import Inquiry, PurchaseCase, Role, User

    failed, clients, plan = [], {}, []
    with app.app_context():
        for stage in STAGES:
            cases = db.session.scalars(select(PurchaseCase).where(PurchaseCase.stage == stage)
                                       .order_by(PurchaseCase.id).limit(per_stage)).all()
            for case in cases:
                owner = db.session.get(User, case.owner_id).login
                plan += [(owner, url) for url in case_urls(case)]
                if case.procurement_id and stage in ("dialogue", "terms", "approval"):
                    buyer = db.session.get(User, case.procurement_id).login
                    plan += [(buyer, f"/cases/{case.id}"), (buyer, f"/cases/{case.id}/dialogue")]
                    inquiry = db.session.scalar(select(Inquiry.id).where(Inquiry.case_id == case.id))
                    if inquiry:
                        plan.append((buyer, f"/cases/{case.id}/dialogue/inquiries/{inquiry}"))
        units = db.session.scalars(select(PurchaseCase.unit_id).group_by(PurchaseCase.unit_id)
                                   .order_by(func.count().desc())).all()
        for unit_id in units:
            manager = db.session.scalar(select(User.login).where(User.unit_id == unit_id, User.role == Role.MANAGER)
                                        .order_by(User.id))
            caseworker = db.session.scalar(select(User.login).where(User.unit_id == unit_id,
                                                                    User.role == Role.CASEWORKER).order_by(User.id))
            if manager:
                plan += [(manager, "/reports"), (manager, "/"), (manager, "/cases?scope=tasks")]
            if caseworker:
                plan += [(caseworker, "/"), (caseworker, "/cases?scope=tasks"), (caseworker, "/cases?scope=unit")]
    for login, url in plan:
        if login not in clients:
            clients[login] = sign_in(app, login)
        status = clients[login].get(url).status_code
        if status != 200:
            failed.append((login, url, status))
    return failed

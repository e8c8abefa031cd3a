"""The demo's purchase cases in every stage: stages 1–5 or cancelled as staff left them, then the placements."""
from __future__ import annotations

import random
from datetime import date, timedelta

from workflow.demo.casework import _assess, _case_input, _citizen_name, _work_until
from workflow.demo.people import CprFactory
from workflow.demo.placements import seed_placements
from workflow.models import PurchaseCase, User
from workflow.municipalities import MUNICIPALITIES
from workflow.process import PROCESS_STAGES, Event, Stage
from workflow.services import cases, transitions

PLACEMENT_STAGES = (Stage.DELIVERY, Stage.FOLLOW_UP, Stage.ENDING)


def seed_cases(people: dict[str, User], count: int = 36, rng: random.Random | None = None) -> list[PurchaseCase]:
    """Cases in every stage, worked through the services like real ones.

    Two thirds of `count` are spread over stages 1–5 and cancelled, as staff left them. Then the
    placements (stages 6–8, see `seed_placements`): the full mix when `count` is 36 or more, one
    of each kind for a smaller demo (the browser tests').
    """
    rng = rng or random.Random(2026)
    cprs = CprFactory(rng)
    opened = []
    stages = list(PROCESS_STAGES) + [Stage.CANCELLED]
    for index in range(count):
        target = stages[index % len(stages)]
        if target in PLACEMENT_STAGES:
            continue
        child = index % 4 == 3
        owner = people["boernesag"] if child else people[rng.choice(("caseworker", "caseworker", "caseworker2"))]
        basis, group, budget = _case_input(rng, child)
        case = cases.open_case(
            owner, cpr_text=cprs.child() if child else cprs.adult(),
            citizen_name=_citizen_name(rng),
            home_municipality=rng.choice(MUNICIPALITIES).code, legal_basis=basis.code, target_group=group,
            acute=rng.random() < 0.12, desired_start=date.today() + timedelta(days=rng.randint(14, 120)),
            budget_frame=budget, procurement=people[rng.choice(("procurement", "procurement2"))],
            economy=people["economy"] if rng.random() < 0.7 else None)
        complete = target != Stage.NEEDS or rng.random() < 0.5
        _assess(case, owner, rng, complete=complete, child=child)
        if target != Stage.NEEDS:
            if target == Stage.CANCELLED:
                transitions.take_step(case, Event.CANCEL, owner, reason="Borgeren har fået tilbud i egen kommune")
            else:
                transitions.take_step(case, Event.COMPLETE_ASSESSMENT, owner)
                _work_until(case, owner, target, rng)
        opened.append(case)
    return opened + seed_placements(people, cprs, full=count >= 36)

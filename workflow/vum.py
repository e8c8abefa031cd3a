"""The needs-assessment vocabulary of VUM 2.0 (adults); the same goal model serves children."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

# Aktivitet og deltagelse, then Funktioner: (code, label, group)
THEMES: tuple[tuple[str, object, object], ...] = (
    ("practical_tasks", _l("Practical tasks"), _l("Activity and participation")),
    ("self_care", _l("Self-care"), _l("Activity and participation")),
    ("mobility", _l("Mobility"), _l("Activity and participation")),
    ("communication", _l("Communication"), _l("Activity and participation")),
    ("community_life", _l("Community life"), _l("Activity and participation")),
    ("relations", _l("Relations"), _l("Activity and participation")),
    ("mental_functions", _l("Mental functions"), _l("Functions")),
    ("physical_functions", _l("Physical functions"), _l("Functions")),
    ("health", _l("Health"), _l("Functions")),
    ("social_conditions", _l("Social conditions"), _l("Functions")),
)
THEME_LABELS = {code: label for code, label, _group in THEMES}

# Functional level per theme; None means "ikke vurderet" (not assessed).
FUNCTION_LEVELS: tuple[tuple[int, object], ...] = (
    (0, _l("0 – No reduced functional ability")),
    (1, _l("1 – Slightly reduced")),
    (2, _l("2 – Moderately reduced")),
    (3, _l("3 – Severely reduced")),
    (4, _l("4 – Completely reduced")),
)
LEVEL_LABELS = dict(FUNCTION_LEVELS)
NOT_ASSESSED = _l("Not assessed")

SUPPORT_NEEDS: tuple[tuple[str, object], ...] = (
    ("none", _l("None")),
    ("light", _l("Light")),
    ("moderate", _l("Moderate")),
    ("high", _l("High")),
    ("complete", _l("Complete")),
)
SUPPORT_NEED_LABELS = dict(SUPPORT_NEEDS)

GOAL_TYPES: tuple[tuple[str, object], ...] = (
    ("develop", _l("Develop")),
    ("maintain", _l("Maintain")),
    ("limit_loss", _l("Limit loss of functional ability")),
)
GOAL_TYPE_LABELS = dict(GOAL_TYPES)

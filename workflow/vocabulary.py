"""Target groups and service types, shared by purchase cases and the offer registry.

The codes follow Tilbudsportalen's categories closely enough to import its exports.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

TARGET_GROUPS: tuple[tuple[str, object], ...] = (
    ("intellectual_disability", _l("Intellectual disability")),
    ("autism", _l("Autism spectrum")),
    ("acquired_brain_injury", _l("Acquired brain injury")),
    ("physical_disability", _l("Physical disability")),
    ("mental_illness", _l("Mental illness")),
    ("substance_abuse", _l("Substance abuse")),
    ("homelessness", _l("Homelessness")),
    ("children_social", _l("Children and young people with social difficulties")),
    ("children_disability", _l("Children and young people with disabilities")),
    ("behavioural", _l("Behavioural, emotional or social problems")),
)
TARGET_GROUP_LABELS = dict(TARGET_GROUPS)

SERVICE_TYPES: tuple[tuple[str, object], ...] = (
    ("assessment", _l("Assessment (afklaring)")),
    ("activity", _l("Activity and social contact")),
    ("treatment", _l("Treatment")),
    ("sheltered_employment", _l("Sheltered employment")),
    ("leisure", _l("Leisure")),
    ("residence", _l("Residence (ophold)")),
    ("teaching", _l("Teaching")),
    ("training", _l("Training")),
    ("socio_educational_support", _l("Socio-educational support")),
    ("counselling", _l("Counselling")),
    ("practical_help", _l("Practical help")),
    ("personal_help", _l("Personal help")),
)
SERVICE_TYPE_LABELS = dict(SERVICE_TYPES)

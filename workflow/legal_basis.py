"""The legal bases a purchase can rest on (Serviceloven for adults, Barnets Lov for children)."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class LegalBasis:
    code: str          # stored value, e.g. "SEL-108"
    law: str           # "SEL" (Serviceloven) or "BL" (Barnets Lov)
    paragraph: str     # "§ 108"
    title: object      # lazily translated
    for_children: bool
    placement: bool    # a stay away from home: follow-up within 3 months, then yearly
    typical_services: tuple[str, ...] = ()  # the service types a market scan looks for by default

    @property
    def label(self) -> str:
        law = "Barnets Lov" if self.law == "BL" else "Serviceloven"
        return f"{law} {self.paragraph} – {self.title}"


LEGAL_BASES: tuple[LegalBasis, ...] = (
    LegalBasis("SEL-85", "SEL", "§ 85", _l("Socio-educational support"), False, False,
               ("socio_educational_support",)),
    LegalBasis("SEL-103", "SEL", "§ 103", _l("Sheltered employment"), False, False, ("sheltered_employment",)),
    LegalBasis("SEL-104", "SEL", "§ 104", _l("Activity and social offers"), False, False, ("activity",)),
    LegalBasis("SEL-107", "SEL", "§ 107", _l("Temporary residential offer"), False, True,
               ("residence", "socio_educational_support")),
    LegalBasis("SEL-108", "SEL", "§ 108", _l("Long-term residential offer"), False, True,
               ("residence", "socio_educational_support", "personal_help")),
    LegalBasis("SEL-110", "SEL", "§ 110", _l("Shelter (forsorgshjem/herberg)"), False, True, ("residence",)),
    LegalBasis("BL-32", "BL", "§ 32", _l("Supportive measures"), True, False, ("counselling", "treatment")),
    LegalBasis("BL-43", "BL", "§ 43", _l("Placement location"), True, True, ("residence", "teaching")),
    LegalBasis("BL-46", "BL", "§ 46", _l("Placement with consent"), True, True, ("residence", "teaching")),
    LegalBasis("BL-47", "BL", "§ 47", _l("Placement without consent"), True, True, ("residence", "treatment")),
)

BY_CODE = {basis.code: basis for basis in LEGAL_BASES}


def legal_basis(code: str) -> LegalBasis:
    return BY_CODE[code]


def choices() -> list[tuple[str, str]]:
    return [(basis.code, basis.label) for basis in LEGAL_BASES]

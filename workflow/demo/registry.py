"""The demo's supplier registry: suppliers across the country with their offers."""
from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from workflow.demo.people import FIRST_NAMES, LAST_NAMES
from workflow.municipalities import MUNICIPALITIES

SUPPLIER_WORDS = ("Bo- og Aktivitetscenter", "Opholdssted", "Bofællesskabet", "Botilbuddet",
                  "Socialpsykiatrisk Center", "Specialbørnehjemmet", "Dagtilbuddet", "Støttecentret",
                  "Familiecentret", "Behandlingshjemmet")
PLACE_NAMES = ("Solsikken", "Egebakken", "Lærkereden", "Skovbrynet", "Fjordglimt", "Havblik", "Kastanjehuset",
               "Engholm", "Bakkely", "Lindegården", "Granly", "Mosegården", "Åbrinken", "Nordlyset", "Strandvejen",
               "Bøgely", "Tusindfryd", "Klitgården", "Vesterled", "Østerhøj", "Kildegården", "Hyldebærhuset")
OFFER_PROFILES = (
    # legal bases, typical target groups, service types, unit, price range
    (("SEL-108",), ("intellectual_disability", "autism", "acquired_brain_injury", "physical_disability"),
     ("residence", "socio_educational_support", "personal_help", "practical_help"), "døgn", (2200, 3300)),
    (("SEL-107",), ("mental_illness", "acquired_brain_injury", "substance_abuse", "autism"),
     ("residence", "socio_educational_support", "treatment", "assessment"), "døgn", (1900, 3000)),
    (("SEL-107", "SEL-108"), ("mental_illness", "intellectual_disability", "autism"),
     ("residence", "socio_educational_support", "training"), "døgn", (2100, 3100)),
    (("SEL-85",), ("mental_illness", "autism", "intellectual_disability", "homelessness"),
     ("socio_educational_support", "counselling", "practical_help"), "time", (380, 520)),
    (("SEL-103", "SEL-104"), ("intellectual_disability", "acquired_brain_injury", "mental_illness"),
     ("sheltered_employment", "activity", "leisure"), "måned", (9000, 16000)),
    (("SEL-110",), ("homelessness", "substance_abuse"), ("residence", "counselling"), "døgn", (700, 1300)),
    (("BL-43", "BL-46", "BL-47"), ("children_social", "behavioural", "children_disability"),
     ("residence", "teaching", "treatment"), "døgn", (2800, 4200)),
    (("BL-32",), ("children_social", "behavioural", "autism"),
     ("counselling", "treatment", "socio_educational_support"), "time", (450, 700)),
)
FRAMEWORKS = ("Rammeaftale Botilbud Region Midt 2025", "KKR Hovedstaden styringsaftale 2026", "SKI socialområdet 2024")


def _supplier_input(rng: random.Random, index: int):
    from workflow.services.registry import SupplierInput

    kind = rng.choices(("privat", "selvejende", "kommunal", "regional"), (45, 25, 20, 10))[0]
    name = f"{rng.choice(SUPPLIER_WORDS)} {rng.choice(PLACE_NAMES)}"
    if kind == "privat":
        name += rng.choice((" ApS", " A/S", " I/S"))
    return SupplierInput(cvr=f"{30000000 + index * 7919 % 60000000:08d}", name=name, supplier_type=kind,
                         ean=f"579{rng.randint(10**9, 10**10 - 1)}",
                         address=f"{rng.choice(PLACE_NAMES)}vej {index % 90 + 1}",
                         contact_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                         contact_email=f"kontakt{index}@leverandoer.example",
                         contact_phone=f"+45 {rng.randint(20000000, 99999999)}")


def _offer_input(rng: random.Random, index: int, today: date):
    from workflow.services.registry import OfferInput

    bases, groups, services, unit, (low, high) = rng.choice(OFFER_PROFILES)
    price = Decimal(rng.randint(low, high))
    if rng.random() < 0.07:
        price = (price * Decimal("1.6")).quantize(Decimal(1))  # a few far above the market
    places = rng.choice((4, 6, 8, 12, 16, 24, 40)) if unit != "time" else rng.choice((20, 40, 80))
    status = rng.choices(("approved", "pending", "not_approved"), (85, 10, 5))[0]
    updated = today - timedelta(days=int(rng.expovariate(1 / 200)))
    framework = rng.random() < 0.2
    return OfferInput(
        key=f"TP-{100000 + index}", name=f"{rng.choice(SUPPLIER_WORDS)} {rng.choice(PLACE_NAMES)}",
        municipality=rng.choice(MUNICIPALITIES).code, list_price=price, price_unit=unit,
        price_effective_from=date(today.year, 1, 1), approval_status=status, data_updated_on=updated,
        address=f"{rng.choice(PLACE_NAMES)}vej {rng.randint(1, 120)}", legal_bases=list(bases),
        target_groups=rng.sample(groups, rng.randint(1, len(groups))),
        service_types=rng.sample(services, rng.randint(max(1, len(services) - 2), len(services))),
        places=places, vacancies=rng.randint(0, max(1, places // 4)),
        approved_on=updated - timedelta(days=rng.randint(30, 900)) if status == "approved" else None,
        framework_agreement=framework, framework_name=rng.choice(FRAMEWORKS) if framework else "",
        quality_note=rng.choice(("", "", "Tilsynsrapport 2025 uden påbud.", "Skærpet tilsyn i 2024, nu ophævet.")))


def seed_registry(count: int = 400, rng: random.Random | None = None) -> list:
    """A registry across the country: suppliers with one to five offers, varied prices and data ages."""
    from workflow.services import registry

    rng = rng or random.Random(4)
    today = date.today()
    offers, index = [], 0
    while len(offers) < count:
        supplier = registry.create_supplier(_supplier_input(rng, len(offers)))
        for _ in range(rng.randint(1, 5)):
            if len(offers) >= count:
                break
            offers.append(registry.create_offer(supplier, _offer_input(rng, index, today), today))
            index += 1
    return offers

"""The demo's municipality: its units and staff, and the names and CPR numbers its citizens get."""
from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from workflow.models import Role, User
from workflow.services import users

DEMO_PASSWORD = "demo-password"  # noqa: S105 - documented demo login, refused on real data
DEMO_UNITS = ("Voksenhandicap", "Børn og Familie", "Indkøb", "Økonomi", "Digitalisering")
DEMO_USERS = (
    # login, full name, role, unit, approval limit
    ("caseworker", "Camilla Sagsbehandler", Role.CASEWORKER, "Voksenhandicap", None),
    ("procurement", "Peter Indkøber", Role.PROCUREMENT, "Indkøb", None),
    ("economy", "Eva Økonom", Role.ECONOMY, "Økonomi", None),
    ("manager", "Mette Leder", Role.MANAGER, "Voksenhandicap", "2000000.00"),
    ("admin", "Anders Administrator", Role.ADMIN, "Digitalisering", None),
    ("caseworker2", "Kasper Rådgiver", Role.CASEWORKER, "Voksenhandicap", None),
    ("boernesag", "Birgitte Børnesagsbehandler", Role.CASEWORKER, "Børn og Familie", None),
    ("teamleder", "Torben Teamleder", Role.MANAGER, "Voksenhandicap", "500000.00"),
    ("boerneleder", "Bodil Afdelingsleder", Role.MANAGER, "Børn og Familie", "2000000.00"),
    ("procurement2", "Ida Indkøbskonsulent", Role.PROCUREMENT, "Indkøb", None),
)
MAIN_LOGINS = ("caseworker", "procurement", "economy", "manager", "admin")

FIRST_NAMES = ("Anna", "Mads", "Sofie", "Frederik", "Ida", "Lucas", "Emma", "Oliver", "Freja", "William", "Clara",
               "Noah", "Karen", "Jens", "Lone", "Henrik", "Mette", "Søren", "Birthe", "Niels", "Aya", "Yusuf",
               "Malthe", "Astrid", "Bjørn", "Signe", "Ahmad", "Line", "Ole", "Grethe")
LAST_NAMES = ("Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen",
              "Rasmussen", "Jørgensen", "Petersen", "Madsen", "Kristensen", "Olsen", "Thomsen", "Poulsen",
              "Johansen", "Møller", "Mortensen", "Østergaard", "Ali", "Holm", "Lund", "Bach")


def seed_staff() -> dict[str, User]:
    units = {name: users.create_unit(name) for name in DEMO_UNITS}
    people = {}
    for login, full_name, role, unit, limit in DEMO_USERS:
        people[login] = users.create_user(
            login=login, full_name=full_name, email=f"{login}@socialkob.example", role=role, unit=units[unit],
            password=DEMO_PASSWORD, approval_limit=Decimal(limit) if limit else None)
    return people


class CprFactory:
    """Valid, unique CPR numbers (the date part is right; modulus 11 is not applied)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def adult(self) -> str:
        return self._make(self.rng.randint(1945, 2004))

    def child(self, born_from: int = 2009, born_to: int = 2022) -> str:
        return self._make(self.rng.randint(born_from, born_to))

    def _make(self, year: int) -> str:
        while True:
            born = date(year, 1, 1) + timedelta(days=self.rng.randint(0, 364))
            seventh = self.rng.randint(0, 3) if year < 2000 else 4
            number = f"{born:%d%m}{year % 100:02d}{seventh}{self.rng.randint(0, 999):03d}"
            if number not in self.used:
                self.used.add(number)
                return number

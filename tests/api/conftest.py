"""Fixtures for the API tests: a client per user, acting with a personal API token."""
from __future__ import annotations

import pytest

from tests.support.api import ApiClient


@pytest.fixture
def api(app, staff):
    """api('caseworker') → an ApiClient acting as that user of the `staff` fixture."""
    made = {}

    def make(login: str, language: str = "da") -> ApiClient:
        if (login, language) not in made:
            made[login, language] = ApiClient(app, staff[login], language=language)
        return made[login, language]
    return make

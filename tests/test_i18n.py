"""Danish by default, English on request, Danish formats, and a complete Danish catalogue."""
from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale

from workflow.i18n import day, money, timestamp

ROOT = Path(__file__).resolve().parent.parent


def test_formats_in_danish(app):
    with app.test_request_context(), force_locale("da"):
        assert money(Decimal("1234.5")) == "1.234,50\xa0kr."
        assert money(Decimal("-2200000")) == "-2.200.000,00\xa0kr."
        assert day(date(2026, 3, 5)) == "05-03-2026"
        # 23:30 UTC on 31 December is already New Year in Copenhagen.
        assert timestamp(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == "01-01-2027 00:30"
        with pytest.raises(TypeError):
            money(1234.5)


def test_language_switch(staff, client):
    client.sign_in("caseworker")
    assert "Log af" in client.get("/").get_data(as_text=True)
    client.submit("/language", {"language": "en", "next": "/"}, form_page="/")
    page = client.get("/").get_data(as_text=True)
    assert "Sign out" in page and 'lang="en"' in page
    client.submit("/language", {"language": "xx", "next": "/"}, form_page="/")
    assert 'lang="en"' in client.get("/").get_data(as_text=True)


def test_danish_catalogue_is_complete(tmp_path):
    template = tmp_path / "messages.pot"
    subprocess.run([str(Path(sys.executable).parent / "pybabel"), "-q", "extract", "-F", "babel.cfg",
                    "-k", "_l", "-o", str(template), "."], cwd=ROOT, check=True, capture_output=True)
    with open(template, "rb") as handle:
        wanted = {message.id for message in read_po(handle) if message.id}
    with open(ROOT / "workflow/translations/da/LC_MESSAGES/messages.po", "rb") as handle:
        catalogue = read_po(handle)
    translated = {message.id for message in catalogue if message.id and message.string and not message.fuzzy}
    missing = sorted(str(item) for item in wanted - translated)
    assert not missing, f"{len(missing)} strings lack a Danish translation, e.g. {missing[:5]}"

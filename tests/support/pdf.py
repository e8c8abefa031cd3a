"""Reading the PDFs the app renders, and watching what WeasyPrint asks the app's URL fetcher for.

Loaded by tests/conftest.py as a plugin, so that the `fetched` fixture is there for every test module that
renders a PDF with hostile text in it (tests/test_contracts.py, tests/test_pdf_xss.py).
"""
from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from workflow import pdf as pdf_module
from workflow.pdf import StaticOnlyFetcher


def pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(body)).pages)


def flat(text: str) -> str:
    """Text without any whitespace, so that words wrapped over lines still match."""
    return re.sub(r"\s+", "", text)


@pytest.fixture
def fetched(monkeypatch) -> list[tuple[str, bool]]:
    """Every URL WeasyPrint asks the fetcher for, with whether it was served."""
    calls: list[tuple[str, bool]] = []
    original = StaticOnlyFetcher.fetch

    def spy(self, url, headers=None):
        try:
            response = original(self, url, headers)
        except Exception:
            calls.append((url, False))
            raise
        calls.append((url, True))
        return response

    monkeypatch.setattr(pdf_module.StaticOnlyFetcher, "fetch", spy)
    return calls

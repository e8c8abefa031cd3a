"""Rendering PDFs with WeasyPrint: plain data in, bytes out, and nothing fetched but our own files.

The fetcher serves only files inside the app's static folder; any other URL (file:, http:, data:
with large payloads, anything a user typed) is refused, so user text can never make the server
read files or call out. A render that takes too long is abandoned with RenderTimeout.
"""
from __future__ import annotations

import threading
from pathlib import Path

from flask import current_app, render_template
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

STATIC_BASE = "https://socialkob.invalid/static/"
MAX_FILE_BYTES = 5 * 1024 * 1024
DEFAULT_TIMEOUT_SECONDS = 30


class RenderTimeout(RuntimeError):
    pass


class StaticOnlyFetcher(URLFetcher):
    """Serves the app's own static files to WeasyPrint; refuses every other URL."""

    def __init__(self, static_folder: str):
        super().__init__(allowed_protocols=("https",), allow_redirects=False)
        self.root = Path(static_folder).resolve()

    def fetch(self, url, headers=None):
        if not url.startswith(STATIC_BASE):
            raise ValueError(f"not fetched: {url[:80]}")
        path = (self.root / url[len(STATIC_BASE):].split("?")[0].split("#")[0]).resolve()
        if not path.is_relative_to(self.root) or not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            raise ValueError(f"not fetched: {url[:80]}")
        mime = {".css": "text/css", ".woff": "font/woff", ".woff2": "font/woff2", ".svg": "image/svg+xml",
                ".png": "image/png"}.get(path.suffix, "application/octet-stream")
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": mime})


def render_pdf(template: str, timeout: float = DEFAULT_TIMEOUT_SECONDS, pdf_variant: str | None = "pdf/a-3b",
               **data) -> bytes:
    """Render a template of plain data to PDF bytes (PDF/A-3b by default, fonts embedded)."""
    html = render_template(template, static_base=STATIC_BASE, **data)
    return html_to_pdf(html, timeout=timeout, pdf_variant=pdf_variant)


def html_to_pdf(html: str, timeout: float = DEFAULT_TIMEOUT_SECONDS, pdf_variant: str | None = "pdf/a-3b") -> bytes:
    fetcher = StaticOnlyFetcher(current_app.static_folder)
    result: dict = {}

    def work():
        try:
            result["pdf"] = HTML(string=html, base_url=STATIC_BASE, url_fetcher=fetcher).write_pdf(
                pdf_variant=pdf_variant, uncompressed_pdf=False)
        except Exception as error:  # noqa: BLE001 - handed to the caller below
            result["error"] = error

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise RenderTimeout(f"PDF rendering took more than {timeout} s")
    if "error" in result:
        raise result["error"]
    return result["pdf"]

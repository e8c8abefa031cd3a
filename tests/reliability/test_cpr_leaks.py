"""After the whole suite: no full CPR number in any log line, URL or redirect the tests produced.

tests/support/leak_watch.py watches the session; the last test here reads its findings (the plugin runs it
after everything else). The checker is tried first on planted numbers, in a watch of its own.
"""
from __future__ import annotations

import logging
import sys

import pytest

from tests.support.leak_watch import LeakWatch, full_cprs, session_watch

PLANTED = "010190-1234"


@pytest.mark.parametrize("text", [
    "0101901234", "010190-1234", "010190 1234", "cpr=0101901234&x=1", "710190-1234",  # day + 60: a replacement
    "citizen 311299-9999 opened", "(2902004123)",  # 29 February 2000 (7th digit 4)
])
def test_a_full_cpr_number_is_found(text):
    assert full_cprs(text)


@pytest.mark.parametrize("text", [
    "010190-xxxx", "0101901234567", "5790001234567", "12345678", "320190-1234", "011390-1234", "2902010123",
    "2026-11-26 12:00:00,123 INFO", "error 3f0101901234 on POST /cases/7", "case 2026-0001234", "1795000000",
    "id=12345678901", "/cases/1234/steps/approve", "2.450,50 kr.",
])
def test_ids_amounts_timestamps_and_masked_numbers_are_not(text):
    assert full_cprs(text) == []


def test_the_checker_reports_planted_numbers_in_logs_urls_and_files(tmp_path):
    watch = LeakWatch()
    plain = logging.LogRecord("workflow.cases", logging.INFO, __file__, 1, "opened for %s", (PLANTED,), None)
    watch.note_record(plain)
    try:
        raise ValueError(f"bad cpr {PLANTED.replace('-', '')}")
    except ValueError:
        failed = logging.LogRecord("workflow.errors", logging.ERROR, __file__, 2, "error %s", ("x",), sys.exc_info())
    watch.note_record(failed)
    watch.note_url("request GET", "/cases?q=010190%2D1234")
    watch.note_url("redirect 302", "/login?next=%2Fcases%3Fcpr%3D0101901234")
    access_log = tmp_path / "access.log"
    access_log.write_text('127.0.0.1 - - "GET /cases/7 HTTP/1.1" 200\n')
    watch.watch_file(access_log)
    assert watch.report() == [
        f"log workflow.cases INFO: opened for {PLANTED}",
        "log workflow.errors ERROR: ValueError: bad cpr 0101901234",
        "request GET: /cases?q=010190-1234",
        "redirect 302: /login?next=/cases?cpr=0101901234",
    ]
    with access_log.open("a") as handle:
        handle.write('127.0.0.1 - - "GET /cases?q=010190%2D1234 HTTP/1.1" 200\n')
    assert watch.report()[-1] == f'file {access_log}: 127.0.0.1 - - "GET /cases?q=010190-1234 HTTP/1.1" 200'


def test_the_session_watch_sees_log_records_and_requests(client):
    seen = dict(session_watch().seen)
    logging.getLogger("workflow.tests").info("a record the watch must see")
    client.get("/login?next=/cases")
    assert session_watch().seen["log"] > seen["log"]
    assert session_watch().seen["url"] >= seen["url"] + 1


@pytest.mark.runs_last
def test_no_full_cpr_number_in_any_log_or_url_of_the_session():
    watch = session_watch()
    found = watch.report()
    assert not found, (f"{len(found)} lines with a full CPR number (of {watch.seen}):\n" + "\n".join(found[:50]))

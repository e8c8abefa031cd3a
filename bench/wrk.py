"""Throughput and latency under gunicorn, measured with wrk (the Debian package).

`serve()` starts gunicorn on a free loopback port with the settings `make run` uses (two sync workers),
for the app (wsgi:app) or the bare comparison (bench.bare:app), on the benchmark's database;
`signed_in_cookie()` signs in over HTTP and returns the session cookie (the session itself lives in the
database, so it holds for every worker); `load()` runs wrk against one URL for a few seconds and reads
its report. Only 127.0.0.1 is ever a target, and every run stops by itself.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
WORKERS = 2                     # as `make run` serves the app
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def available() -> bool:
    return shutil.which("wrk") is not None and GUNICORN.exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(target: str, database_url: str, folder: Path, name: str) -> Iterator[str]:
    """gunicorn `target` (module:app) on the database; yields its base URL and stops it (the whole group)."""
    port = _free_port()
    instance = folder / f"{name}-instance"
    instance.mkdir(parents=True, exist_ok=True)
    env = {**{key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "PROXY_FIX")},
           "DATABASE_URL": database_url, "INSTANCE_PATH": str(instance), "SECRET_KEY": "bench",
           "TRUSTED_HOSTS": "127.0.0.1,localhost", "APP_ENV": "development",   # plain http: no Secure cookies
           "PASSWORD_HASH_TIME_COST": "1", "MAIL_OUTBOX": str(instance / "outbox")}
    log = folder / f"{name}-gunicorn.log"
    command = [str(GUNICORN), target, "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS),
               "--error-logfile", str(log), "--no-control-socket", "--preload", "--timeout", "60",
               "--graceful-timeout", "5"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn {target} did not start:\n{log.read_text(errors='replace')[-2000:]}")
            with contextlib.suppress(requests.RequestException):
                requests.get(base + "/", timeout=2)
                break
            time.sleep(0.2)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def signed_in_cookie(base: str, login: str, password: str) -> str:
    """Sign in over HTTP; the Cookie header value that carries the signed-in session."""
    http = requests.Session()
    page = http.get(base + "/login", timeout=30)
    token = TOKEN.search(page.text).group(1)
    answer = http.post(base + "/login", data={"csrf_token": token, "login": login, "password": password},
                       allow_redirects=False, timeout=30)
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in of {login} over HTTP failed: {answer.status_code}")
    return "; ".join(f"{name}={value}" for name, value in http.cookies.items())


def _milliseconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * UNITS[unit]


def parse(report: str) -> dict:
    """Requests a second, latency percentiles (ms), requests, and errors from wrk's report (--latency)."""
    found = {"requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", report).group(1)),
             "requests": int(re.search(r"(\d+) requests in", report).group(1)),
             "errors": 0}
    for share, value in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", report, re.MULTILINE):
        found[f"latency_p{share}_ms"] = round(_milliseconds(value), 2)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", report)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report)
    found["errors"] = (int(non_2xx.group(1)) if non_2xx else 0) + (
        sum(int(n) for n in socket_errors.groups()) if socket_errors else 0)
    return found


def load(url: str, seconds: int, connections: int = 4, cookie: str | None = None) -> dict:
    """wrk against one URL for `seconds` (one thread, `connections` connections), after a short warm-up."""
    headers = ["-H", f"Cookie: {cookie}"] if cookie else []
    base = ["wrk", "-t1", f"-c{connections}", "--latency", "--timeout", "10s", *headers]
    subprocess.run([*base, "-d2s", url], check=True, capture_output=True, timeout=60)
    done = subprocess.run([*base, f"-d{seconds}s", url], check=True, capture_output=True, text=True,
                          timeout=seconds + 60)
    return {**parse(done.stdout), "seconds": seconds, "connections": connections, "report": done.stdout}

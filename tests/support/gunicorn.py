"""A real gunicorn serving the app on a free port, and a signed-in browser session against it.

For the tests that need what the Flask test client cannot give: several processes on one database,
requests at the same moment, and a server killed mid-write. The database must be migrated first
(the `app` fixture does it), and every server stopped before `_clean_database` empties the tables:
use `Servers` as a fixture that depends on `app`, so pytest tears it down first.
"""
from __future__ import annotations

import contextlib
import html.parser
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import requests

from tests.conftest import PASSWORD, TOKEN_INPUT, VALUE
from tests.support.leak_watch import watch_file

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
TIMEOUT = 30   # seconds for one request; a request waiting longer than busy_timeout has failed anyway
ACCESS_FORMAT = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms'   # gunicorn's own, less agent, plus the time taken


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """`gunicorn wsgi:app` in its own process group, logging requests and errors to files in `folder`."""

    def __init__(self, database_url: str, folder: Path, *, name: str = "server", workers: int = 2,
                 threads: int = 1):
        self.database_url = database_url
        self.folder = Path(folder)
        self.name = name
        self.workers, self.threads = workers, threads
        self.access_log = self.folder / f"{name}-access.log"
        self.error_log = self.folder / f"{name}-error.log"
        self.instance = self.folder / f"{name}-instance"
        for log in (self.access_log, self.error_log, self.folder / f"{name}-console.log"):
            watch_file(log)   # the session's last check looks for CPR numbers in them too
        self.process: subprocess.Popen | None = None
        self.port = 0
        self._attempts = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def environment(self) -> dict:
        env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "PROXY_FIX")}
        env.update({
            "DATABASE_URL": self.database_url,
            "INSTANCE_PATH": str(self.instance),
            "SECRET_KEY": "test-secret-key",   # the same for every server: a session works on any of them
            "TRUSTED_HOSTS": "127.0.0.1,localhost",
            "APP_ENV": "development",          # cookies without Secure, since this is plain http
            "PASSWORD_HASH_TIME_COST": "1",
            "MAIL_SERVER": "",                 # mails go to the outbox folder, never out
            "MAIL_OUTBOX": str(self.instance / "outbox"),
            "API_RATE_LIMIT": "100000 per minute",
        })
        return env

    def start(self, wait: float = 60) -> Gunicorn:
        """Start on a free port and return once /healthz answers."""
        return self.launch().ready(wait)

    def launch(self) -> Gunicorn:
        """Start without waiting: the test can set up its data while the server imports the app."""
        self.instance.mkdir(parents=True, exist_ok=True)
        self._attempts = 0
        self._spawn_on_a_free_port()
        return self

    def _spawn_on_a_free_port(self) -> None:
        self._attempts += 1
        self.port = free_port()
        self._spawn()

    def ready(self, wait: float = 60) -> Gunicorn:
        """Wait for /healthz; a port taken by someone else meanwhile is tried again on another."""
        while True:
            if self._wait_healthy(wait):
                return self
            self.kill()
            if "Address already in use" not in self.errors() or self._attempts >= 3:
                raise RuntimeError(f"gunicorn {self.name} did not start:\n{self.errors()[-3000:]}")
            self._spawn_on_a_free_port()

    def _spawn(self) -> None:
        command = [str(GUNICORN), "wsgi:app", "--bind", f"127.0.0.1:{self.port}",
                   "--workers", str(self.workers), "--threads", str(self.threads),
                   "--access-logfile", str(self.access_log), "--access-logformat", ACCESS_FORMAT,
                   "--error-logfile", str(self.error_log),
                   "--capture-output",       # the app's log lines (stderr) into the error log
                   "--no-control-socket",    # else every instance claims the same ~/.gunicorn/gunicorn.ctl
                   "--preload",              # one import of the app, before the fork (it opens no connection)
                   "--timeout", "60", "--graceful-timeout", "5"]
        with open(self.folder / f"{self.name}-console.log", "ab") as console:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.environment(), stdin=subprocess.DEVNULL,
                                            stdout=console, stderr=subprocess.STDOUT, start_new_session=True)

    def _wait_healthy(self, wait: float) -> bool:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url("/healthz"), timeout=2).status_code == 200:
                    return True
            time.sleep(0.1)
        return False

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, wait: float = 15) -> None:
        """SIGTERM: gunicorn finishes the requests under way and stops its workers.

        Once every worker has logged that it exits (its requests are done), what is left is the Python
        interpreters' own shutdown, seconds with this app's imports: that is cut short with SIGKILL.
        """
        if not self.running:
            self._reap()
            return
        logged = self.error_log.stat().st_size if self.error_log.exists() else 0
        self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and self.process.poll() is None:
            with open(self.error_log, errors="replace") as log:
                log.seek(logged)
                if log.read().count("Worker exiting") >= self.workers:
                    break
            time.sleep(0.05)
        self._reap()

    def kill(self) -> None:
        """SIGKILL to the master and its workers at once, as a power cut of the server would."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self._reap()

    def _reap(self) -> None:
        """Kill what is left of the process group, wait for it to be gone."""
        if self.process is None:
            return
        group = self.process.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:   # workers orphaned by the master are reaped by init
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        self.process = None

    def errors(self) -> str:
        """The error log (gunicorn's own lines and, with --capture-output, the app's) and console output."""
        parts = [path.read_text(errors="replace") for path in
                 (self.error_log, self.folder / f"{self.name}-console.log") if path.exists()]
        return "\n".join(parts)

    def requests_logged(self) -> list[str]:
        return self.access_log.read_text(errors="replace").splitlines() if self.access_log.exists() else []


class Servers:
    """Gunicorns started during a test, all stopped when it ends (also when it fails)."""

    def __init__(self, database_url: str, folder: Path | None = None):
        self.database_url = database_url
        self.folder = Path(folder or tempfile.mkdtemp(prefix="socialkob-gunicorn-"))
        self.started: list[Gunicorn] = []

    def start(self, name: str = "server", **options) -> Gunicorn:
        """A server answering requests."""
        return self.launch(name, **options).ready()

    def launch(self, name: str = "server", **options) -> Gunicorn:
        """A server importing the app; call its ready() before the first request."""
        server = Gunicorn(self.database_url, self.folder, name=name, **options)
        self.started.append(server)
        return server.launch()

    def __enter__(self) -> Servers:
        return self

    def __exit__(self, *exc) -> None:
        for server in self.started:
            server.stop()


def at_once(*calls, timeout: float = 60) -> list:
    """Run the calls in threads that start together (a barrier), and return their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index, call):
        try:
            barrier.wait(timeout)
            results[index] = call()
        except BaseException as error:  # noqa: BLE001 - handed to the test below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    if errors:
        raise errors[0]
    assert not any(thread.is_alive() for thread in threads), "a request did not finish"
    return results


# --- A browser: a cookie jar, forms read from the page, their CSRF token sent back ---

class _FormParser(html.parser.HTMLParser):
    """The forms of a page with the values a browser would submit (checked boxes, selected options)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None
        self._select_first: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._form = {"action": attrs.get("action", ""), "fields": {}}
            self.forms.append(self._form)
        if self._form is None or (tag != "form" and "name" not in attrs and tag != "option"):
            return
        fields = self._form["fields"]
        if tag == "input":
            kind = attrs.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            fields[attrs["name"]] = attrs.get("value", "on" if kind in ("checkbox", "radio") else "")
        elif tag == "select":
            self._select, self._select_first = attrs["name"], None
        elif tag == "option" and self._select:
            value = attrs.get("value", "")
            if self._select_first is None:
                self._select_first = value
                fields.setdefault(self._select, value)
            if "selected" in attrs:
                fields[self._select] = value
        elif tag == "textarea":
            self._textarea = attrs["name"]
            fields[self._textarea] = ""

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form["fields"][self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            if self._form is not None and self._textarea:   # a browser drops the newline after <textarea>
                fields = self._form["fields"]
                fields[self._textarea] = fields[self._textarea].removeprefix("\n")
            self._textarea = None


def forms_of(page: str) -> list[dict]:
    parser = _FormParser()
    parser.feed(page)
    return parser.forms


def form_with(page: str, field: str) -> dict[str, str]:
    """The fields of the first form on the page that has `field`."""
    for form in forms_of(page):
        if field in form["fields"]:
            return dict(form["fields"])
    raise AssertionError(f"no form with {field!r} on the page")


class Browser:
    """A person's browser on one server: requests.Session's cookies, redirects not followed."""

    def __init__(self, server: Gunicorn, language: str | None = None):
        self.server = server
        self.http = requests.Session()
        if language:
            self.http.headers["Accept-Language"] = language

    def another_tab(self) -> Browser:
        """The same signed-in session in a browser of its own (requests.Session is not shared by threads)."""
        other = Browser(self.server)
        other.http.headers.update(self.http.headers)
        other.http.cookies.update(self.http.cookies)
        return other

    def get(self, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        return self.http.get(self.server.url(path), timeout=TIMEOUT, **kwargs)

    def post(self, path: str, data: dict, **kwargs) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        return self.http.post(self.server.url(path), data=data, timeout=TIMEOUT, **kwargs)

    def token(self, page: str = "/login") -> str:
        response = self.get(page)
        assert response.status_code == 200, f"GET {page}: {response.status_code}"
        match = TOKEN_INPUT.search(response.text)
        assert match, f"no CSRF token on {page}"
        return VALUE.search(match.group(0)).group(1)

    def form(self, page: str, field: str = "csrf_token") -> dict[str, str]:
        """Open a page and read the form that has `field`, as the browser would submit it unchanged."""
        response = self.get(page)
        assert response.status_code == 200, f"GET {page}: {response.status_code}"
        return form_with(response.text, field)

    def submit(self, path: str, data: dict | None = None, form_page: str | None = None) -> requests.Response:
        """GET the form's page for a token, then POST the data to path."""
        return self.post(path, {"csrf_token": self.token(form_page or path), **(data or {})})

    def sign_in(self, login: str, password: str = PASSWORD) -> Browser:
        response = self.submit("/login", {"login": login, "password": password})
        assert response.status_code == 302, f"sign-in of {login}: {response.status_code} {response.text[:500]}"
        return self

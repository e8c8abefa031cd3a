"""pip-audit of the pinned requirements, on any machine that reaches PyPI.

pip-audit asks a vulnerability service about each pinned release. Where OSV (api.osv.dev) answers, it is
asked directly. A machine that reaches only PyPI's package index (as the build machines here do) gets a
small OSV-compatible feed on loopback instead, answered from PyPI's own JSON API:

- `/pypi/NAME/VERSION/json` lists the advisories of that exact release, where PyPI serves it;
- otherwise `/pypi/NAME/json` lists those of the latest release, which is exact when the pin is the latest.

A pin older than the latest, on a mirror without per-release data, is checked against the latest release's
advisories only (an advisory fixed in between would not show): such pins are named in the output, so the
gap is visible rather than silent. Any answer the feed cannot give fails the audit (`--strict`).

Usage: python .ci/audit.py requirements.txt [more.txt ...]
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

OSV_URL = "https://api.osv.dev/v1/query"
PYPI = "https://pypi.org/pypi"
TIMEOUT = 20
PIP_AUDIT = str(Path(sys.executable).with_name("pip-audit"))


def _reachable(url: str) -> bool:
    query = b'{"package":{"name":"pip","ecosystem":"PyPI"},"version":"1.0"}'
    request = urllib.request.Request(url, data=query, headers={"Content-Type": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310 - a fixed https URL
            return True
    except (urllib.error.URLError, OSError):
        return False


def _get_json(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310 - fixed https host
            return json.load(response)
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def _as_osv(name: str, advisory: dict) -> dict:
    """PyPI's advisory record in OSV's shape, as pip-audit reads it."""
    events = [{"introduced": "0"}] + [{"fixed": version} for version in advisory.get("fixed_in") or []]
    return {
        "id": advisory["id"],
        "aliases": advisory.get("aliases") or [],
        "summary": advisory.get("summary"),
        "details": advisory.get("details") or advisory.get("link") or "",
        "withdrawn": advisory.get("withdrawn"),
        "affected": [{"package": {"name": name, "ecosystem": "PyPI"},
                      "ranges": [{"type": "ECOSYSTEM", "events": events}]}],
    }


class PyPIFeed:
    """Advisories per (name, version) from PyPI's JSON API; notes pins it could check only in part."""

    def __init__(self) -> None:
        self.partly_checked: list[str] = []

    def advisories(self, name: str, version: str) -> list[dict]:
        release = _get_json(f"{PYPI}/{name}/{version}/json")
        if release is not None:
            return release.get("vulnerabilities") or []
        project = _get_json(f"{PYPI}/{name}/json")
        if project is None:
            raise LookupError(f"{name} is not on PyPI")
        if version not in project.get("releases", {}):
            raise LookupError(f"{name} {version} is not a release on PyPI")
        if project["info"]["version"] != version:
            self.partly_checked.append(f"{name}=={version} (latest {project['info']['version']})")
        return project.get("vulnerabilities") or []


def _serve(feed: PyPIFeed) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server API
            query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            name, version = query["package"]["name"], query["version"]
            try:
                body = {"vulns": [_as_osv(name, advisory) for advisory in feed.advisories(name, version)]}
                status = 200
            except (LookupError, urllib.error.URLError, OSError) as error:
                body, status = {"error": str(error)}, 502
                print(f"audit: no answer for {name} {version}: {error}", file=sys.stderr)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(requirement_files: list[str]) -> int:
    command = [PIP_AUDIT, "--strict", "--no-deps", "--disable-pip", "--progress-spinner", "off",
               "--vulnerability-service", "osv"]
    for path in requirement_files:
        command += ["-r", path]
    if _reachable(OSV_URL):
        print("audit: asking OSV")
        return subprocess.run(command, check=False).returncode
    feed = PyPIFeed()
    server = _serve(feed)
    print("audit: OSV is out of reach; asking PyPI's JSON API through a local feed")
    try:
        result = subprocess.run([*command, "--osv-url", f"http://127.0.0.1:{server.server_port}/v1/query"],
                                check=False).returncode
    finally:
        server.shutdown()
    if feed.partly_checked:
        print("audit: checked against the latest release's advisories only (no per-release data here): "
              + ", ".join(sorted(feed.partly_checked)))
    return result


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["requirements.txt"]))

"""Calling the API in tests as a user with a personal token, the way an integration would."""
from __future__ import annotations

from workflow import clock
from workflow.extensions import db
from workflow.models import User
from workflow.services import api_tokens


class ApiClient:
    """A test client that sends `Authorization: Bearer <token>` (and Accept-Language) on every call.

    Paths may leave out the /api/v1 prefix. Each call runs in a fresh application context.
    """

    def __init__(self, app, user: User | None = None, language: str = "da", token: str | None = None):
        self.client = app.test_client()
        if user is not None and token is None:
            token = api_tokens.create(user, f"test token of {user.login}", None, clock.today()).secret
            db.session.commit()
        self.token = token
        self.language = language

    def headers(self, extra: dict | None = None) -> dict:
        headers = {"Accept-Language": self.language}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        headers.update(extra or {})
        return headers

    def call(self, method: str, path: str, *, json=None, headers: dict | None = None, **kwargs):
        url = path if path.startswith("/api/") else "/api/v1" + path
        with self.client.application.app_context():  # a fresh `g` per request, as in a real server
            return self.client.open(url, method=method, json=json, headers=self.headers(headers), **kwargs)

    def get(self, path: str, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path: str, json=None, **kwargs):
        return self.call("POST", path, json=json if json is not None else {}, **kwargs)

    def put(self, path: str, json=None, **kwargs):
        return self.call("PUT", path, json=json, **kwargs)

    def patch(self, path: str, json=None, **kwargs):
        return self.call("PATCH", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.call("DELETE", path, **kwargs)

    def write(self, method: str, path: str, json=None, etag: str | None = None, **kwargs):
        """A write with If-Match: the given ETag, or the one a GET of `path` answers with now."""
        if etag is None:
            etag = self.get(path).headers["ETag"]
        return self.call(method, path, json=json, headers={"If-Match": etag}, **kwargs)

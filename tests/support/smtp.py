"""A real SMTP server on loopback (aiosmtpd) for tests that send mail; the pattern of tests/test_mail.py."""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Collector:
    """An aiosmtpd handler that keeps what it receives and refuses the addresses in `refused`."""

    def __init__(self):
        self.envelopes = []
        self.refused: set[str] = set()
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        """What was received, parsed, oldest first."""
        parser = BytesParser(policy=policy.default)
        with self.lock:
            return [parser.parsebytes(envelope.content) for envelope in self.envelopes]

    def clear(self) -> None:
        with self.lock:
            self.envelopes.clear()


@contextmanager
def smtp_server() -> Iterator[tuple[Controller, Collector]]:
    """A real SMTP server on 127.0.0.1 while the block runs."""
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


def use_server(app, monkeypatch, controller: Controller) -> None:
    """Point the app's mail settings at the server, plain SMTP without login, for this test."""
    for key, value in {"MAIL_SERVER": controller.hostname, "MAIL_PORT": controller.port, "MAIL_USE_TLS": False,
                       "MAIL_USERNAME": "", "MAIL_PASSWORD": "",
                       "MAIL_SENDER": "Socialkøb <socialkob@kommune.example>"}.items():
        monkeypatch.setitem(app.config, key, value)

"""A real SMTP server on the loopback interface (aiosmtpd) that keeps what it is sent.

    with SmtpSink() as sink:             # or SmtpSink(port=...) to come up on a chosen port
        settings.MAILERS = sink.mailers()
        ...
        sink.recipients()                # one entry per message received, duplicates included
        sink.envelopes, sink.messages()  # what arrived: raw (aiosmtpd envelopes) and parsed

It runs in a thread of the test process, so worker processes started by a test can send to it
too (``EMAIL_URL=sink.email_url``).
"""

import logging
import socket
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.parser import BytesHeaderParser

from aiosmtpd.controller import Controller

# aiosmtpd logs every SMTP command at INFO: thousands of lines per test.
logging.getLogger("mail.log").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Received:
    recipient: str
    message_id: str
    subject: str


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (yet)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpSink:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.refusals: dict[str, str] = {}
        self._received: list[Received] = []
        self._envelopes = []
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    # aiosmtpd handler hooks ---------------------------------------------------------------

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if refusal := self.refusals.get(address):
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        headers = BytesHeaderParser().parsebytes(envelope.original_content)
        with self._lock:
            self._envelopes.append(envelope)
            self._received.extend(
                Received(recipient, headers["Message-ID"], headers["Subject"])
                for recipient in envelope.rcpt_tos
            )
        return "250 Message accepted for delivery"

    # Test side ----------------------------------------------------------------------------

    def refuse(self, address: str, reply: str) -> None:
        """Answer RCPT TO for ``address`` with ``reply``, e.g. "451 4.2.0 Mailbox busy"."""
        self.refusals[address] = reply

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    @property
    def envelopes(self) -> list:
        with self._lock:
            return list(self._envelopes)

    def messages(self) -> list:
        """Each message received, parsed (email.message.EmailMessage)."""
        return [
            message_from_bytes(envelope.original_content, policy=policy.default)
            for envelope in self.envelopes
        ]

    def recipients(self) -> list[str]:
        return [message.recipient for message in self.received]

    def count(self) -> int:
        with self._lock:
            return len(self._received)

    @property
    def email_url(self) -> str:
        """For EMAIL_URL in the environment of a worker process."""
        return f"smtp://127.0.0.1:{self.port}"

    def mailers(self) -> dict:
        """For settings.MAILERS in the test process."""
        return mailers_for_port(self.port)

    def start(self) -> "SmtpSink":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> "SmtpSink":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def mailers_for_port(port: int) -> dict:
    """MAILERS sending over SMTP to 127.0.0.1:``port`` (whether or not anything listens)."""
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 10},
        }
    }

"""The mail server a send goes through: one connection for each batch.

When the default mailer (``settings.MAILERS["default"]``, from ``EMAIL_URL``) is Django's SMTP
backend, the newsletter opens an ``smtplib`` connection itself, from that mailer's documented
OPTIONS (host, port, username, password, use_tls, use_ssl, timeout, ssl_keyfile, ssl_certfile)
and with Django's defaults for them, and hands each message over as the bytes the email package
wrote (``messages.IssueEmail.as_bytes``). Any other mailer (the console in development, the test
outbox, a provider's HTTP backend) gets each message as a Django email, through the mailer's
public ``open()``, ``send_messages()`` and ``close()``.

Errors are smtplib's and the socket's, whichever the mailer: smtplib.SMTPRecipientsRefused and
SMTPDataError answer for one message; any other OSError (smtplib.SMTPException is one) is about
the server or the connection.
"""

import contextlib
import smtplib
import ssl

from django.conf import settings
from django.core.mail import DNS_NAME, InvalidMailer, mailers

from irlearn.newsletter.messages import IssueEmail

MAILER = "default"
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
SMTP_OPTIONS = {
    "host",
    "port",
    "username",
    "password",
    "use_tls",
    "use_ssl",
    "timeout",
    "ssl_keyfile",
    "ssl_certfile",
}


class SmtpServer:
    """An SMTP connection configured as Django's SMTP backend configures its own."""

    def __init__(self, options: dict):
        if unknown := set(options) - SMTP_OPTIONS:
            raise InvalidMailer(
                f"The newsletter sends over SMTP itself and cannot honour {sorted(unknown)}.",
                alias=MAILER,
            )
        if not options.get("host"):
            raise InvalidMailer("OPTIONS must define 'host'.", alias=MAILER)
        self.host = options["host"]
        self.use_tls = bool(options.get("use_tls"))
        self.use_ssl = bool(options.get("use_ssl"))
        if self.use_tls and self.use_ssl:
            raise InvalidMailer("Set at most one of 'use_ssl' and 'use_tls'.", alias=MAILER)
        self.port = options.get("port") or (465 if self.use_ssl else 587 if self.use_tls else 25)
        self.username = options.get("username")
        self.password = options.get("password")
        self.timeout = options.get("timeout")
        self.ssl_keyfile = options.get("ssl_keyfile")
        self.ssl_certfile = options.get("ssl_certfile")
        self.connection: smtplib.SMTP | None = None

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.ssl_certfile or self.ssl_keyfile:
            context.load_cert_chain(self.ssl_certfile, self.ssl_keyfile)
        return context

    def open(self) -> None:
        keywords = {"local_hostname": DNS_NAME.get_fqdn()}  # cached: getfqdn() can be slow
        if self.timeout is not None:
            keywords["timeout"] = self.timeout
        if self.use_ssl:
            keywords["context"] = self._ssl_context()
        connection = (smtplib.SMTP_SSL if self.use_ssl else smtplib.SMTP)(
            self.host, self.port, **keywords
        )
        try:
            if self.use_tls:
                connection.starttls(context=self._ssl_context())
            if self.username and self.password:
                connection.login(self.username, self.password)
        except BaseException:
            connection.close()
            raise
        self.connection = connection

    def send(self, message: IssueEmail) -> None:
        # The envelope first: an address SMTP cannot carry fails here, before any command.
        sender, recipient = message.sender, message.recipient
        self.connection.sendmail(sender, [recipient], message.as_bytes())

    def close(self) -> None:
        """Say goodbye; a server that has dropped the connection already changes nothing."""
        if self.connection is None:
            return
        connection, self.connection = self.connection, None
        try:
            connection.quit()
        except OSError:  # smtplib.SMTPServerDisconnected among them
            connection.close()


class DjangoMailer:
    """Any other mailer, through Django's public backend interface."""

    def __init__(self, mailer):
        self.mailer = mailer

    def open(self) -> None:
        self.mailer.open()

    def send(self, message: IssueEmail) -> None:
        self.mailer.send_messages([message.as_django()])

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.mailer.close()


def mail_server() -> SmtpServer | DjangoMailer:
    """The default mailer as the newsletter sends through it (not yet open)."""
    config = getattr(settings, "MAILERS", {}).get(MAILER)
    if config is not None and config.get("BACKEND", SMTP_BACKEND) == SMTP_BACKEND:
        return SmtpServer(config.get("OPTIONS", {}))
    return DjangoMailer(mailers.default)

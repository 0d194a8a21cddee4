"""Sending email: over SMTP (SMTP_HOST), or, in development without one, into a folder of .eml
files a developer can open (MAIL_DIRECTORY). Both raise `MailError` for anything that kept a
message from being handed over; the outbox then retries it."""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from kernel.settings import Settings

logger = logging.getLogger("portal.mail")


class MailError(Exception):
    """The message was not handed over (server down, slow, refusing, or a bad address)."""


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Hand `message` over for delivery, or raise MailError."""


class SmtpMailer:
    """One SMTP connection per message, STARTTLS when asked, every step under `timeout`."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        user: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        timeout: float = 10,
    ) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.user, self.password, self.starttls = user, password, starttls

    def send(self, message: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:  # refused, reset, timed out, rejected
            raise MailError(f"SMTP {self.host}:{self.port}: {exc}") from exc


class DirectoryMailer:
    """Writes each message to `directory` as `<time>-<id>.eml` (development's mailbox)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def send(self, message: EmailMessage) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"{uuid.uuid1().hex}.eml"
            temporary = path.with_suffix(".part")
            temporary.write_bytes(message.as_bytes())
            temporary.replace(path)
        except OSError as exc:
            raise MailError(f"cannot write to {self.directory}: {exc}") from exc
        logger.info("mail to %s written to %s", message["To"], path)


def mailer_from_settings(settings: Settings) -> Mailer | None:
    """SMTP when SMTP_HOST is set; in development without it, the mail folder; else none (the
    outbox keeps its messages until a worker with a mailer runs)."""
    if settings.smtp_host:
        return SmtpMailer(
            settings.smtp_host,
            settings.smtp_port,
            user=settings.smtp_user,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )
    if settings.app_env == "development":
        return DirectoryMailer(settings.mail_directory)
    return None

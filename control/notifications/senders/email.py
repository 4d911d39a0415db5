"""Email over SMTP: STARTTLS (default), implicit TLS (``ssl``) or plain (``none``).

5xx answers and refused credentials or recipients are permanent failures; 4xx answers,
timeouts and connection errors are retried. One send has ONE deadline
(:data:`SEND_DEADLINE_SECONDS`, under the send actor's 30 s time limit): each step
(connect, STARTTLS, login, MAIL/RCPT/DATA) may wait at most 10 s, and at the deadline the
connection is cut whatever step it is in. The ``Message-ID`` is derived from the delivery
id, so a receiver can drop a second copy of one delivery.
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from control.notifications.interfaces import DeliveryFailed, Message

TIMEOUT_SECONDS = 10.0  # one step
SEND_DEADLINE_SECONDS = 20.0  # the whole send


def tls_context() -> ssl.SSLContext:
    """The client TLS context: system trust store, hostname checked."""
    return ssl.create_default_context()


def build(config: Mapping[str, Any], message: Message) -> EmailMessage:
    """The e-mail for ``message``: subject ``[SEVERITY] title``, the body as text."""
    mail = EmailMessage()
    mail["Subject"] = f"[{message.severity.upper()}] {message.title}"
    mail["From"] = config["from"]
    mail["To"] = ", ".join(config["to"])
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = message_id(message.delivery_id, config["from"])
    mail["X-DC-Event"] = message.event
    mail.set_content(message.body or message.title)
    return mail


def message_id(delivery_id: int, sender: str) -> str:
    """The same ``Message-ID`` for every attempt of one delivery (receivers dedupe on it)."""
    return f"<dc-delivery-{delivery_id}@{sender.rsplit('@', 1)[-1]}>"


class _Deadline:
    """Cuts the SMTP connection when the send's deadline passes: a blocked read or write
    then fails at once (OSError), whichever step it was in."""

    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds
        self.smtp: smtplib.SMTP | None = None
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True
        self._timer.start()

    def step_timeout(self) -> float:
        left = self.ends - time.monotonic()
        if left <= 0:
            raise TimeoutError("the send's deadline passed")
        return min(TIMEOUT_SECONDS, left)

    def _cut(self) -> None:
        sock = self.smtp.sock if self.smtp is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()


def _connect(config: Mapping[str, Any], deadline: _Deadline) -> smtplib.SMTP:
    host, port, security = config["host"], int(config["port"]), config.get("security", "starttls")
    timeout = deadline.step_timeout()
    if security == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=tls_context())
        deadline.smtp = smtp
        return smtp
    smtp = smtplib.SMTP(host, port, timeout=timeout)
    deadline.smtp = smtp
    if security == "starttls":
        try:
            smtp.starttls(context=tls_context())
        except BaseException:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.quit()  # a polite goodbye, so the server closes its side too
            smtp.close()
            raise
    return smtp


def send(config: Mapping[str, Any], message: Message) -> None:
    """Deliver the e-mail to every recipient of ``config["to"]``."""
    mail = build(config, message)
    deadline = _Deadline(SEND_DEADLINE_SECONDS)
    try:
        with _connect(config, deadline) as smtp:
            if config.get("username"):
                deadline.step_timeout()
                smtp.login(config["username"], config.get("password") or "")
            deadline.step_timeout()
            smtp.send_message(mail)
    except smtplib.SMTPNotSupportedError:
        raise DeliveryFailed("email: the server does not offer STARTTLS", retryable=False) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryFailed(f"email: login refused ({exc.smtp_code})", retryable=False) from None
    except smtplib.SMTPRecipientsRefused:
        raise DeliveryFailed("email: every recipient was refused", retryable=False) from None
    except smtplib.SMTPResponseException as exc:
        raise DeliveryFailed(
            f"email: SMTP {exc.smtp_code}", retryable=not 500 <= exc.smtp_code < 600
        ) from None
    except ssl.SSLCertVerificationError as exc:
        raise DeliveryFailed(
            f"email: TLS certificate refused: {exc.verify_message}", retryable=False
        ) from None
    except (smtplib.SMTPException, OSError) as exc:  # timeouts and refused connections
        if time.monotonic() >= deadline.ends:
            raise DeliveryFailed(
                f"email: no answer within the send's {SEND_DEADLINE_SECONDS:.0f} s deadline"
            ) from None
        raise DeliveryFailed(f"email: {type(exc).__name__}: {exc}") from None
    finally:
        deadline.cancel()

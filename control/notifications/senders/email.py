"""Email over SMTP: STARTTLS (default), implicit TLS (``ssl``) or plain (``none``).

5xx answers and refused credentials or recipients are permanent failures; 4xx answers,
timeouts and connection errors are retried.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from control.notifications.interfaces import DeliveryFailed, Message

TIMEOUT_SECONDS = 10.0


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
    mail["Message-ID"] = make_msgid(domain=config["from"].rsplit("@", 1)[-1])
    mail["X-DC-Event"] = message.event
    mail.set_content(message.body or message.title)
    return mail


def _connect(config: Mapping[str, Any]) -> smtplib.SMTP:
    host, port, security = config["host"], int(config["port"]), config.get("security", "starttls")
    if security == "ssl":
        return smtplib.SMTP_SSL(host, port, timeout=TIMEOUT_SECONDS, context=tls_context())
    smtp = smtplib.SMTP(host, port, timeout=TIMEOUT_SECONDS)
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
    try:
        with _connect(config) as smtp:
            if config.get("username"):
                smtp.login(config["username"], config.get("password") or "")
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
        raise DeliveryFailed(f"email: {type(exc).__name__}: {exc}") from None

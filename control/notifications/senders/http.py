"""What an HTTP answer means for a send: done, retry later, or give up."""

from __future__ import annotations

import httpx

from control.notifications.interfaces import DeliveryFailed

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
RETRYABLE_4XX = frozenset({408, 425, 429})


def post(
    url: str, what: str, client: httpx.Client | None = None, **kwargs: object
) -> httpx.Response:
    """POST without following redirects; transport errors become retryable failures.

    ``what`` names the channel type in the error; the URL is never quoted, since a
    Telegram URL holds the bot token.
    """
    try:
        if client is not None:
            return client.post(url, **kwargs)  # type: ignore[arg-type]
        with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as own:
            return own.post(url, **kwargs)  # type: ignore[arg-type]
    except httpx.TimeoutException:
        raise DeliveryFailed(f"{what}: timed out") from None
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{what}: {type(exc).__name__}") from None


def check(response: httpx.Response, what: str, reason: str = "") -> None:
    """Raise unless 2xx: 5xx, 408, 425 and 429 may be retried, other answers not."""
    status = response.status_code
    if 200 <= status < 300:
        return
    text = f"{what}: HTTP {status}" + (f" {reason}" if reason else "")
    if status >= 500 or status in RETRYABLE_4XX:
        raise DeliveryFailed(text)
    if 300 <= status < 400:
        text += " (redirects are not followed)"
    raise DeliveryFailed(text, retryable=False)

"""The SMS channel: a generic HTTP gateway adapter, and the dev inbox.

The gateway receives `POST SMS_GATEWAY_URL` with JSON `{"to", "from", "text",
"reference"}` (the reference is our idempotency key, for gateways that
deduplicate), `Authorization: Bearer SMS_GATEWAY_TOKEN` when set, and answers
2xx with JSON holding the provider's `id` (or `message_id`). 429 and 5xx are
temporary; other 4xx are permanent. Most providers can be reached this way
directly or through a small relay.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Protocol

from consulta.settings import Settings

from .email import DevInboxSender


class SmsError(Exception):
    pass


class TemporarySmsError(SmsError):
    pass


class PermanentSmsError(SmsError):
    pass


class SmsSender(Protocol):
    def send(self, to: str, text: str, idempotency_key: str) -> str: ...


class HttpSmsGateway:
    def __init__(
        self, url: str, token: str | None = None, sender: str = "Consulta", timeout: float = 10.0
    ) -> None:
        self.url, self.token, self.sender, self.timeout = url, token, sender, timeout

    def send(self, to: str, text: str, idempotency_key: str) -> str:
        body = json.dumps(
            {"to": to, "from": self.sender, "text": text, "reference": idempotency_key}
        ).encode()
        request = urllib.request.Request(self.url, data=body, method="POST")  # noqa: S310 (configured URL)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            kind = TemporarySmsError if error.code == 429 or error.code >= 500 else PermanentSmsError
            raise kind(f"SMS gateway answered {error.code}") from None
        except (urllib.error.URLError, OSError) as error:
            raise TemporarySmsError(f"SMS gateway unreachable: {type(error).__name__}") from None
        except ValueError:
            raise TemporarySmsError("SMS gateway answered something other than JSON") from None
        provider_id = answer.get("id") or answer.get("message_id") if isinstance(answer, dict) else None
        if not provider_id:
            raise TemporarySmsError("SMS gateway gave no message id")
        return str(provider_id)


class DevInboxSms:
    """Dev and test: SMS land in the dev inbox table (channel 'sms')."""

    def __init__(self, inbox: DevInboxSender) -> None:
        self.inbox = DevInboxSender(inbox.database_url, inbox.schema, inbox.sender)
        self.inbox.channel = "sms"

    def send(self, to: str, text: str, idempotency_key: str) -> str:
        return self.inbox.send(to, "SMS", text, None, idempotency_key)


def sms_sender(settings: Settings) -> SmsSender | None:
    """The gateway when SMS_GATEWAY_URL is set; the dev inbox in dev and test; else none (SMS are skipped)."""
    if settings.sms_gateway_url:
        return HttpSmsGateway(settings.sms_gateway_url, settings.sms_gateway_token, settings.sms_sender)
    if settings.is_dev:
        return DevInboxSms(DevInboxSender.from_settings(settings))
    return None

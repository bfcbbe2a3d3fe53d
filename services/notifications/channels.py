"""The outside channels: e-mail over SMTP and signed webhooks (adapters; no business rule here).

Webhook messages are POSTs of the stored JSON body with ``X-Talent-Delivery`` (the same on every
retry), ``X-Talent-Event``, ``X-Talent-Timestamp`` (Unix seconds) and ``X-Talent-Signature``
(``v1=`` + hex HMAC-SHA256 keyed with the subscriber's secret over ``<timestamp>.<body>``);
``verify_signature`` is what a receiver does. The secret is derived from ``WEBHOOK_SIGNING_KEY``
and the subscriber's id and secret version, never stored. E-mail is plain-text UTF-8 with a
``Message-ID`` derived from the delivery id. Headers, body and verification for subscribers:
``services/notifications/README.md``.
"""

import email.message
import email.utils
import hashlib
import hmac
import smtplib
import time

import requests

from services.notifications import targets

SIGNATURE_VERSION = "v1"
SIGNATURE_TOLERANCE_SECONDS = 300
HEADER_DELIVERY = "X-Talent-Delivery"
HEADER_EVENT = "X-Talent-Event"
HEADER_TIMESTAMP = "X-Talent-Timestamp"
HEADER_SIGNATURE = "X-Talent-Signature"


class SendFailed(Exception):
    """The channel did not take the message; ``str()`` says why (never personal data)."""


# -- signing ---------------------------------------------------------------------------------------
def subscriber_secret(signing_key, subscriber_id, secret_version):
    """The subscriber's HMAC secret (hex), derived from the service's key."""
    return hmac.new(
        signing_key.encode(),
        f"webhook-secret:{subscriber_id}:{secret_version}".encode(),
        hashlib.sha256,
    ).hexdigest()


def sign(secret, timestamp, body):
    """``v1=<hex>``: HMAC-SHA256 keyed with ``secret`` over ``b"<timestamp>." + body``."""
    mac = hmac.new(secret.encode(), str(int(timestamp)).encode() + b"." + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def verify_signature(
    secret,
    timestamp_header,
    body,
    signature_header,
    *,
    now=None,
    tolerance=SIGNATURE_TOLERANCE_SECONDS,
):
    """What a receiver does: True if ``signature_header`` signs ``body`` at ``timestamp_header``
    with ``secret`` and the timestamp is within ``tolerance`` seconds of ``now``."""
    try:
        timestamp = int(timestamp_header)
    except (TypeError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body)
    return hmac.compare_digest(expected.encode(), (signature_header or "").encode())


# -- senders ---------------------------------------------------------------------------------------
class WebhookSender:
    def __init__(
        self,
        signing_key,
        *,
        connect_timeout=3.0,
        read_timeout=10.0,
        user_agent="chuxiong-talent-notifications/1",
        allowed_targets=None,
    ):
        self.signing_key = signing_key
        self.allowed_targets = allowed_targets  # see targets.py
        self.timeout = (connect_timeout, read_timeout)
        self.user_agent = user_agent
        self.http = requests.Session()

    def send(self, delivery, url, subscriber_id, secret_version, *, now=None):
        """POST the stored JSON body, signed now. Returns the answer (e.g. ``HTTP 200``)."""
        body = delivery["content"].encode("utf-8")
        timestamp = int(time.time() if now is None else now)
        secret = subscriber_secret(self.signing_key, subscriber_id, secret_version)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": self.user_agent,
            HEADER_DELIVERY: delivery["notification_id"],
            HEADER_EVENT: delivery["source_event_type"],
            HEADER_TIMESTAMP: str(timestamp),
            HEADER_SIGNATURE: sign(secret, timestamp, body),
        }
        try:
            targets.check(url, self.allowed_targets)  # again now: what the name resolves to
        except targets.TargetRefused as exc:
            raise SendFailed(f"target refused: {exc}") from None
        try:
            response = self.http.post(
                url, data=body, headers=headers, timeout=self.timeout, allow_redirects=False
            )
        except requests.Timeout:
            raise SendFailed(f"no answer within {self.timeout[0]}+{self.timeout[1]} s") from None
        except requests.RequestException as exc:
            raise SendFailed(f"connection failed: {exc.__class__.__name__}") from exc
        if not 200 <= response.status_code < 300:
            raise SendFailed(f"HTTP {response.status_code}")
        return f"HTTP {response.status_code}"


class EmailSender:
    def __init__(
        self,
        host,
        port,
        sender,
        *,
        timeout=10.0,
        starttls=False,
        username=None,
        password=None,
        domain="talent.chuxiong.local",
    ):
        self.host, self.port, self.sender = host, int(port), sender
        self.timeout, self.starttls = timeout, starttls
        self.username, self.password = username, password
        self.domain = domain

    def message(self, delivery, to):
        msg = email.message.EmailMessage()
        msg["From"] = self.sender
        msg["To"] = to
        msg["Subject"] = delivery["subject"]
        msg["Date"] = email.utils.formatdate(localtime=False)
        digest = hashlib.sha256(delivery["notification_id"].encode()).hexdigest()[:32]
        msg["Message-ID"] = f"<{digest}@{self.domain}>"
        msg[HEADER_DELIVERY] = delivery["notification_id"]
        msg[HEADER_EVENT] = delivery["source_event_type"]
        msg.set_content(delivery["body"], charset="utf-8")
        return msg

    def send(self, delivery, to):
        """Hand the message to the SMTP server. Returns its answer (``SMTP 250``)."""
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                refused = smtp.send_message(self.message(delivery, to))
        except smtplib.SMTPResponseException as exc:
            raise SendFailed(f"SMTP {exc.smtp_code}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            raise SendFailed(f"SMTP recipient refused ({', '.join(map(str, codes))})") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise SendFailed(f"SMTP {exc.__class__.__name__}") from exc
        if refused:
            raise SendFailed("SMTP recipient refused")
        return "SMTP 250"

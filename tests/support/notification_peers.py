"""Local peers of the notifications service's channels, started by the tests: an SMTP server
(aiosmtpd) that keeps every message it accepts, and a webhook receiver (http.server) that records
every request and can be told to fail on a path a number of times, or until told otherwise."""

import email
import email.policy
import threading

# (``from``: eventlet.wsgi's patched copy of http.server can shadow the package attribute)
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

from tests.support.system import free_port
from tests.support.waiting import wait_for


class SmtpSink:
    """``messages``: (envelope sender, envelope recipients, parsed message) in arrival order."""

    def __init__(self):
        self.messages = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            (
                envelope.mail_from,
                list(envelope.rcpt_tos),
                email.message_from_bytes(envelope.content, policy=email.policy.default),
            )
        )
        return "250 Message accepted for delivery"

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()


class WebhookReceiver:
    """``requests``: dicts (path, headers, body, status answered) in arrival order."""

    def __init__(self):
        self.requests = []
        self.failing = {}  # path -> failures still to answer (None: until told otherwise)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver._answer(self.path)
                with receiver.lock:
                    receiver.requests.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": body,
                            "status": status,
                        }
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _answer(self, path):
        with self.lock:
            left = self.failing.get(path, 0)
            if left is None:
                return 503
            if left > 0:
                self.failing[path] = left - 1
                return 500
            return 200

    def fail(self, path, times=None):
        """Answer ``path`` with an error ``times`` times (None: until ``recover(path)``)."""
        with self.lock:
            self.failing[path] = times

    def recover(self, path):
        with self.lock:
            self.failing.pop(path, None)

    def to(self, path, status=None):
        with self.lock:
            return [
                r
                for r in self.requests
                if r["path"] == path and (status is None or r["status"] == status)
            ]

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def wait_until(what, fn, timeout=30.0, interval=0.1):
    """``tests.support.waiting.wait_for`` with the subject first."""
    return wait_for(fn, what, timeout, interval)

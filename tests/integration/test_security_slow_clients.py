"""Slow and large requests cannot freeze a service (shared/web.py: the guarded HTTP server).

The attack: unauthenticated connections that send their request a byte at a time, twice as many
as the service has workers, used to hold every worker (a request's body was read by the worker
that ran it, with no time limit), so health checks, commands and event handling (which shares
the workers) all stalled; and a 50 MB body was read and parsed whole.

Here 2 x max_workers such connections are held open against applications and against
notifications while: /health/live answers, a normal command is accepted, and the event it records
is handled by notifications. Then each slow connection is dropped once the request time limit has
passed, and a body over the size limit is answered 413 without being read. The bounds are
generous (seconds, against a limit of HTTP_REQUEST_TIMEOUT_SECONDS=4): the test shows that the
service answers, not how fast."""

import contextlib
import os
import socket
import threading
import time
import urllib.parse
import uuid

import pytest
import requests

from talent_client.http import Client
from talent_client.samples import application_body, shanghai_today
from talent_client.steps import open_round
from tests.support.system import running_system

pytestmark = pytest.mark.integration

MAX_WORKERS = 10  # services/*/config.yaml
REQUEST_TIMEOUT = 4
COUNTY = "牟定县"


@contextlib.contextmanager
def environment(**values):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update({k: str(v) for k, v in values.items()})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def system():
    with environment(HTTP_REQUEST_TIMEOUT_SECONDS=REQUEST_TIMEOUT, HTTP_MAX_BODY_BYTES=65536):
        yield from running_system(
            services=("applications", "notifications"), log_prefix="slow-clients"
        )


def _address(url):
    parts = urllib.parse.urlsplit(url)
    return parts.hostname, parts.port


class SlowClients:
    """``count`` connections to ``url`` each sending its request a byte every half second: half
    dribble the request line and headers, half announce a body and dribble it."""

    def __init__(self, url, count):
        self.address = _address(url)
        self.socks = []
        self.stop = threading.Event()
        self.threads = []
        for i in range(count):
            sock = socket.create_connection(self.address, timeout=30)
            if i % 2:
                head = b"POST /subscribers HTTP/1.1\r\nHost: x\r\nContent-Length: 4000\r\n\r\n"
                sock.sendall(head)
                payload = b"{" + b" " * 3998 + b"}"
            else:
                payload = b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 4000
            self.socks.append(sock)
            thread = threading.Thread(target=self._dribble, args=(sock, payload), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _dribble(self, sock, payload):
        for byte in payload:
            if self.stop.is_set():
                return
            try:
                sock.send(bytes([byte]))
            except OSError:
                return  # the server dropped us
            time.sleep(0.5)

    def dropped(self, within):
        """How many connections the server closed within ``within`` seconds from now."""
        deadline = time.monotonic() + within
        closed = 0
        for sock in self.socks:
            remaining = max(0.1, deadline - time.monotonic())
            sock.settimeout(remaining)
            try:
                while sock.recv(4096):  # a 408 answer first, for a body that did not arrive
                    pass
                closed += 1
            except ConnectionResetError:
                closed += 1
            except OSError:
                pass
        return closed

    def close(self):
        self.stop.set()
        for sock in self.socks:
            sock.close()


def test_twice_the_workers_in_slow_clients_do_not_stop_the_service(system):
    client = Client(system.urls, out=lambda *_: None)
    today = shanghai_today()
    open_round(client, today.year)
    slow = [
        SlowClients(system.urls[svc], 2 * MAX_WORKERS) for svc in ("applications", "notifications")
    ]
    try:
        time.sleep(1.0)  # every slow request is in, none complete
        for svc in ("applications", "notifications"):
            started = time.monotonic()
            r = requests.get(system.urls[svc] + "/health/live", timeout=10)
            assert r.status_code == 200 and time.monotonic() - started < 3, svc

        name = "慢" + uuid.uuid4().hex[:4]
        started = time.monotonic()
        r = client.call(
            "POST",
            "applications",
            "/applications",
            "applicant",
            actor=f"applicant-{uuid.uuid4().hex[:8]}",
            json=application_body(COUNTY, name, "LT-6.3", today, today.year),
        )
        assert r.status_code == 201 and time.monotonic() - started < 10

        def handled():
            inbox = client.call(
                "GET", "notifications", f"/inbox/county:{COUNTY}", "county_officer", county=COUNTY
            ).json()
            return any(name in str(m) for m in inbox.get("messages", inbox))

        client.wait_for("notifications to handle ApplicationSubmitted", handled, timeout=15)

        for clients in slow:
            assert clients.dropped(within=REQUEST_TIMEOUT + 6) == len(clients.socks)
    finally:
        for clients in slow:
            clients.close()


def _exchange(url, raw, timeout=10):
    with socket.create_connection(_address(url), timeout=timeout) as sock:
        sock.sendall(raw)
        answer = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return answer  # the server closed the connection
            answer += chunk


def test_a_body_over_the_limit_is_refused_unread(system):
    url = system.urls["applications"]
    started = time.monotonic()
    # 50 MB announced, not a byte of it sent: the answer comes at once, and the connection closes
    answer = _exchange(
        url,
        b"POST /applications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 52428800\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"payload_too_large" in answer
    assert time.monotonic() - started < REQUEST_TIMEOUT  # not dropped by the time limit

    # chunked, no length announced: refused once one byte past the limit (65,536) has come, the
    # rest never waited for
    over = 65537
    answer = _exchange(
        url,
        b"POST /applications HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n" % over
        + b"x" * over
        + b"\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_a_body_that_does_not_arrive_in_time_is_dropped(system):
    started = time.monotonic()
    answer = _exchange(
        system.urls["applications"],
        b"POST /applications HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",
        timeout=REQUEST_TIMEOUT + 10,
    )
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert REQUEST_TIMEOUT - 1 < time.monotonic() - started < REQUEST_TIMEOUT + 8


def test_a_request_within_the_limits_is_served_as_before(system):
    r = requests.post(
        system.urls["applications"] + "/rounds",
        data=b"{" + b" " * 1000 + b"}",
        headers={"Authorization": "Bearer x"},
        timeout=10,
    )
    assert r.status_code == 401  # read, parsed, answered by the endpoint
    r = requests.get(system.urls["notifications"] + "/metrics", timeout=10)
    assert r.status_code == 200 and b"talent_" in r.content

"""The thin HTTP client of the four services: each request is signed as a role (a bearer token
minted with the services' shared secret), and a caller can wait for what the services do after
answering (event handlers run asynchronously)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

import requests

from shared.auth import mint

T = TypeVar("T")

Out = Callable[[str], object]
"""Where a step writes its lines (``print``, a list's ``append``, a function that drops them)."""

PORTS = {"applications": 8001, "subsidies": 8002, "assessment": 8003, "notifications": 8004}


def base_urls() -> dict[str, str]:
    """Each service's base URL: ``<SERVICE>_HTTP`` (host:port) if set, else its local port."""
    return {
        svc: "http://" + os.environ.get(f"{svc.upper()}_HTTP", f"127.0.0.1:{port}")
        for svc, port in PORTS.items()
    }


class Client:
    """A thin HTTP client that signs each request as the given role."""

    def __init__(
        self, urls: Mapping[str, str] | None = None, secret: str | None = None, out: Out = print
    ) -> None:
        self.urls = urls or base_urls()
        secret = secret or os.environ.get("AUTH_SECRET")
        if not secret:
            raise RuntimeError(
                "AUTH_SECRET is not set: the services' token key (deploy/local/lib.sh's load_env"
                " reads this host's from var/secrets.env)"
            )
        self.secret = secret
        self.out = out
        self.http = requests.Session()

    def call(
        self,
        method: str,
        service: str,
        path: str,
        role: str,
        actor: str | None = None,
        county: str | None = None,
        json: Any = None,
        expect: Collection[int] | None = (200, 201),
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """``method`` ``path`` of ``service`` as ``role`` (actor ``<role>-1`` unless given, of
        ``county`` for a county's roles); a status outside ``expect`` raises RuntimeError
        (``expect=None`` returns any answer)."""
        token = mint(self.secret, actor or f"{role}-1", role, county)
        r = self.http.request(
            method,
            self.urls[service] + path,
            json=json,
            timeout=10,
            headers={"Authorization": f"Bearer {token}", **(headers or {})},
        )
        if expect and r.status_code not in expect:
            raise RuntimeError(f"{method} {service}{path} as {role}: {r.status_code} {r.text}")
        return r

    def wait_for(self, what: str, fn: Callable[[], T | None], timeout: float = 30.0) -> T:
        """The first truthy result of ``fn``, asked every 0.1 s; TimeoutError after ``timeout``
        seconds."""
        deadline = time.monotonic() + timeout
        while True:
            result = fn()
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            time.sleep(0.1)


def json_if_ok(response: requests.Response) -> Any:
    """The body of a 200 answer, None for any other status (something not there yet)."""
    return response.json() if response.status_code == 200 else None

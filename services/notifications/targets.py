"""Where a webhook may point: not at this host, the internal network or a cloud's metadata
service, unless the operator's allow-list (``WEBHOOK_ALLOWED_TARGETS``) names it.

A subscriber URL is checked when it is registered or changed (a literal address, or a host name
that resolves now) and again before every delivery, after resolving its host: a name that
resolved to a public address at registration and to 127.0.0.1 later is refused then. Refused:
loopback, private (RFC 1918, unique-local fc00::/7), carrier-grade NAT (100.64.0.0/10),
link-local (169.254.0.0/16, which holds 169.254.169.254, and fe80::/10), unspecified,
multicast, reserved and site-local addresses, and IPv4 written inside IPv6 (::ffff:127.0.0.1).

The allow-list is a comma-separated list of host names (matched exactly, case-insensitively),
addresses and networks (``10.20.0.0/16``); a URL whose host, or every address it resolves to, is
on it passes.

Residual: between the check before a delivery and the connection, a host name could resolve
again to another address (DNS rebinding with a zero TTL); the delivery does not follow redirects.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.parse
from collections.abc import Callable, Iterable, Sequence

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolve = Callable[[str, int], Iterable[str]]

_CGNAT = ipaddress.ip_network("100.64.0.0/10")


class TargetRefused(ValueError):
    """The URL points where webhooks may not go; the message says why, not what answers there."""


def _resolve(host: str, port: int) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)]


def parse_allowed(text: str | Sequence[str] | None) -> tuple[tuple[str, ...], tuple[Network, ...]]:
    """The allow-list's host names and networks, from ``WEBHOOK_ALLOWED_TARGETS``."""
    items = text.split(",") if isinstance(text, str) else list(text or ())
    hosts: list[str] = []
    networks: list[Network] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            hosts.append(item.lower().rstrip("."))
    return tuple(hosts), tuple(networks)


def forbidden(address: Address) -> bool:
    """``address`` is one a webhook may not reach without the allow-list."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return forbidden(mapped)
        if address.is_site_local:
            return True
    return bool(
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
        or (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT)
    )


def check(
    url: str,
    allowed: str | Sequence[str] | None = None,
    *,
    resolve: Resolve = _resolve,
    unresolvable_ok: bool = False,
) -> None:
    """Refuse (TargetRefused) a URL whose host is, or resolves to, a forbidden address that the
    allow-list does not name. ``unresolvable_ok``: a host that does not resolve passes (at
    registration; a delivery to it fails anyway)."""
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise TargetRefused("the URL names no host")
    hosts, networks = parse_allowed(allowed)
    if host in hosts:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        literal = ipaddress.ip_address(host)
        addresses: list[Address] = [literal]
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolve(host, port)]
        except (OSError, UnicodeError):
            if unresolvable_ok:
                return
            raise TargetRefused("the host does not resolve") from None
        if not addresses:
            raise TargetRefused("the host does not resolve") from None
    for address in addresses:
        if forbidden(address) and not any(address in network for network in networks):
            raise TargetRefused(
                "loopback, private, link-local and metadata addresses are not webhook targets"
                " (WEBHOOK_ALLOWED_TARGETS names the allowed ones)"
            )

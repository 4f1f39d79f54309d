"""Where webhooks may go: not into our own network unless an admin allows it.

A webhook URL is refused when its host is, or resolves to, a loopback, private, link-local,
reserved or multicast address — the classic server-side request forgery targets (the cloud
metadata service at 169.254.169.254, the database next door). `ESCALADA_WEBHOOK_ALLOWED_HOSTS`
lists hosts or addresses that are allowed anyway (tests allow 127.0.0.1). The check runs when a
subscription is saved and again before every delivery, since DNS answers change.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit


def _is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast or ip.is_unspecified


def url_problem(url: str, *, allowed_hosts: Iterable[str]) -> str | None:
    """Why a webhook may not call this URL, in one sentence; None when it may."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "This is not a valid URL."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Give an http:// or https:// URL with a host name."
    if parts.username or parts.password:
        return "Put credentials in the signing secret, not in the URL."
    host = parts.hostname.lower()
    allowed = {h.strip().lower() for h in allowed_hosts if h.strip()}
    if host in allowed:
        return None
    try:
        infos = socket.getaddrinfo(host, port or (443 if parts.scheme == "https" else 80), proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return f"The host {host!r} cannot be resolved."
    addresses = sorted({str(info[4][0]) for info in infos})
    for address in addresses:
        if address not in allowed and _is_internal(address):
            return (
                f"{host} resolves to {address}, an internal address; webhooks may not call into this network "
                "(an admin can allow it with ESCALADA_WEBHOOK_ALLOWED_HOSTS)."
            )
    return None

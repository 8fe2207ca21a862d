"""Whether a callback URL may be called: http(s) only, and never a loopback, private, link-local,
multicast, reserved or metadata address unless its host is allow-listed (a webhook is no door in)."""
import ipaddress
import socket
from collections.abc import Callable, Collection
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL = 2048  # the callback_url column's width
# Cloud metadata services answer by name too; their addresses are link-local or private anyway.
METADATA_NAMES = ("metadata.google.internal", "metadata", "instance-data", "metadata.azure.com")
# Addresses Python calls global that are still no one's public server: AWS's IPv6 metadata, NAT64.
NOT_PUBLIC = (ipaddress.ip_network("fd00:ec2::/32"), ipaddress.ip_network("64:ff9b::/96"))


class Refused(Exception):
    """The callback URL may not be called; str() says why."""


@dataclass(frozen=True)
class Target:
    """Where a checked URL goes: its host and port, and the addresses it resolved to (empty when the host
    is allow-listed: then the system resolves it at connection time)."""

    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (what a connection could reach)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


def check(url: object, allow: Collection[str] = (), resolver: Resolver = resolve) -> Target:
    """The target of `url`, or Refused naming the reason. Every address a name resolves to must be
    public, so DNS cannot mix a private one in; a host in `allow` (or "*") is taken as it is."""
    if not isinstance(url, str) or not url:
        raise Refused("must be an http or https URL")
    if len(url) > MAX_URL:
        raise Refused(f"must be at most {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise Refused(f"is not a valid URL: {err}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Refused("must be an http or https URL")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise Refused("must name a host")
    if parts.username is not None or parts.password is not None:
        raise Refused("must not carry a user name or password")
    port = port or (443 if scheme == "https" else 80)
    if host in allow or "*" in allow:
        return Target(scheme, host, port, ())
    if host in METADATA_NAMES or host == "localhost" or host.endswith(".localhost"):
        raise Refused(f"{host} is a local or metadata address; fitq does not call those")
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        addresses = _resolved(host, port, resolver)
    for address in addresses:
        why = forbidden(address)
        if why:
            raise Refused(f"{host} resolves to {address}, {why}; fitq does not call those "
                          "(WEBHOOK_ALLOW_HOSTS opens chosen hosts)")
    return Target(scheme, host, port, tuple(addresses))


def _resolved(host: str, port: int, resolver: Resolver) -> list[str]:
    try:
        addresses = resolver(host, port)
    except (OSError, UnicodeError) as err:
        raise Refused(f"host {host} does not resolve ({err})") from None
    if not addresses:
        raise Refused(f"host {host} does not resolve")
    return addresses


def forbidden(address: str) -> str | None:
    """Why `address` is not a public one, or None if it is."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    for name, hit in (("a loopback address", ip.is_loopback), ("a link-local or metadata address", ip.is_link_local),
                      ("a private address", ip.is_private), ("a multicast address", ip.is_multicast),
                      ("an unspecified address", ip.is_unspecified), ("a reserved address", ip.is_reserved)):
        if hit:
            return name
    if not ip.is_global or any(ip in net for net in NOT_PUBLIC):
        return "not a public address"
    return None

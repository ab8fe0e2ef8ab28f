"""Downloading audio from ``http(s)://`` URIs without reaching where the operator did not allow.

Every hop (the URI and each redirect) is resolved once, every address it resolves to is checked
against the ``AddressPolicy``, and the connection goes to that checked address (the URL's host
is kept for ``Host`` and TLS), so a DNS answer that changes between check and connect
(rebinding) reaches nothing new. Proxies from the environment are ignored for the same reason.
The whole download has one deadline and the size cap counts bytes as they arrive.

Every failure is a ``FetchFailed`` whose ``reason`` is for the operator's log; the client is
told one generic text, so that a refused address, a closed port, an open one that does not
speak HTTP and a 404 look the same.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import BinaryIO
from urllib.parse import urljoin, urlsplit

import httpx

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_REDIRECTS = 5
_BLOCK = 1 << 16


class FetchFailed(Exception):
    """The audio could not be fetched; ``reason`` says why (for the log only)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TooLarge(Exception):
    """The response went past the size cap (counted while it arrived)."""


class AddressPolicy:
    """Which addresses a fetch may connect to.

    Only globally routable unicast addresses, unless a network is allow-listed: loopback,
    private (RFC 1918, ULA), link-local (169.254/16, where cloud metadata services answer),
    shared (100.64/10), multicast, reserved and unspecified addresses are refused.
    IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
    """

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.allow: tuple[IpNetwork, ...] = tuple(
            ipaddress.ip_network(net, strict=False) for net in allow
        )

    def permits(self, address: IpAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self.allow):
            return True
        return address.is_global and not address.is_multicast


def redact(url: str) -> str:
    """``url`` without its user and password, for logs."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()


async def download(
    url: str, out: BinaryIO, *, policy: AddressPolicy, max_bytes: int, deadline: float
) -> None:
    """Write the body at ``url`` to ``out``; ``FetchFailed`` or ``TooLarge`` otherwise.

    ``deadline`` (seconds) bounds everything: resolving, connecting, redirects and the body.
    """
    try:
        await asyncio.wait_for(_follow(url, out, policy, max_bytes), deadline)
    except TimeoutError:
        raise FetchFailed(f"no complete answer within {deadline:g} s") from None
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as error:  # ValueError: bad URLs
        raise FetchFailed(f"{type(error).__name__}: {error}") from None


async def _follow(url: str, out: BinaryIO, policy: AddressPolicy, max_bytes: int) -> None:
    async with httpx.AsyncClient(trust_env=False, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            request = await _pinned_request(client, url, policy)
            response = await client.send(request, stream=True)
            try:
                if response.is_redirect:
                    url = urljoin(url, response.headers["location"])
                    continue
                if not response.is_success:
                    raise FetchFailed(f"HTTP {response.status_code}")
                await _save(response, out, max_bytes)
                return
            finally:
                await response.aclose()
    raise FetchFailed(f"more than {MAX_REDIRECTS} redirects")


async def _pinned_request(
    client: httpx.AsyncClient, url: str, policy: AddressPolicy
) -> httpx.Request:
    """A GET for ``url`` addressed to a checked IP of its host (Host and SNI unchanged)."""
    target = httpx.URL(url)
    if target.scheme not in ("http", "https") or not target.host:
        raise FetchFailed(f"not an http(s) URL: {target.scheme}")
    address = await _checked_address(target.host, target.port, policy)
    headers = {"Host": target.netloc.decode("ascii"), "Accept-Encoding": "identity"}
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    return client.build_request(
        "GET", target.copy_with(host=str(address)), headers=headers, extensions=extensions
    )


async def _checked_address(host: str, port: int | None, policy: AddressPolicy) -> IpAddress:
    """The address to connect to: every address ``host`` resolves to must be permitted."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise FetchFailed(f"cannot resolve {host}: {error}") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in infos]
    refused = [address for address in addresses if not policy.permits(address)]
    if refused or not addresses:
        raise FetchFailed(f"{host} resolves to {refused[0] if refused else 'nothing'}, not allowed")
    return addresses[0]


async def _save(response: httpx.Response, out: BinaryIO, max_bytes: int) -> None:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge()
    size = 0
    async for block in response.aiter_raw(_BLOCK):
        size += len(block)
        if size > max_bytes:
            raise TooLarge()
        await asyncio.to_thread(out.write, block)

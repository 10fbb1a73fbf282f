"""Addresses and CIDRs as integers: the policy engine compares millions of them, so no ipaddress objects
on the hot path, and IPv4 and IPv6 never compare equal (AWS keeps the two families apart everywhere)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Cidr:
    """A canonical CIDR block: ``version`` 4 or 6, the network as an int, and its prefix length."""

    version: int
    network: int
    prefixlen: int

    @property
    def mask(self) -> int:
        bits = 32 if self.version == 4 else 128
        return ((1 << bits) - 1) ^ ((1 << (bits - self.prefixlen)) - 1)

    def contains(self, version: int, value: int) -> bool:
        return version == self.version and (value & self.mask) == self.network

    def __str__(self) -> str:
        if self.version == 4:
            return str(ipaddress.IPv4Network((self.network, self.prefixlen)))
        return str(ipaddress.IPv6Network((self.network, self.prefixlen)))


@lru_cache(maxsize=65536)
def parse_cidr(text: str) -> Cidr:
    """Parse a CIDR as AWS canonicalises it (host bits dropped: ``100.68.0.18/18`` is ``100.68.0.0/18``)."""
    net = ipaddress.ip_network(text.strip(), strict=False)
    return Cidr(net.version, int(net.network_address), net.prefixlen)


@lru_cache(maxsize=262144)
def parse_ip(text: str) -> tuple[int, int]:
    """``(version, value)`` of an address; raises ValueError when it is not one."""
    addr = ipaddress.ip_address(text.strip())
    return addr.version, int(addr)


def is_ip(text: str | None) -> bool:
    if not text:
        return False
    try:
        parse_ip(text)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=262144)
def host_cidr(ip: str) -> str:
    """The /32 or /128 of one address, the narrowest source or destination a rule can name."""
    version, value = parse_ip(ip)
    if version == 4:
        return f"{ipaddress.IPv4Address(value)}/32"
    return f"{ipaddress.IPv6Address(value)}/128"


def cidr_of(version: int, value: int, prefixlen: int) -> Cidr:
    bits = 32 if version == 4 else 128
    mask = ((1 << bits) - 1) ^ ((1 << (bits - prefixlen)) - 1)
    return Cidr(version, value & mask, prefixlen)

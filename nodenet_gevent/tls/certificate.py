"""A certificate as Node shows it (``getPeerCertificate()``), and Node's ``checkServerIdentity``.

Read from the DER bytes with a small ASN.1 reader, so the shape is the same
whether or not OpenSSL verified the certificate (stdlib ``ssl`` decodes a peer
certificate only when it was verified).  Node's fields given here: ``subject``,
``issuer``, ``subjectaltname``, ``ca``, ``valid_from``, ``valid_to``,
``serialNumber``, ``fingerprint``/``fingerprint256``/``fingerprint512``,
``ext_key_usage``, ``raw``; with *detailed*, ``issuerCertificate`` (the peer's
chain is not available from stdlib ``ssl`` before Python 3.13, so it is the
certificate itself only when self-issued).  Not given: ``bits``, ``modulus``,
``exponent``, ``pubkey``, ``asn1Curve``, ``infoAccess`` (README).
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
from collections.abc import Mapping
from typing import Any

from ..errors import ERR_TLS_CERT_ALTNAME_INVALID, NodeError
from ..ip import is_ip

__all__ = ["certificate_dict", "check_server_identity", "checkServerIdentity"]

_NAMES = {
    "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.9": "street", "2.5.4.10": "O",
    "2.5.4.11": "OU", "2.5.4.5": "serialNumber", "2.5.4.12": "title", "2.5.4.42": "GN", "2.5.4.4": "SN",
    "2.5.4.46": "dnQualifier", "1.2.840.113549.1.9.1": "emailAddress", "0.9.2342.19200300.100.1.25": "DC",
    "0.9.2342.19200300.100.1.1": "UID",
}
_SAN, _BASIC_CONSTRAINTS, _EXT_KEY_USAGE = "2.5.29.17", "2.5.29.19", "2.5.29.37"


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of the value, end of the value) of the DER element at *pos*."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    items = []
    while start < end:
        item = _tlv(data, start)
        items.append(item)
        start = item[2]
    return items


def _oid(value: bytes) -> str:
    parts = [value[0] // 40, value[0] % 40]
    number = 0
    for byte in value[1:]:
        number = (number << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(number)
            number = 0
    return ".".join(map(str, parts))


def _name(data: bytes, start: int, end: int) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for _, set_start, set_end in _children(data, start, end):
        for _, seq_start, seq_end in _children(data, set_start, set_end):
            (_, o_start, o_end), (_, v_start, v_end) = _children(data, seq_start, seq_end)[:2]
            oid = _oid(data[o_start:o_end])
            key = _NAMES.get(oid, oid)
            text = data[v_start:v_end].decode("utf-8", "replace")
            if key in result:
                previous = result[key]
                result[key] = (previous if isinstance(previous, list) else [previous]) + [text]
            else:
                result[key] = text
    return result


def _time(data: bytes, tag: int, start: int, end: int) -> str:
    text = data[start:end].decode("ascii").rstrip("Z")
    if tag == 0x17:  # UTCTime: two-digit years, 1950..2049
        year = int(text[:2])
        text = ("19" if year >= 50 else "20") + text
    moment = datetime.datetime.strptime(text[:14], "%Y%m%d%H%M%S")
    return "%s %2d %s %d GMT" % (moment.strftime("%b"), moment.day, moment.strftime("%H:%M:%S"), moment.year)


def _ip_text(raw: bytes) -> str:
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw))
    if len(raw) == 16:  # OpenSSL's spelling, which Node shows: every group, no zero compression
        return ":".join("%X" % int.from_bytes(raw[i:i + 2], "big") for i in range(0, 16, 2))
    return "<invalid>"


def _alt_names(data: bytes, start: int, end: int) -> str:
    names = []
    for tag, v_start, v_end in _children(data, start, end):
        value = data[v_start:v_end]
        kind = tag & 0x1F
        if kind == 2:
            names.append("DNS:" + value.decode("ascii", "replace"))
        elif kind == 7:
            names.append("IP Address:" + _ip_text(value))
        elif kind == 1:
            names.append("email:" + value.decode("ascii", "replace"))
        elif kind == 6:
            names.append("URI:" + value.decode("ascii", "replace"))
    return ", ".join(names)


def _fingerprint(der: bytes, algorithm: str) -> str:
    return ":".join("%02X" % byte for byte in hashlib.new(algorithm, der).digest())


def certificate_dict(der: bytes | None, detailed: bool = False) -> dict[str, Any]:
    """Node's certificate object for *der* (``{}`` for no certificate, as Node's)."""
    if not der:
        return {}
    _, cert_start, cert_end = _tlv(der, 0)
    _, tbs_start, tbs_end = _children(der, cert_start, cert_end)[0]
    fields = _children(der, tbs_start, tbs_end)
    if fields and fields[0][0] == 0xA0:  # [0] version
        fields = fields[1:]
    serial, _sigalg, issuer, validity, subject = fields[:5]
    not_before, not_after = _children(der, validity[1], validity[2])[:2]
    result: dict[str, Any] = {"subject": _name(der, subject[1], subject[2]), "issuer": _name(der, issuer[1], issuer[2])}
    ca = False
    for tag, start, end in fields[6:]:
        if tag != 0xA3:
            continue
        (_, ext_start, ext_end), = _children(der, start, end)[:1]
        for _, e_start, e_end in _children(der, ext_start, ext_end):
            parts = _children(der, e_start, e_end)
            oid = _oid(der[parts[0][1]:parts[0][2]])
            _, v_start, v_end = parts[-1]  # the OCTET STRING (after the optional 'critical')
            inner = _tlv(der, v_start)
            if oid == _SAN:
                result["subjectaltname"] = _alt_names(der, inner[1], inner[2])
            elif oid == _BASIC_CONSTRAINTS:
                flags = _children(der, inner[1], inner[2])
                ca = bool(flags) and flags[0][0] == 0x01 and der[flags[0][1]] != 0
            elif oid == _EXT_KEY_USAGE:
                result["ext_key_usage"] = [_oid(der[s:e]) for _, s, e in _children(der, inner[1], inner[2])]
    result["ca"] = ca
    result["valid_from"] = _time(der, *not_before)
    result["valid_to"] = _time(der, *not_after)
    serial_bytes = der[serial[1]:serial[2]].lstrip(b"\x00") or b"\x00"
    result["serialNumber"] = serial_bytes.hex().upper()
    result["fingerprint"] = _fingerprint(der, "sha1")
    result["fingerprint256"] = _fingerprint(der, "sha256")
    result["fingerprint512"] = _fingerprint(der, "sha512")
    result["raw"] = der
    if detailed and result["subject"] == result["issuer"]:
        result["issuerCertificate"] = result  # Node's circular reference for a self-issued certificate
    return result


# ---------------------------------------------------------------------------
# checkServerIdentity: Node's rules (lib/tls.js), its messages


def _split_host(host: str) -> list[str]:
    """Node's splitHost: no trailing dot, A-Z lowered (only those: no locale rules), split at dots."""
    if host.endswith("."):
        host = host[:-1]
    return host.translate(_ASCII_LOWER).split(".")


_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


def _matches(host_parts: list[str], pattern: str, wildcards: bool) -> bool:
    if not pattern:
        return False
    pattern_parts = _split_host(pattern)
    if len(host_parts) != len(pattern_parts) or "" in pattern_parts:
        return False
    if any(any(not 0x21 <= ord(ch) <= 0x7F for ch in part) for part in pattern_parts):
        return False
    if host_parts[1:] != pattern_parts[1:]:
        return False
    host_sub, pattern_sub = host_parts[0], pattern_parts[0]
    pieces = pattern_sub.split("*", 2)
    if len(pieces) == 1 or "xn--" in pattern_sub:
        return host_sub == pattern_sub
    if not wildcards or len(pieces) > 2 or len(pattern_parts) <= 2:
        return False
    prefix, suffix = pieces
    return (
        len(prefix) + len(suffix) <= len(host_sub) and host_sub.startswith(prefix) and host_sub.endswith(suffix)
    )


def _canonical_ip(text: str) -> str:
    """Node's canonicalizeIP; what is no address (a CIDR, say) is nothing, and matches nothing."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return ""


def check_server_identity(hostname: str, cert: Mapping[str, Any]) -> NodeError | None:
    """``tls.checkServerIdentity(hostname, cert)``: ``None`` if *cert* is for *hostname*, else the error.

    Node's rules: an IP must be among the IP altnames; a name must match a
    DNS altname (one leading ``*`` label wildcard), or the CN when there are none.
    """
    subject = cert.get("subject") or {}
    alt_names = cert.get("subjectaltname") or ""
    dns_names, ips = [], []
    for name in alt_names.split(", ") if alt_names else ():
        if name.startswith("DNS:"):
            dns_names.append(name[4:])
        elif name.startswith("IP Address:"):
            ips.append(_canonical_ip(name[11:]))
    hostname = str(hostname)
    if hostname.endswith("."):
        hostname = hostname[:-1]
    valid = False
    if is_ip(hostname):
        valid = _canonical_ip(hostname) in ips
        reason = "IP: %s is not in the cert's list: %s" % (hostname, ", ".join(ips))
    elif dns_names or subject.get("CN"):
        host_parts = _split_host(hostname)
        if dns_names:
            valid = any(_matches(host_parts, pattern, True) for pattern in dns_names)
            reason = "Host: %s. is not in the cert's altnames: %s" % (hostname, alt_names)
        else:
            cn = subject["CN"]
            valid = any(_matches(host_parts, c, True) for c in (cn if isinstance(cn, list) else [cn]))
            reason = "Host: %s. is not cert's CN: %s" % (hostname, cn if not isinstance(cn, list) else ",".join(cn))
    else:
        reason = "Cert does not contain a DNS name"
    if valid:
        return None
    error = ERR_TLS_CERT_ALTNAME_INVALID(reason)
    error.reason = reason  # type: ignore[attr-defined]
    error.host = hostname  # type: ignore[attr-defined]
    error.cert = cert  # type: ignore[attr-defined]
    return error


checkServerIdentity = check_server_identity

"""What a ``TLSSocket`` tells of its TLS session: Node's TLSSocket API, read-only but for the servername.

``encrypted``, ``authorized``/``authorizationError``, ``alpnProtocol``,
``servername``, the certificates (in Node's shape: ``certificate.py``),
``getProtocol()``, ``getCipher()``, ``getSession()``/``isSessionReused()``
where stdlib ``ssl`` has them.  Before the handshake and once closed they
answer as Node's do (``None``, ``False``): they ask the channel's
``ssl.SSLObject`` only while the session is up.
"""

from __future__ import annotations

import ssl
from typing import Any

from ..errors import invalid_arg_type
from ..state import CLOSED, SocketBase
from .certificate import certificate_dict
from .channel import TLSChannel
from .context import own_certificate
from .options import TLSSession, standard_name

__all__ = ["TLSInfo"]


class TLSInfo(SocketBase):
    """The TLSSocket API of Node that reads the session (a part of ``TLSSocket``: its fields are set there)."""

    __slots__ = ()

    _tls: dict[str, Any]
    _authorized: bool
    _authorization_error: str | None

    @property
    def encrypted(self) -> bool:
        return True

    @property
    def authorized(self) -> bool:
        return self._authorized

    @property
    def authorizationError(self) -> str | None:  # noqa: N802 - Node's name
        return self._authorization_error

    authorization_error = authorizationError

    def _tls_object(self) -> ssl.SSLObject | None:
        """The TLS session's object once secure, while open (Node's answers are null before and after)."""
        channel = self._handle
        if isinstance(channel, TLSChannel) and channel.handshake_done and self._state is not CLOSED:
            return channel.tls
        return None

    @property
    def alpnProtocol(self) -> str | bool:  # noqa: N802 - Node's name
        tls = self._tls_object()
        chosen = tls.selected_alpn_protocol() if tls is not None else None
        return chosen or False

    alpn_protocol = alpnProtocol

    @property
    def servername(self) -> str | bool:
        channel = self._handle
        if not isinstance(channel, TLSChannel):
            return False
        if self._tls["isServer"]:
            return getattr(channel.tls, "nodenet_servername", None) or False
        return self._tls["servername"] or False

    def get_peer_certificate(self, detailed: bool = False) -> dict[str, Any] | None:
        """The peer's certificate in Node's shape (``{}`` if it sent none; ``None`` before the handshake)."""
        tls = self._tls_object()
        if tls is None:
            return None
        return certificate_dict(tls.getpeercert(True), detailed)

    def get_certificate(self) -> dict[str, Any] | None:
        """Our own certificate in Node's shape (``{}`` if we present none; ``None`` once closed).

        stdlib ``ssl`` does not give it back, so it is the first certificate of
        the ``cert`` option of the context in use (after SNI chose one).
        """
        channel = self._handle
        if not isinstance(channel, TLSChannel) or self._state is CLOSED:
            return None
        return certificate_dict(own_certificate(channel.tls.context))

    def get_protocol(self) -> str | None:
        tls = self._tls_object()
        return tls.version() if tls is not None else None

    def get_cipher(self) -> dict[str, str] | None:
        tls = self._tls_object()
        cipher = tls.cipher() if tls is not None else None
        if cipher is None:
            return None
        name, version, _bits = cipher
        return {"name": name, "standardName": standard_name(name), "version": version}

    def get_session(self) -> TLSSession | None:
        """The session to resume with ``connect({'session': ...})``; ``None`` before there is one.

        Over TLS 1.3 the server sends it after the handshake: ask once data has come in.
        """
        tls = self._tls_object()
        session = tls.session if tls is not None else None
        return TLSSession(session, tls.context) if session is not None and tls is not None else None

    def is_session_reused(self) -> bool:
        tls = self._tls_object()
        return bool(tls is not None and tls.session_reused)

    def set_servername(self, name: str) -> None:
        if self._tls["isServer"]:
            from ..errors import ERR_TLS_SNI_FROM_SERVER

            raise ERR_TLS_SNI_FROM_SERVER()
        if not isinstance(name, str):
            raise invalid_arg_type("name", "of type string", name)
        self._tls["servername"] = name

    def disable_renegotiation(self) -> None:
        """TLS 1.3 has no renegotiation and stdlib ``ssl`` never starts one: nothing to do."""

    # Node's spellings.
    getPeerCertificate = get_peer_certificate
    getCertificate = get_certificate
    getProtocol = get_protocol
    getCipher = get_cipher
    getSession = get_session
    isSessionReused = is_session_reused
    setServername = set_servername
    disableRenegotiation = disable_renegotiation

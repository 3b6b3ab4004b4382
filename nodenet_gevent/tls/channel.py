"""The handle of a TLSSocket: TLS between the Socket's core and its gevent socket.

The core (``reading.py``, ``writing.py``, ``closing.py``) talks to a socket's
``_handle`` through the surface of a gevent socket and nothing else:
``os_socket(handle)``'s ``recv``/``recv_into``/``send``/``shutdown``,
``readiness(handle)``, ``handle.sendall``, ``handle.close`` and the address
and option calls.  A :class:`TLSChannel` is that surface with a stdlib
``ssl.SSLObject`` in between, over two ``ssl.MemoryBIO`` s -- so the reader
and writer greenlets, pause and back-pressure, half-close and the rest work
over TLS unchanged, and plain TCP pays nothing for it:

* ``recv(n)`` (the reader greenlet): decrypt what the incoming BIO holds;
  when it needs more, one non-blocking ``recv`` from the OS socket -- and
  ``BlockingIOError`` when the kernel has nothing, so the reader waits for
  readiness exactly as it does for TCP.  It returns everything that can be
  decrypted now (up to *n*), so the reader never waits on the socket while
  decrypted bytes sit in the BIO.  ``b''`` at the peer's close_notify or FIN.
* ``send(data)`` (``write()``'s fast path): encrypt and send at once if
  nothing is waiting to go out; otherwise 0, and the chunk goes through the
  write queue.  Ciphertext the kernel did not take waits in a backlog that
  the writer greenlet (``TLSSocket._flush_queue``) sends first.
* ``sendall(data)`` (the writer greenlet): encrypt, send it all.
* ``shutdown(SHUT_WR)`` (our FIN): close_notify first, then the FIN.

Only one greenlet at a time waits for the socket to be writable (a gevent
socket's watcher takes one waiter): blocking sends hold ``_send_lock``.
Handshake bytes go the same way, from the reader greenlet, which does the
handshake (``TLSSocket._handshake``) before it reads.
"""

from __future__ import annotations

import socket as _stdlib_socket
import ssl
from typing import TYPE_CHECKING, Any

from gevent.event import Event
from gevent.lock import Semaphore

from .._gevent import os_socket, readiness, write_readiness
from ..loop import next_tick

if TYPE_CHECKING:
    from .socket import TLSSocket

__all__ = ["TLSChannel"]

_WantRead = ssl.SSLWantReadError
_ZeroReturn = ssl.SSLZeroReturnError
_SSLEOF = ssl.SSLEOFError
#: Ciphertext asked of the kernel per recv (a few TLS records).
RAW_READ_SIZE = 65536 + 1024


class TLSChannel:
    """A gevent socket's surface, with TLS in between (see the module)."""

    __slots__ = (
        "raw", "_os", "_sock", "_wait", "_read_event", "_write_event", "tls", "incoming", "outgoing",
        "_backlog", "_send_lock", "secured", "handshake_done", "_eof", "owner", "_closed",
        "_said_goodbye", "_full_read", "_hold_tickets", "_ssl", "_push_owed", "_server_side",
    )

    def __init__(self, raw: Any, tls: ssl.SSLObject, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO,
                 owner: TLSSocket) -> None:
        self.raw = raw  # the gevent socket
        self._os = os_socket(raw)
        self._sock = self  # os_socket(channel) is the channel: its recv/send/shutdown speak TLS
        self._wait, self._read_event = readiness(raw)
        self._write_event = write_readiness(raw)
        self.tls = tls
        # The C object under the SSLObject: its read/write/pending without the Python wrapper's
        # frame (twice per round trip).
        self._ssl: Any = getattr(tls, "_sslobj", tls)
        self._server_side = tls.server_side
        self.incoming = incoming
        self.outgoing = outgoing
        self._backlog = bytearray()  # ciphertext the kernel has not taken yet
        self._send_lock = Semaphore()
        self.secured = Event()  # set once the handshake ended (or the socket closed): writers wait on it
        self.handshake_done = False
        self._eof = False
        self.owner: TLSSocket | None = owner  # (a cycle, broken by close())
        self._closed = False
        self._said_goodbye = False  # our close_notify went
        self._full_read = False  # the last recv() filled its size: TLS may hold decrypted bytes
        self._hold_tickets = False  # server side, just secure: the tickets wait for the first exchange
        self._push_owed = False  # _push_later is to run

    # ------------------------------------------------------------------
    # the read side (the reader greenlet)

    def recv(self, size: int) -> bytes:
        if self._eof:
            return b""
        read = self._ssl.read
        incoming = self.incoming
        # Go to the kernel only when TLS holds nothing (no record, no decrypted rest): after a
        # short read the reader waits for readiness instead of paying for an EAGAIN and its
        # exception, as for plain TCP.
        if not incoming.pending and not (self._full_read and self._ssl.pending()):
            try:  # (_from_kernel, inline: a frame less per chunk)
                raw = self._os.recv(RAW_READ_SIZE)
            except BlockingIOError:
                if self.outgoing.pending and not self._hold_tickets:
                    self.push()  # what TLS has for the peer goes before the reader waits
                raise  # the reader waits for readiness, then calls again
            if not raw:
                self._eof = True  # a FIN without close_notify: the end, as Node takes it
                return b""
            incoming.write(raw)
        # The common case -- one record, one read, one chunk -- builds no list.
        data = b""
        parts: list[bytes] | None = None
        got = 0
        while True:
            try:
                chunk = read(size - got)
            except _WantRead:
                # An incomplete record: the rest is still in the kernel (or, with bytes to
                # return already, the next call reads it).
                if got or not self._from_kernel():
                    break
                continue
            except (_ZeroReturn, _SSLEOF):
                self._eof = True
                break
            except ssl.SSLError as error:
                self._fail(error)
            if not chunk:
                self._eof = True
                break
            if not got:
                data = chunk
            elif parts is None:
                parts = [data, chunk]
            else:
                parts.append(chunk)
            got += len(chunk)
            if got >= size or not incoming.pending:  # (a record larger than asked for ends it too)
                break
        # Decrypted bytes can be left in TLS only when a read filled the caller's size.
        self._full_read = got >= size
        self._hold_tickets = False
        if self.outgoing.pending:  # a session ticket, a key update's answer
            if got and self.owner is not None:
                # The data returned now may well be answered at once, from the reader (the
                # caller): that write carries this along in one segment (two small ones would
                # wait on Nagle and a delayed ACK).  If nothing is written, a greenlet of
                # its own sends it once the reader yields.
                if not self._push_owed:
                    self._push_owed = True
                    next_tick(self._push_later)
            else:
                self.push()
        return data if parts is None else b"".join(parts)

    def _from_kernel(self) -> bool:
        """One non-blocking recv into the incoming BIO: False at the peer's FIN.

        ``BlockingIOError`` when the kernel has nothing (the reader waits for
        readiness, then calls again) -- once what TLS has for the peer is out.
        """
        try:
            raw = self._os.recv(RAW_READ_SIZE)
        except BlockingIOError:
            if self.outgoing.pending and not self._hold_tickets:
                self.push()  # what TLS has for the peer goes before the reader waits
            raise
        if not raw:
            self._eof = True  # a FIN without close_notify: the end, as Node takes it
            return False
        self.incoming.write(raw)
        return True

    def _push_later(self) -> None:
        """(Its own greenlet) What TLS had for the peer after a read, if no write took it along."""
        self._push_owed = False
        if not self._closed and self.outgoing.pending:
            try:
                self.push()
            except OSError:
                pass  # a broken connection: the reader (or the writer) meets it and tells

    def recv_into(self, buffer: Any) -> int:
        data = self.recv(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _fail(self, error: ssl.SSLError) -> None:
        """An OpenSSL error mid-stream: the socket is destroyed with Node's code; the caller sees it closed."""
        from ..errors import openssl_error

        owner = self.owner
        if owner is not None:
            owner._destroy(openssl_error(error))
        raise OSError(9, "closed by a TLS error")  # the core sees the socket CLOSED and stops

    # ------------------------------------------------------------------
    # the write side

    def send(self, data: Any) -> int:
        """``write()``'s fast path: all of *data* encrypted and handed on, or 0 (queue it)."""
        if not self.handshake_done or self._backlog or self._send_lock.locked():
            return 0
        self._hold_tickets = False
        try:
            self._ssl.write(data)
        except ssl.SSLError as error:
            self._fail(error)
        out = self.outgoing.read()
        try:
            sent = self._os.send(out)
        except BlockingIOError:
            sent = 0
        if sent < len(out):
            self._backlog += memoryview(out)[sent:]
            owner = self.owner
            if owner is not None:
                owner._start_writer()  # it sends the backlog first (TLSSocket._flush_queue)
        return len(data)

    def sendall(self, data: Any) -> None:
        """The writer greenlet: wait for the handshake, encrypt *data*, send every byte."""
        if not self.handshake_done:
            self.secured.wait()
            if not self.handshake_done:
                raise OSError(9, "closed before the TLS handshake ended")
        self._hold_tickets = False
        self._write_plain(data)
        self.flush()

    def _write_plain(self, data: Any) -> None:
        try:
            self._ssl.write(data)
        except ssl.SSLError as error:
            self._fail(error)

    def push(self) -> None:
        """Send what TLS has for the peer without blocking; the rest waits in the backlog."""
        out = self.outgoing.read()
        if self._backlog or self._send_lock.locked():
            self._backlog += out  # whoever is sending (or the writer) sends it in order
            if not self._send_lock.locked() and self.owner is not None:
                self.owner._start_writer()
            return
        try:
            sent = self._os.send(out)
        except BlockingIOError:
            sent = 0
        if sent < len(out):
            self._backlog += memoryview(out)[sent:]
            if self.owner is not None:
                self.owner._start_writer()

    def flush(self) -> None:
        """Block (this greenlet) until the backlog and everything TLS has for the peer are in the kernel."""
        with self._send_lock:
            backlog = self._backlog
            send = self._os.send
            while True:
                if self.outgoing.pending:
                    out = self.outgoing.read()
                    if not backlog:
                        try:
                            sent = send(out)
                        except BlockingIOError:
                            sent = 0
                        if sent == len(out):
                            continue
                        backlog += memoryview(out)[sent:]
                    else:
                        backlog += out
                if not backlog:
                    return
                try:
                    sent = send(backlog)
                except BlockingIOError:
                    self._wait(self._write_event)
                    continue
                del backlog[:sent]

    @property
    def has_backlog(self) -> bool:
        return bool(self._backlog) or bool(self.outgoing.pending)

    def shutdown(self, how: int) -> None:
        """Our FIN: TLS's close_notify, then TCP's -- after the handshake (end() may come before it)."""
        if not self.handshake_done:
            self.secured.wait()
            if not self.handshake_done:
                raise OSError(9, "closed before the TLS handshake ended")
        if not self._closed and not self._said_goodbye:
            self._said_goodbye = True
            try:
                self.tls.unwrap()
            except (_WantRead, _ZeroReturn, _SSLEOF):
                pass  # close_notify is written; the peer's, if any, the reader will see
            except ssl.SSLError:
                pass  # a TLS already broken: the FIN still goes
            self.flush()
        self._os.shutdown(how)

    def say_goodbye(self) -> None:
        """Our close_notify, if not sent yet, without waiting: the connection is closing."""
        if self.handshake_done and not self._closed and not self._said_goodbye:
            self._said_goodbye = True
            try:
                self.tls.unwrap()
            except ssl.SSLError:
                pass  # written (or TLS already broken): either way nothing more to do
            try:
                self.push()
            except OSError:
                pass  # the peer is gone: it needs no goodbye

    # ------------------------------------------------------------------
    # the rest of a gevent socket's surface

    def close(self) -> None:
        self._closed = True
        self.owner = None
        self.raw.close()
        self.secured.set()  # a writer waiting for the handshake sees it closed

    def fileno(self) -> int:
        return int(self.raw.fileno())

    @property
    def family(self) -> int:
        return int(self.raw.family)

    @property
    def ref(self) -> bool:
        return bool(self.raw.ref)

    @ref.setter
    def ref(self, value: bool) -> None:
        self.raw.ref = value

    def getpeername(self) -> Any:
        return self.raw.getpeername()

    def getsockname(self) -> Any:
        return self.raw.getsockname()

    def setsockopt(self, *args: Any) -> None:
        self.raw.setsockopt(*args)

    def getsockopt(self, *args: Any) -> Any:
        return self.raw.getsockopt(*args)

    # ------------------------------------------------------------------
    # the handshake's I/O (the reader greenlet)

    def handshake_step(self) -> bool:
        """One step of the handshake: True once it is done; False: call again after :meth:`receive`."""
        if self._server_side and not self.incoming.pending:
            return False  # a server starts from the client's hello: nothing to do before it
        try:
            self._ssl.do_handshake()
        except _WantRead:
            self.flush()
            return False
        if self._server_side and self._ssl.version() == "TLSv1.3":
            # All that is left to send is the session tickets: they wait for our first answer,
            # or for the client's first data (see recv), and go with it in one segment, as
            # Node's do: sent alone, the answer after them would wait for their ACK (Nagle
            # against the client's delayed ACK).  (TLS 1.2's server Finished goes now.)
            self._hold_tickets = True
        else:
            self.flush()  # our Finished
        self.handshake_done = True
        self.secured.set()
        return True

    def receive(self) -> bool:
        """Wait for ciphertext and feed it to TLS; False at the peer's FIN."""
        while True:
            try:
                raw = self._os.recv(RAW_READ_SIZE)
            except BlockingIOError:
                self._wait(self._read_event)
                continue
            if not raw:
                return False
            self.incoming.write(raw)
            return True


_SHUT_WR = _stdlib_socket.SHUT_WR

"""Blocking drivers over Python's own sockets: :func:`connect` gives a
:class:`Client`, :func:`serve` a :class:`Server`, over UDP or TCP.

Both run the sans-IO core on the calling thread: every blocking call
(``recv``, ``send`` when the window is full, ``close``, ``Server.poll``)
waits on the socket with :func:`select.select` until data arrives or the
next timer is due, so retransmissions and heartbeats happen while the
application waits. Nothing runs between calls: call them often enough for
the heartbeats (``ConnectionConfig.heartbeat_ms``).

A TCP server also serves clients that speak only seed 000 (the basic
profile, ``docs/PROTOCOL.md`` 8.1): a stream whose first packet is not a SYN,
or that stays silent for ``basic_after_ms``, is a basic-profile peer. A TCP
peer that lets more than :data:`MAX_BUFFERED` bytes of output pile up (it
does not read) is disconnected (``docs/PROTOCOL.md`` 8.2).
"""

from ._client import Client, connect
from ._server import MAX_BUFFERED, Peer, Server, ServerEvent, serve

__all__ = ["connect", "serve", "Client", "Server", "Peer", "ServerEvent", "MAX_BUFFERED"]

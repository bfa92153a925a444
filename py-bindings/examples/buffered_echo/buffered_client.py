"""Seed 004's buffered client, on seqlink's length-prefixed framing.

Messages are ``[u32 big-endian length][payload]`` (``seqlink.encode_length_prefixed``);
``seqlink.LengthPrefixedDecoder`` reassembles them from ``recv()`` chunks of
any size, however the stream cuts them.
"""

from __future__ import annotations

import socket
from collections import deque
from typing import Deque, Tuple

import seqlink


class BufferedClient:
    """Connects to a :class:`BufferedServer`; sends strings, receives the echoes."""

    def __init__(self, host: str, port: int, buffer_size: int) -> None:
        self.buffer_size = buffer_size
        self.sock = socket.create_connection((host, port))
        self._decoder = seqlink.LengthPrefixedDecoder(max_len=16 << 20)
        self._ready: Deque[bytes] = deque()

    def send_message(self, message: str) -> None:
        """Sends one message; a server that went away shows at the next receive."""
        try:
            self.sock.sendall(seqlink.encode_length_prefixed(message.encode()))
        except OSError:
            pass

    def receive_message(self) -> Tuple[str, bool]:
        """The next message and True, or ``("", False)`` once the server disconnected."""
        while not self._ready:
            try:
                chunk = self.sock.recv(self.buffer_size)
            except OSError:
                return "", False
            if not chunk:
                return "", False
            try:
                self._ready.extend(self._decoder.feed(chunk))
            except seqlink.DecodeError:
                return "", False
        return self._ready.popleft().decode(), True

    def shutdown(self) -> None:
        """Closes the socket."""
        self.sock.close()


if __name__ == "__main__":
    import sys

    client = BufferedClient(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1", int(sys.argv[2]) if len(sys.argv) > 2 else 4567, 1024)
    for line in sys.stdin:
        client.send_message(line.rstrip("\n"))
        reply, ok = client.receive_message()
        if not ok:
            print("server disconnected")
            break
        print(reply)
    client.shutdown()

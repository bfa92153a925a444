"""Seed 004's buffered server, on seqlink's length-prefixed framing: every
message comes back without its first 10 characters.

It serves one client at a time and goes back to listening when that client
disconnects, until ``keep_running`` is set to False.
"""

from __future__ import annotations

import select
import socket
from typing import Optional, Tuple

import seqlink

POLL_SECONDS = 0.05


class BufferedServer:
    """Listens on ``host:port`` (port 0: any free port, see :attr:`address`)."""

    def __init__(self, host: str, port: int, buffer_size: int) -> None:
        self.buffer_size = buffer_size
        self.keep_running = True
        self.server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server_socket.bind((host, port))
        self.server_socket.listen(5)
        self.client_socket: Optional[socket.socket] = None

    @property
    def address(self) -> Tuple[str, int]:
        """The bound address."""
        return self.server_socket.getsockname()

    def start(self) -> None:
        """Accepts clients one after the other and echoes their messages until ``keep_running`` is False."""
        while self.keep_running:
            ready, _, _ = select.select([self.server_socket], [], [], POLL_SECONDS)
            if not ready:
                continue
            self.client_socket, _ = self.server_socket.accept()
            try:
                self._serve(self.client_socket)
            finally:
                self.client_socket.close()
                self.client_socket = None
        self.server_socket.close()

    def _serve(self, client: socket.socket) -> None:
        decoder = seqlink.LengthPrefixedDecoder(max_len=16 << 20)
        while self.keep_running:
            ready, _, _ = select.select([client], [], [], POLL_SECONDS)
            if not ready:
                continue
            try:
                chunk = client.recv(self.buffer_size)
            except OSError:
                return
            if not chunk:
                return  # the client disconnected: listen for the next one
            try:
                messages = decoder.feed(chunk)
            except seqlink.DecodeError:
                return  # a length over the maximum: the stream cannot be delimited
            for message in messages:
                reply = message.decode(errors="replace")[10:]
                try:
                    client.sendall(seqlink.encode_length_prefixed(reply.encode()))
                except OSError:
                    return

    def shutdown(self) -> None:
        """Closes every socket still open."""
        self.keep_running = False
        if self.client_socket is not None:
            self.client_socket.close()
        self.server_socket.close()


if __name__ == "__main__":
    import sys

    server = BufferedServer("", int(sys.argv[1]) if len(sys.argv) > 1 else 4567, 1024)
    print(f"listening on {server.address}")
    try:
        server.start()
    except KeyboardInterrupt:
        server.shutdown()

"""Statistics as frozen dataclasses: a connection's (the core's ``link::Stats``),
an endpoint's, and a basic-profile session's (seed 000 section 5)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Stats", "EndpointStats", "BasicStats"]


@dataclass(frozen=True)
class Stats:
    """Counters of one connection (or link)."""

    packets_sent: int = 0
    """Packets sent, retransmissions, ACKs and control packets included."""
    packets_received: int = 0
    """Packets received that passed their checks."""
    bytes_sent: int = 0
    """Bytes of every datagram sent."""
    bytes_received: int = 0
    """Bytes of every datagram received."""
    retransmissions: int = 0
    """Data packets sent again."""
    fast_retransmissions: int = 0
    """Retransmissions triggered by a NACK or duplicate acknowledgements."""
    timeouts: int = 0
    """Retransmission timeouts that fired."""
    corrupt_packets: int = 0
    """Packets dropped for a failed check."""
    malformed_packets: int = 0
    """Packets whose payload broke its format."""
    duplicates: int = 0
    """Data packets received again."""
    out_of_order: int = 0
    """Data packets received ahead of a gap."""
    out_of_window: int = 0
    """Data packets outside the receive window."""
    nacks_sent: int = 0
    nacks_received: int = 0
    acks_sent: int = 0
    acks_received: int = 0
    messages_sent: int = 0
    """Messages the application queued."""
    messages_delivered: int = 0
    """Messages handed to the application."""
    bytes_delivered: int = 0
    """Message bytes handed to the application."""
    unreliable_dropped: int = 0
    """Unreliable messages dropped as late or duplicate."""
    trace_overflows: int = 0
    srtt_ms: int = 0
    """Smoothed round-trip time."""
    rto_ms: int = 0
    """Current retransmission timeout."""
    cwnd: int = 0
    """Congestion window, packets."""
    in_flight: int = 0
    """Packets sent and not yet acknowledged."""


@dataclass(frozen=True)
class EndpointStats:
    """Counters of a server endpoint."""

    syn_acks_sent: int = 0
    refused: int = 0
    bad_cookies: int = 0
    replays: int = 0
    accepted: int = 0
    incoming_queued: int = 0
    incoming_dropped: int = 0
    incoming_expired: int = 0
    resets_sent: int = 0
    suppressed: int = 0
    dropped: int = 0


@dataclass(frozen=True)
class BasicStats:
    """Seed 000 section 5's statistics, plus what this side sent."""

    packets_received_raw: int = 0
    """Every packet (or damaged packet) received."""
    detected_corruptions: int = 0
    """Packets that failed their checksum or length checks (discarded)."""
    successfully_processed_packets: int = 0
    """Valid packets with the expected sequence number."""
    out_of_sequence_packets: int = 0
    """Valid packets with another sequence number (discarded)."""
    packets_sent: int = 0
    """Packets this side sent (ACKs and NACKs included)."""
    acks_received: int = 0
    nacks_received: int = 0

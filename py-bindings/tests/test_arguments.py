"""Every argument from Python ends in a seqlink.Error (out of range) or a
TypeError (wrong type): never a bare OverflowError, never a crash."""

from __future__ import annotations

import asyncio
import re
from typing import Any, Callable, Dict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import seqlink

CONNECTION_INTS = {
    "max_payload": 0xFFFF,
    "window": 0xFFFF,
    "heartbeat_ms": 0xFFFF_FFFF,
    "idle_timeout_ms": 0xFFFF_FFFF,
    "connect_timeout_ms": 0xFFFF_FFFF,
    "close_timeout_ms": 0xFFFF_FFFF,
    "linger_ms": 0xFFFF_FFFF,
    "unreliable_slots": 0xFF,
    "coalesce_wait_ms": 0xFFFF,
    "redundancy": 0xFF,
}
ENDPOINT_INTS = {"max_connections": 0xFFFF, "cookie_lifetime_ms": 0xFFFF_FFFF, "resets_per_second": 0xFFFF}
PEER = ("127.0.0.1", 9000)


def argument_of(name: str) -> str:
    """The argument a case of CALLS puts the value in: the last name in its label."""
    return re.findall(r"[a-z_]+", name)[-1]


def incoming() -> Any:
    """A handshake waiting for the application's decision."""
    server = seqlink.Endpoint(seqlink.EndpointConfig(max_connections=1, auto_accept=False), entropy=1)
    client = seqlink.Connection(0, entropy=2)
    for now in range(0, 40, 10):
        for datagram in client.transmit(now):
            server.handle_datagram(now, PEER, datagram)
        for _, datagram in server.transmit(now):
            client.handle_datagram(now, datagram)
        waiting = server.poll_incoming()
        if waiting is not None:
            return server, waiting
    raise AssertionError("no handshake came in")


def with_handle() -> Any:
    server = endpoint()
    client = seqlink.Connection(0, entropy=2)
    for now in range(0, 40, 10):
        for datagram in client.transmit(now):
            server.handle_datagram(now, PEER, datagram)
        for _, datagram in server.transmit(now):
            client.handle_datagram(now, datagram)
    handle = server.accept()
    assert handle is not None
    return server, handle


def endpoint() -> seqlink.Endpoint:
    """A small endpoint (a whole table of 16 connections takes a while to allocate)."""
    return seqlink.Endpoint(seqlink.EndpointConfig(max_connections=1), entropy=1)


def connection() -> seqlink.Connection:
    return seqlink.Connection(0, entropy=1)


# Each takes one value from Python, put where an int is expected.
CALLS: Dict[str, Callable[[Any], Any]] = {
    **{f"ConnectionConfig({f}=)": (lambda x, f=f: seqlink.ConnectionConfig(**{f: x})) for f in CONNECTION_INTS},
    **{f"ConnectionConfig().{f} =": (lambda x, f=f: setattr(seqlink.ConnectionConfig(), f, x)) for f in CONNECTION_INTS},
    **{f"EndpointConfig({f}=)": (lambda x, f=f: seqlink.EndpointConfig(**{f: x})) for f in ENDPOINT_INTS},
    **{f"EndpointConfig().{f} =": (lambda x, f=f: setattr(seqlink.EndpointConfig(), f, x)) for f in ENDPOINT_INTS},
    "ConnectionConfig(extension=[...])": lambda x: seqlink.ConnectionConfig(extension=[x]),
    "ConnectionConfig().extension = [...]": lambda x: setattr(seqlink.ConnectionConfig(), "extension", [x]),
    "encode_packet(seq=)": lambda x: seqlink.encode_packet(x, 1),
    "encode_packet(ptype=)": lambda x: seqlink.encode_packet(1, x),
    "encode_serial(seq=)": lambda x: seqlink.encode_serial(x, 1),
    "encode_serial(ptype=)": lambda x: seqlink.encode_serial(1, x),
    "Packet(seq=)": lambda x: seqlink.Packet(x, 1),
    "Packet(ptype=)": lambda x: seqlink.Packet(1, x),
    "decode_packet(max_payload=)": lambda x: seqlink.decode_packet(b"", max_payload=x),
    "StreamDecoder(max_payload=)": lambda x: seqlink.StreamDecoder(max_payload=x),
    "SerialDecoder(max_payload=)": lambda x: seqlink.SerialDecoder(max_payload=x),
    "LengthPrefixedDecoder(max_len=)": lambda x: seqlink.LengthPrefixedDecoder(max_len=x),
    "describe(code=)": lambda x: seqlink.describe(x),
    "Message(ptype=)": lambda x: seqlink.Message(x, b""),
    "Message(delivery=)": lambda x: seqlink.Message(1, b"", x),
    "BasicSession(max_payload=)": lambda x: seqlink.BasicSession(max_payload=x),
    "BasicSession().encode(ptype=)": lambda x: seqlink.BasicSession().encode(x),
    "Connection(now=)": lambda x: seqlink.Connection(x),
    "Connection(entropy=)": lambda x: seqlink.Connection(0, entropy=x),
    "Connection.handle_datagram(now=)": lambda x: connection().handle_datagram(x, b""),
    "Connection.poll_transmit(now=)": lambda x: connection().poll_transmit(x),
    "Connection.transmit(now=)": lambda x: connection().transmit(x),
    "Connection.handle_timeout(now=)": lambda x: connection().handle_timeout(x),
    "Connection.send(ptype=)": lambda x: connection().send(x, b""),
    "Connection.send(delivery=)": lambda x: connection().send(100, b"", x),
    "Connection.close(now=)": lambda x: connection().close(x),
    "Connection.abort(now=)": lambda x: connection().abort(x),
    "Connection.abort(code=)": lambda x: connection().abort(0, x),
    "Endpoint(entropy=)": lambda x: seqlink.Endpoint(entropy=x),
    "Endpoint.handle_datagram(now=)": lambda x: endpoint().handle_datagram(x, PEER, b""),
    "Endpoint.handle_datagram(peer=)": lambda x: endpoint().handle_datagram(0, x, b""),
    "Endpoint.handle_datagram(port=)": lambda x: endpoint().handle_datagram(0, ("127.0.0.1", x), b""),
    "Endpoint.handle_datagram(scope_id=)": lambda x: endpoint().handle_datagram(0, ("::1", 1, 0, x), b""),
    "Endpoint.poll_transmit(now=)": lambda x: endpoint().poll_transmit(x),
    "Endpoint.transmit(now=)": lambda x: endpoint().transmit(x),
    "Endpoint.handle_timeout(now=)": lambda x: endpoint().handle_timeout(x),
    "Endpoint.accept_incoming(now=)": lambda x: (lambda s, i: s.accept_incoming(i, x))(*incoming()),
    "Endpoint.refuse(code=)": lambda x: (lambda s, i: s.refuse(i, x))(*incoming()),
    "Endpoint.send(ptype=)": lambda x: (lambda s, h: s.send(h, x, b""))(*with_handle()),
    "Endpoint.close(now=)": lambda x: (lambda s, h: s.close(h, x))(*with_handle()),
    "Endpoint.abort(now=)": lambda x: (lambda s, h: s.abort(h, x))(*with_handle()),
    "Endpoint.abort(code=)": lambda x: (lambda s, h: s.abort(h, 0, x))(*with_handle()),
}


def outcome(call: Callable[[Any], Any], value: Any) -> BaseException | None:
    try:
        call(value)
    except BaseException as e:  # noqa: B036: the test is which exceptions come out
        return e
    return None


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("value", [-1, 2**64, -(2**70)])
def test_an_int_out_of_range_is_a_seqlink_error_naming_the_argument(name: str, value: int) -> None:
    error = outcome(CALLS[name], value)
    assert isinstance(error, seqlink.Error), f"{name}: {error!r}"
    assert isinstance(error, ValueError)
    assert argument_of(name) in str(error), f"{name}: {error}"


TOPS = {**CONNECTION_INTS, **ENDPOINT_INTS}


@pytest.mark.parametrize("name", sorted(name for name in CALLS if argument_of(name) in TOPS))
def test_just_past_the_top_of_its_range_is_a_seqlink_error(name: str) -> None:
    top = TOPS[argument_of(name)]
    error = outcome(CALLS[name], top + 1)
    assert isinstance(error, seqlink.Error), f"{name}: {error!r}"
    assert f"0..={top}" in str(error), str(error)


anything = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-2, max_value=300),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=True),
    st.text(max_size=4),
    st.binary(max_size=4),
    st.tuples(st.text(max_size=8), st.integers(min_value=-(2**40), max_value=2**40)),
)


@pytest.mark.parametrize("name", sorted(CALLS))
@settings(max_examples=25, deadline=None)
@given(value=anything)
def test_any_value_anywhere_is_accepted_or_a_seqlink_error_or_a_type_error(name: str, value: Any) -> None:
    error = outcome(CALLS[name], value)
    assert error is None or isinstance(error, (seqlink.Error, TypeError)), f"{name}({value!r}): {error!r}"


DRIVERS: Dict[str, Callable[[Any], Any]] = {
    "connect(port=)": lambda x: seqlink.connect("127.0.0.1", x, timeout=0.05),
    "connect(timeout=)": lambda x: seqlink.connect("127.0.0.1", 9, timeout=x),
    "serve(port=)": lambda x: seqlink.serve("127.0.0.1", x).close(),
    "aio.connect(port=)": lambda x: asyncio.run(seqlink.aio.connect("127.0.0.1", x, timeout=0.05)),
    "aio.connect(timeout=)": lambda x: asyncio.run(seqlink.aio.connect("127.0.0.1", 9, timeout=x)),
    "aio.serve(port=)": lambda x: asyncio.run(seqlink.aio.serve("127.0.0.1", x, lambda conn: None)),
}


DRIVER_VALUES = {"port": [-1, 2**16, "9000", 1.5], "timeout": [-1, -0.5, float("nan"), "1"]}


@pytest.mark.parametrize(
    "name, value", [(name, value) for name in sorted(DRIVERS) for value in DRIVER_VALUES[argument_of(name)]]
)
def test_the_drivers_check_ports_and_timeouts_before_touching_a_socket(name: str, value: Any) -> None:
    error = outcome(DRIVERS[name], value)
    if isinstance(value, str) or (argument_of(name) == "port" and isinstance(value, float)):
        assert isinstance(error, TypeError), f"{name}({value!r}): {error!r}"
    else:
        assert isinstance(error, seqlink.Error), f"{name}({value!r}): {error!r}"
        assert argument_of(name) in str(error), str(error)


@pytest.mark.parametrize("field", ["timing", "congestion"])
def test_a_misspelt_timing_or_congestion_is_refused_where_it_is_set(field: str) -> None:
    config = seqlink.ConnectionConfig()
    with pytest.raises(seqlink.Error, match=field):
        setattr(config, field, "fast")
    assert getattr(config, field) == getattr(seqlink.ConnectionConfig(), field)

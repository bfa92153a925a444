"""Random bytes into every sans-IO object: dropped and counted, never a crash
or an exception from the data itself."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import seqlink

datagrams = st.lists(st.binary(max_size=1600), max_size=20)
headers = st.builds(
    lambda seq, ptype, payload: seqlink.encode_packet(seq, ptype, payload),
    st.integers(0, 2**32 - 1),
    st.sampled_from([20, 21, 22, 23, 24, 25, 26, 27, 28, 29]),
    st.binary(max_size=80),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=1600), headers), max_size=20))
def test_connections_and_endpoints_drop_garbage(inputs):
    client = seqlink.Connection(0, entropy=1)
    server = seqlink.Endpoint(seqlink.EndpointConfig(max_connections=2), entropy=2)
    basic = seqlink.BasicSession()
    for now, data in enumerate(inputs, start=1):
        client.handle_datagram(now, data)
        server.handle_datagram(now, ("127.0.0.1", 5000 + now % 3), data)
        basic.receive(data)
        client.transmit(now)
        server.transmit(now)
        while server.poll_event() is not None:
            pass
    assert client.state in ("syn_sent", "failed", "closed")
    assert basic.stats.packets_received_raw == len(inputs)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=5000), st.integers(1, 64))
def test_a_basic_session_judges_any_stream(stream, chunk):
    basic = seqlink.BasicSession(out_of_order="nack", acks=True, max_payload=512)
    for i in range(0, len(stream), chunk):
        try:
            basic.feed(stream[i : i + chunk])
        except seqlink.PayloadTooLargeError:
            break  # a length over the maximum: the stream cannot be delimited any more
        while basic.poll_control() is not None:
            pass

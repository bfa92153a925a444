"""The sans-IO connection, endpoint (with admission) and basic profile, driven
by a loop that plays the network, as the core's own examples do."""

from __future__ import annotations

import dataclasses

import pytest

import seqlink
from seqlink import Delivery, EventKind, PacketType, State

CLIENT = ("127.0.0.1", 40001)


class Net:
    """A lossless network between one endpoint and its clients, stepped by hand."""

    def __init__(self, server: seqlink.Endpoint, *clients: seqlink.Connection) -> None:
        self.server = server
        self.clients = {("127.0.0.1", 40001 + i): c for i, c in enumerate(clients)}
        self.now = 0

    def step(self, ms: int = 5) -> None:
        self.now += ms
        for peer, client in self.clients.items():
            due = client.poll_timeout()
            if due is not None and due <= self.now:
                client.handle_timeout(self.now)
            for datagram in client.transmit(self.now):
                self.server.handle_datagram(self.now, peer, datagram)
        due = self.server.poll_timeout()
        if due is not None and due <= self.now:
            self.server.handle_timeout(self.now)
        for peer, datagram in self.server.transmit(self.now):
            self.clients[peer].handle_datagram(self.now, datagram)

    def run(self, ms: int) -> None:
        for _ in range(ms // 5):
            self.step()


def events(source) -> list:
    out = []
    while (event := source.poll_event()) is not None:
        out.append(event)
    return out


def test_a_client_connects_sends_a_shot_and_closes():
    server = seqlink.Endpoint(seqlink.EndpointConfig(max_connections=4), entropy=1)
    client = seqlink.Connection(0, entropy=2)
    net = Net(server, client)
    assert client.state == State.SYN_SENT
    with pytest.raises(seqlink.NotConnectedError):
        client.send(PacketType.CMD_FIRE, b"B5")
    net.run(50)
    assert [e.kind for e in events(client)] == [EventKind.CONNECTED]
    assert client.state == State.ESTABLISHED and client.is_established
    (connected,) = events(server)
    assert connected.name == "connected" and server.peer(connected.handle) == CLIENT
    client.send(PacketType.CMD_FIRE, b"B5")
    client.send(PacketType.MSG_INFO, b"fast", Delivery.UNRELIABLE)
    net.run(50)
    handle = connected.handle
    got = []
    while (message := server.recv(handle)) is not None:
        got.append(message)
    assert sorted(got, key=lambda m: m.delivery) == [
        seqlink.Message(PacketType.CMD_FIRE, b"B5", Delivery.RELIABLE),
        seqlink.Message(PacketType.MSG_INFO, b"fast", Delivery.UNRELIABLE),
    ]
    server.send(handle, PacketType.MSG_RESULT, b"HIT")
    net.run(50)
    reply = client.recv()
    assert reply is not None and (reply.ptype, reply.payload) == (PacketType.MSG_RESULT, b"HIT")
    client.close(net.now)
    net.run(200)
    assert [e.name for e in events(client)] == ["closed"]
    stats = client.stats
    assert dataclasses.is_dataclass(stats) and stats.messages_sent == 2 and stats.messages_delivered == 1
    assert server.stats.accepted == 1


def test_messages_arrive_in_order_and_whole():
    server = seqlink.Endpoint(entropy=3)
    client = seqlink.Connection(0, seqlink.ConnectionConfig(max_payload=256), entropy=4)
    net = Net(server, client)
    net.run(30)
    (connected,) = events(server)
    big = bytes(range(256)) * 40  # fragmented over 256-byte packets
    for i in range(20):
        client.send(100, b"%d" % i)
    client.send(101, big)
    net.run(200)
    got = []
    while (m := server.recv(connected.handle)) is not None:
        got.append(m.payload)
    assert got == [b"%d" % i for i in range(20)] + [big]


def test_a_coalescing_wait_holds_small_messages_to_share_one_datagram():
    for wait in (0, 20):
        server = seqlink.Endpoint(entropy=7)
        client = seqlink.Connection(0, seqlink.ConnectionConfig(coalesce_wait_ms=wait), entropy=8)
        assert seqlink.ConnectionConfig(coalesce_wait_ms=wait).coalesce_wait_ms == wait
        net = Net(server, client)
        net.run(100)
        assert client.state == State.ESTABLISHED
        (connected,) = events(server)
        for i in range(3):
            client.send(100, b"m%d" % i)
        sent = client.transmit(net.now)
        if wait:
            assert sent == [], "new small messages wait for company"
            sent = client.transmit(net.now + wait)
        assert len(sent) == 1, "the three messages share one datagram"
        server.handle_datagram(net.now + wait, ("127.0.0.1", 40001), sent[0])
        got = []
        while (m := server.recv(connected.handle)) is not None:
            got.append(m.payload)
        assert got == [b"m0", b"m1", b"m2"]


def test_a_lost_datagram_of_a_thin_stream_is_repaired_by_the_copy_in_the_next_one():
    for redundancy in (1, 0):
        server = seqlink.Endpoint(entropy=7)
        config = seqlink.ConnectionConfig(redundancy=redundancy)
        assert config.redundancy == redundancy
        client = seqlink.Connection(0, config, entropy=8)
        net = Net(server, client)
        net.run(100)
        assert client.state == State.ESTABLISHED
        (connected,) = events(server)
        client.send(100, b"first")
        lost = client.transmit(net.now)
        assert len(lost) == 1, "the first message leaves alone, and is lost"
        client.send(100, b"second")
        (second,) = client.transmit(net.now + 1)
        server.handle_datagram(net.now + 1, ("127.0.0.1", 40001), second)
        got = []
        while (m := server.recv(connected.handle)) is not None:
            got.append(m.payload)
        if redundancy:
            assert got == [b"first", b"second"], "the second datagram carried the first message again"
        else:
            assert got == [], "without copies the second waits for the first one's resend"


def test_an_application_refuses_a_peer_and_the_client_fails_with_its_code():
    server = seqlink.Endpoint(seqlink.EndpointConfig(auto_accept=False), entropy=5)
    client = seqlink.Connection(0, entropy=6)
    net = Net(server, client)
    for _ in range(20):
        net.step()
        while (incoming := server.poll_incoming()) is not None:
            assert incoming.peer == CLIENT
            server.refuse(incoming, seqlink.PeerCode.SERVER_FULL)
            with pytest.raises(seqlink.StaleTicketError):
                server.refuse(incoming)
    assert client.state == State.FAILED
    failure = client.failure
    assert isinstance(failure, seqlink.RefusedError) and failure.peer_code == 3
    (failed,) = events(client)
    assert failed.kind == EventKind.FAILED and failed.reason == 64 and failed.peer_code == 3
    assert isinstance(failed.error, seqlink.RefusedError)
    (refused,) = events(server)
    assert refused.kind == EventKind.PEER_REFUSED and refused.peer == CLIENT and refused.peer_code == 3


def test_an_application_accepts_a_waiting_handshake():
    server = seqlink.Endpoint(seqlink.EndpointConfig(auto_accept=False), entropy=7)
    client = seqlink.Connection(0, entropy=8)
    net = Net(server, client)
    handle = None
    for _ in range(20):
        net.step()
        while (incoming := server.poll_incoming()) is not None:
            handle = server.accept_incoming(incoming, net.now)
    assert handle is not None and client.is_established
    assert server.state(handle) == "established"


def test_a_silent_server_makes_the_connect_time_out():
    client = seqlink.Connection(0, seqlink.ConnectionConfig(connect_timeout_ms=300), entropy=9)
    now = 0
    while not client.is_closed and now < 5_000:
        now = max(now, client.poll_timeout() or now + 10)
        client.handle_timeout(now)
        client.transmit(now)  # lost
    assert isinstance(client.failure, seqlink.ConnectTimeoutError)


def test_bad_configurations_raise_their_config_error():
    with pytest.raises(seqlink.WindowError):
        seqlink.ConnectionConfig(window=0)
    with pytest.raises(seqlink.PayloadLimitError):
        seqlink.ConnectionConfig(max_payload=10)
    with pytest.raises(seqlink.ExtensionError):
        seqlink.ConnectionConfig(extension=bytes(33))
    with pytest.raises(seqlink.Error, match="timing"):
        seqlink.ConnectionConfig(timing="fast")
    config = seqlink.ConnectionConfig(window=64, stream=True)
    assert config.window == 64 and config.stream and "window=64" in repr(config)
    endpoint = seqlink.EndpointConfig(connection=config)
    endpoint.connection.window = 32  # the same object, not a copy
    assert config.window == 32 and endpoint.connection is config


def test_garbage_datagrams_are_dropped_and_counted_never_raised():
    server = seqlink.Endpoint(entropy=10)
    client = seqlink.Connection(0, entropy=11)
    for junk in (b"", b"\x00" * 9, b"\xff" * 1500, seqlink.encode_packet(0, 25, b"short syn")):
        server.handle_datagram(1, CLIENT, junk)
        client.handle_datagram(1, junk)
    with pytest.raises(TypeError):
        server.handle_datagram(1, object(), b"")
    with pytest.raises(seqlink.Error):
        server.handle_datagram(1, ("not an ip", 1), b"")


def test_handles_are_values_and_stale_handles_are_refused():
    server = seqlink.Endpoint(entropy=12)
    client = seqlink.Connection(0, entropy=13)
    net = Net(server, client)
    net.run(30)
    (connected,) = events(server)
    handle = connected.handle
    assert handle == server.accept() and hash(handle) == hash(connected.handle)
    server.release(handle)
    with pytest.raises(seqlink.UnknownHandleError):
        server.send(handle, 100, b"gone")
    assert server.recv(handle) is None and server.peer(handle) is None


def test_basic_profile_numbers_packets_and_discards_out_of_order():
    client = seqlink.BasicSession()
    server = seqlink.BasicSession(out_of_order="nack", acks=True)
    place, fire, quit_ = client.encode(PacketType.CMD_PLACE, b"R"), client.encode(3, b"B5"), client.encode(4)
    assert seqlink.decode_packet(fire).seq == 1
    outcomes = server.feed(place + quit_[:5]) + server.feed(quit_[5:] + fire)
    assert [o.kind for o in outcomes] == ["deliver", "out_of_sequence", "deliver"]
    assert outcomes[0].packet == seqlink.Packet(0, PacketType.CMD_PLACE, b"R")
    assert (outcomes[1].expected, outcomes[1].got) == (1, 2)
    controls = []
    while (c := server.poll_control()) is not None:
        controls.append(seqlink.decode_packet(c).ptype)
    assert controls == [PacketType.ACK, PacketType.NACK, PacketType.ACK]
    corrupt = bytearray(client.encode(3, b"C3"))
    corrupt[-1] ^= 1
    assert server.receive(bytes(corrupt)).kind == "corrupt"
    stats = server.stats
    assert (stats.packets_received_raw, stats.successfully_processed_packets) == (4, 2)
    assert (stats.out_of_sequence_packets, stats.detected_corruptions) == (1, 1)


def test_a_table_too_large_to_allocate_is_refused_not_attempted():
    huge = seqlink.ConnectionConfig(max_payload=65535, window=256)
    with pytest.raises(seqlink.Error, match="storage"):
        seqlink.Endpoint(seqlink.EndpointConfig(connection=huge, max_connections=1024))


def test_every_message_arrives_across_a_network_that_loses_a_fifth_of_the_datagrams():
    import random

    rng = random.Random(7)
    server = seqlink.Endpoint(entropy=20)
    client = seqlink.Connection(0, seqlink.ConnectionConfig(max_payload=300), entropy=21)
    now, handle, got = 0, None, []
    sent = [b"message %d " % i * (1 + i % 40) for i in range(200)]
    queued = 0
    while len(got) < len(sent) and now < 60_000:
        now += 5
        for side in (client, server):
            due = side.poll_timeout()
            if due is not None and due <= now:
                side.handle_timeout(now)
        if client.is_established:
            while queued < len(sent):
                try:
                    client.send(100, sent[queued])
                except seqlink.WouldBlockError:
                    break
                queued += 1
        for datagram in client.transmit(now):
            if rng.random() >= 0.2:
                server.handle_datagram(now, CLIENT, datagram)
        for _, datagram in server.transmit(now):
            if rng.random() >= 0.2:
                client.handle_datagram(now, datagram)
        while (event := server.poll_event()) is not None:
            handle = event.handle if event.kind == EventKind.CONNECTED else handle
        while handle is not None and (message := server.recv(handle)) is not None:
            got.append(message.payload)
        while client.poll_event() is not None:
            pass
    assert got == sent
    stats = client.stats
    assert stats.retransmissions > 0 and stats.messages_sent == len(sent)


def test_configurations_with_the_same_settings_are_equal():
    assert seqlink.ConnectionConfig(window=64) == seqlink.ConnectionConfig(window=64)
    assert seqlink.ConnectionConfig(window=64) != seqlink.ConnectionConfig()
    tuned = seqlink.ConnectionConfig()
    tuned.timing = "standard"
    assert tuned != seqlink.ConnectionConfig()

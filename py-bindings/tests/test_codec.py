"""The codec level: checksum, one packet, the stream, serial and length-prefixed decoders."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import seqlink
from seqlink import PacketType

seqs = st.integers(min_value=0, max_value=2**32 - 1)
ptypes = st.integers(min_value=0, max_value=255)
payloads = st.binary(max_size=2048)


def test_seed_000_fire_b5_is_the_documented_bytes():
    wire = seqlink.encode_packet(1, PacketType.CMD_FIRE, b"B5")
    assert wire == bytes([0, 0, 0, 1, 3, 0, 2, 0xC5, 0xBC]) + b"B5"
    assert seqlink.decode_packet(wire) == seqlink.Packet(1, PacketType.CMD_FIRE, b"B5")


def test_internet_checksum_of_rfc_1071_example():
    # RFC 1071 section 3: the sum of 0001 f203 f4f5 f6f7 is ddf2, checksum 220d
    assert seqlink.internet_checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def test_packet_type_keeps_seed_000_numbers_and_adds_the_control_types():
    assert [PacketType.CMD_PLACE, PacketType.CMD_PLAY_AGAIN] == [0, 5]
    assert [PacketType.MSG_WELCOME, PacketType.MSG_SPECTATOR] == [10, 17]
    assert [PacketType.ACK, PacketType.NACK, PacketType.HEARTBEAT, PacketType.ERR_MSG] == [20, 21, 22, 23]
    assert [PacketType.DATA, PacketType.SYN, PacketType.RESET] == [24, 25, 29]
    assert PacketType.is_protocol(PacketType.ACK) and PacketType.is_application(200)


def test_a_flipped_bit_is_a_checksum_error_and_a_decode_error():
    wire = bytearray(seqlink.encode_packet(7, PacketType.MSG_RESULT, b"HIT"))
    wire[-1] ^= 0x01
    with pytest.raises(seqlink.ChecksumError) as caught:
        seqlink.decode_packet(bytes(wire))
    assert isinstance(caught.value, seqlink.DecodeError)
    assert isinstance(caught.value, seqlink.Error) and isinstance(caught.value, ValueError)
    assert caught.value.code == 3 and "bad checksum" in str(caught.value)


@pytest.mark.parametrize(
    "data, error, code",
    [
        (b"\x00\x00", seqlink.TruncatedError, 1),
        (seqlink.encode_packet(1, 3, b"B5") + b"!", seqlink.LengthMismatchError, 2),
        (seqlink.encode_packet(1, 3, b"B5")[:-1], seqlink.LengthMismatchError, 2),
    ],
)
def test_short_and_long_datagrams_say_what_failed(data, error, code):
    with pytest.raises(error) as caught:
        seqlink.decode_packet(data)
    assert caught.value.code == code


def test_every_exception_class_has_its_core_code_and_description():
    for code in list(range(1, 9)) + list(range(20, 28)) + list(range(40, 44)) + list(range(60, 67)) + [100, 101]:
        cls = seqlink.error_for_code(code)
        assert cls.code == code, cls
        assert issubclass(cls, seqlink.Error) and issubclass(cls, ValueError)
        assert seqlink.describe(code) not in ("none", "unknown code")
    assert seqlink.describe(0) == "none" and seqlink.describe(200) == "unknown code"
    assert seqlink.error_for_code(3) is seqlink.ChecksumError


def test_out_of_range_arguments_are_seqlink_errors_not_crashes():
    with pytest.raises(seqlink.Error, match="seq"):
        seqlink.encode_packet(2**32, 3)
    with pytest.raises(seqlink.Error, match="ptype"):
        seqlink.encode_packet(0, 256)
    with pytest.raises(seqlink.Error):
        seqlink.encode_packet(0, -1)
    with pytest.raises(seqlink.Error):
        seqlink.encode_packet(2**200, 0)
    with pytest.raises(TypeError):
        seqlink.encode_packet("1", 3)  # type: ignore[arg-type]
    with pytest.raises(seqlink.PayloadTooLargeError):
        seqlink.encode_packet(0, 3, bytes(70_000))


def test_large_payloads_round_trip_with_the_gil_released():
    payload = bytes(range(256)) * 255
    assert seqlink.decode_packet(seqlink.encode_packet(9, 99, payload)).payload == payload
    assert seqlink.internet_checksum(payload) == seqlink.internet_checksum(bytearray(payload))


def test_packets_are_values():
    a = seqlink.Packet(1, 3, b"B5")
    assert a == seqlink.Packet(1, PacketType.CMD_FIRE, bytearray(b"B5"))
    assert a != seqlink.Packet(2, 3, b"B5") and a != (1, 3, b"B5")
    assert len({a, seqlink.Packet(1, 3, b"B5")}) == 1
    assert repr(a) == "Packet(seq=1, ptype=PacketType.CMD_FIRE, payload=b'B5')"
    seq, ptype, payload = (a.seq, a.ptype, a.payload)
    assert (seq, ptype, payload) == (1, 3, b"B5")
    assert seqlink.decode_packet(a.encode()) == a


def test_crc32c_packets_need_a_crc32c_decoder():
    wire = seqlink.encode_packet(5, 11, b"hello", crc32c=True)
    assert seqlink.decode_packet(wire, crc32c=True).payload == b"hello"
    with pytest.raises(seqlink.DecodeError):
        seqlink.decode_packet(wire)


@given(seqs, ptypes, payloads)
def test_every_packet_round_trips(seq, ptype, payload):
    packet = seqlink.decode_packet(seqlink.encode_packet(seq, ptype, payload))
    assert (packet.seq, packet.ptype, packet.payload) == (seq, ptype, payload)


@given(st.lists(st.tuples(seqs, ptypes, payloads), max_size=8), st.data())
def test_a_stream_cut_anywhere_gives_back_every_packet_in_order(packets, data):
    wire = b"".join(seqlink.encode_packet(*p) for p in packets)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=10)))
    decoder = seqlink.StreamDecoder()
    found = []
    for start, end in zip([0] + cuts, cuts + [len(wire)]):
        found += decoder.feed(wire[start:end])
    assert [(p.seq, p.ptype, p.payload) for p in found] == packets
    assert decoder.buffered == 0 and decoder.corrupt == 0


def test_a_corrupt_packet_in_a_stream_is_skipped_and_counted():
    first, second, third = (seqlink.encode_packet(i, 3, b"A%d" % i) for i in range(3))
    broken = bytearray(second)
    broken[-1] ^= 0xFF
    decoder = seqlink.StreamDecoder()
    assert [p.seq for p in decoder.feed(first + bytes(broken) + third)] == [0, 2]
    assert decoder.corrupt == 1 and isinstance(decoder.last_error, seqlink.ChecksumError)


def test_a_length_over_the_maximum_is_fatal_until_reset():
    decoder = seqlink.StreamDecoder(max_payload=64)
    good = seqlink.encode_packet(0, 3, b"ok")
    with pytest.raises(seqlink.PayloadTooLargeError) as caught:
        decoder.feed(good + seqlink.encode_packet(1, 3, bytes(100)))
    assert [p.seq for p in caught.value.packets] == [0]
    with pytest.raises(seqlink.PayloadTooLargeError):
        decoder.feed(good)
    decoder.reset()
    assert decoder.feed(good) == [seqlink.Packet(0, 3, b"ok")]


@given(st.lists(st.tuples(seqs, ptypes, payloads), max_size=6), st.integers(1, 7))
def test_serial_frames_fed_in_small_chunks_round_trip(packets, chunk):
    wire = b"".join(seqlink.encode_serial(*p) for p in packets)
    decoder = seqlink.SerialDecoder()
    found = []
    for i in range(0, len(wire), chunk):
        found += decoder.feed(wire[i : i + chunk])
    assert [(p.seq, p.ptype, p.payload) for p in found] == packets


def test_serial_noise_between_frames_is_skipped():
    decoder = seqlink.SerialDecoder(max_payload=64)
    wire = b"\x05noise\x00" + seqlink.encode_serial(4, 14, b"HIT")
    assert decoder.feed(wire) == [seqlink.Packet(4, 14, b"HIT")]
    assert decoder.corrupt == 1


@given(st.lists(st.binary(max_size=3000), max_size=6), st.integers(1, 5000))
def test_length_prefixed_messages_round_trip(messages, chunk):
    wire = b"".join(seqlink.encode_length_prefixed(m) for m in messages)
    decoder = seqlink.LengthPrefixedDecoder(max_len=4096)
    found = []
    for i in range(0, len(wire), chunk):
        found += decoder.feed(wire[i : i + chunk])
    assert found == messages


def test_seed_004_prefix_is_four_big_endian_bytes():
    assert seqlink.encode_length_prefixed(b"Four score") == b"\x00\x00\x00\x0aFour score"
    decoder = seqlink.LengthPrefixedDecoder(max_len=4)
    with pytest.raises(seqlink.PayloadTooLargeError):
        decoder.feed(seqlink.encode_length_prefixed(b"too long"))


@settings(max_examples=300)
@given(st.binary(max_size=4096), st.integers(0, 70000), st.booleans())
def test_random_garbage_never_crashes_any_decoder(garbage, max_payload, crc):
    try:
        seqlink.decode_packet(garbage)
    except seqlink.DecodeError:
        pass
    for make in (
        lambda: seqlink.StreamDecoder(max_payload=max_payload, crc32c=crc),
        lambda: seqlink.SerialDecoder(max_payload=max_payload, crc32c=crc),
        lambda: seqlink.LengthPrefixedDecoder(max_len=max_payload),
    ):
        try:
            decoder = make()
        except seqlink.Error:
            continue  # a maximum out of range is refused, never a crash
        for _ in range(2):
            try:
                for item in decoder.feed(garbage):
                    assert isinstance(item, (seqlink.Packet, bytes))
            except seqlink.DecodeError:
                decoder.reset()

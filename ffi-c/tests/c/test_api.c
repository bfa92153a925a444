/* The C test suite of libseqlink: round trips and every error path, built
 * with -Wall -Wextra -Werror -fsanitize=address,undefined by
 * scripts/test-ffi.sh. */
#include "check.h"
#include "seqlink.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Memory aligned to SEQLINK_ALIGN, as a C program would provide it. */
typedef struct {
    _Alignas(SEQLINK_ALIGN) uint8_t bytes[1 << 16];
} Arena;

static Arena arena_a, arena_b, arena_c;

/* A codec for payloads up to 1 KiB: decoders then need about 1 KiB of buffer. */
static SeqlinkCodec codec_1k(void) {
    SeqlinkCodec codec = seqlink_codec_default();
    codec.max_payload = 1024;
    return codec;
}

static const uint8_t SECRET[16] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};

/* ---- version and codes ------------------------------------------------- */

static void version_and_strerror_name_every_code(void) {
    CHECK(strlen(seqlink_version()) >= 5);
    CHECK(strcmp(seqlink_strerror(-SEQLINK_E_BAD_CHECKSUM), "bad checksum: packet corrupted") == 0);
    CHECK(strcmp(seqlink_strerror(SEQLINK_E_BAD_CHECKSUM), seqlink_strerror(-SEQLINK_E_BAD_CHECKSUM)) == 0);
    CHECK(strcmp(seqlink_strerror(0), "none") == 0);
    CHECK(strcmp(seqlink_strerror(-SEQLINK_E_NULL), "null pointer") == 0);
    CHECK(strcmp(seqlink_strerror(-SEQLINK_E_WOULD_BLOCK), "would block: the send window is full") == 0);
    CHECK(strcmp(seqlink_strerror(SEQLINK_EVENT_CONNECTED), "connected") == 0);
    CHECK(strcmp(seqlink_strerror(219), "unknown code") == 0);
    CHECK(strcmp(seqlink_strerror(-100000), "unknown code") == 0);
    CHECK(strcmp(seqlink_trace_label(0), "SEND") == 0);
    CHECK(strcmp(seqlink_trace_label(99), "?") == 0);
}

/* ---- checksum ---------------------------------------------------------- */

static void checksum_matches_rfc1071_whole_and_in_pieces(void) {
    /* RFC 1071 section 3's example bytes. */
    const uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    uint16_t whole = 0, pieces = 0;
    SeqlinkChecksum state;
    CHECK_EQ(seqlink_internet_checksum(data, sizeof data, &whole), 0);
    CHECK_EQ(whole, 0x220d);
    CHECK_EQ(seqlink_checksum_init(&state), 0);
    CHECK_EQ(seqlink_checksum_update(&state, data, 3), 0);
    CHECK_EQ(seqlink_checksum_update(&state, data + 3, 0), 0);
    CHECK_EQ(seqlink_checksum_update(&state, data + 3, 5), 0);
    CHECK_EQ(seqlink_checksum_finish(&state, &pieces), 0);
    CHECK_EQ(pieces, whole);
}

static void checksum_refuses_null_pointers(void) {
    uint16_t sum = 0;
    SeqlinkChecksum state;
    CHECK_EQ(seqlink_internet_checksum(NULL, 4, &sum), -SEQLINK_E_NULL);
    CHECK_EQ(seqlink_internet_checksum(NULL, 0, &sum), 0); /* nothing to read */
    CHECK_EQ(sum, 0xffff);
    CHECK_EQ(seqlink_internet_checksum((const uint8_t *)"ab", 2, NULL), -SEQLINK_E_NULL);
    CHECK_EQ(seqlink_checksum_init(NULL), -SEQLINK_E_NULL);
    CHECK_EQ(seqlink_checksum_init(&state), 0);
    CHECK_EQ(seqlink_checksum_update(&state, NULL, 1), -SEQLINK_E_NULL);
    CHECK_EQ(seqlink_checksum_finish(NULL, &sum), -SEQLINK_E_NULL);
}

/* ---- packets ----------------------------------------------------------- */

static void packet_round_trip(void) {
    SeqlinkCodec codec = seqlink_codec_default();
    uint8_t wire[64];
    size_t n = 0;
    SeqlinkPacket p;
    CHECK_EQ(seqlink_encode(&codec, 41, SEQLINK_TYPE_MSG_RESULT, (const uint8_t *)"HIT", 3, wire, sizeof wire, &n), 0);
    CHECK_EQ(n, SEQLINK_HEADER_LEN + 3);
    CHECK_EQ(wire[3], 41); /* big-endian sequence number */
    CHECK_EQ(seqlink_decode(&codec, wire, n, &p), 0);
    CHECK_EQ(p.seq, 41);
    CHECK_EQ(p.ptype, SEQLINK_TYPE_MSG_RESULT);
    CHECK_EQ(p.payload_len, 3);
    CHECK(memcmp(p.payload, "HIT", 3) == 0);
    CHECK(p.payload == wire + SEQLINK_HEADER_LEN); /* borrowed from the input */
    /* an empty payload with a null pointer is fine */
    CHECK_EQ(seqlink_encode(&codec, 1, SEQLINK_TYPE_CMD_QUIT, NULL, 0, wire, sizeof wire, &n), 0);
    CHECK_EQ(n, SEQLINK_HEADER_LEN);
}

static void damaged_packets_are_refused_with_their_codes(void) {
    SeqlinkCodec codec = seqlink_codec_default();
    uint8_t wire[64];
    size_t n = 0;
    SeqlinkPacket p;
    CHECK_EQ(seqlink_encode(&codec, 7, 3, (const uint8_t *)"B5", 2, wire, sizeof wire, &n), 0);
    wire[SEQLINK_HEADER_LEN] ^= 0x01; /* one flipped bit */
    CHECK_EQ(seqlink_decode(&codec, wire, n, &p), -SEQLINK_E_BAD_CHECKSUM);
    wire[SEQLINK_HEADER_LEN] ^= 0x01;
    CHECK_EQ(seqlink_decode(&codec, wire, 8, &p), -SEQLINK_E_TRUNCATED);
    CHECK_EQ(seqlink_decode(&codec, wire, n - 1, &p), -SEQLINK_E_LENGTH_MISMATCH);
    CHECK_EQ(seqlink_decode(&codec, wire, n, NULL), -SEQLINK_E_NULL);
    CHECK_EQ(seqlink_decode(NULL, wire, n, &p), -SEQLINK_E_NULL);
    CHECK_EQ(seqlink_decode(&codec, NULL, n, &p), -SEQLINK_E_NULL);
}

static void oversized_lengths_and_short_buffers_are_refused(void) {
    SeqlinkCodec small = seqlink_codec_default();
    SeqlinkCodec codec = seqlink_codec_default();
    uint8_t payload[32] = {0};
    uint8_t wire[64];
    size_t n = 0;
    SeqlinkPacket p;
    small.max_payload = 16;
    CHECK_EQ(seqlink_encode(&small, 0, 3, payload, 17, wire, sizeof wire, &n), -SEQLINK_E_PAYLOAD_TOO_LARGE);
    CHECK_EQ(seqlink_encode(&codec, 0, 3, payload, 17, wire, SEQLINK_HEADER_LEN + 16, &n), -SEQLINK_E_BUFFER_TOO_SMALL);
    CHECK_EQ(seqlink_encode(&codec, 0, 3, payload, 17, wire, sizeof wire, &n), 0);
    CHECK_EQ(seqlink_decode(&small, wire, n, &p), -SEQLINK_E_PAYLOAD_TOO_LARGE);
    CHECK_EQ(seqlink_encode(&codec, 0, 3, payload, 1, wire, sizeof wire, NULL), -SEQLINK_E_NULL);
    small.integrity = 9;
    CHECK_EQ(seqlink_encode(&small, 0, 3, payload, 1, wire, sizeof wire, &n), -SEQLINK_E_INVALID);
}

static void crc32c_packets_round_trip_and_catch_damage(void) {
    SeqlinkCodec codec = seqlink_codec_default();
    uint8_t wire[64];
    size_t n = 0, max = 0;
    SeqlinkPacket p;
    codec.integrity = SEQLINK_INTEGRITY_CRC32C;
    codec.pseudo_header = 0x12345678;
    CHECK_EQ(seqlink_codec_max_packet_len(&codec, &max), 0);
    CHECK_EQ(max, SEQLINK_HEADER_LEN + 65535 + 4);
    CHECK_EQ(seqlink_encode(&codec, 5, 100, (const uint8_t *)"crc", 3, wire, sizeof wire, &n), 0);
    CHECK_EQ(n, SEQLINK_HEADER_LEN + 3 + 4);
    CHECK_EQ(seqlink_decode(&codec, wire, n, &p), 0);
    codec.pseudo_header = 0x12345679; /* another connection's packet */
    CHECK_EQ(seqlink_decode(&codec, wire, n, &p), -SEQLINK_E_BAD_CHECKSUM);
}

/* ---- decoders ---------------------------------------------------------- */

static void stream_decoder_reassembles_packets_fed_a_byte_at_a_time(void) {
    SeqlinkCodec codec = codec_1k();
    SeqlinkStreamDecoder *decoder = NULL;
    uint8_t wire[64];
    size_t n1 = 0, n2 = 0, size = 0, i, consumed = 0;
    int seen = 0;
    SeqlinkPacket p;
    CHECK_EQ(seqlink_encode(&codec, 0, 3, (const uint8_t *)"A1", 2, wire, sizeof wire, &n1), 0);
    CHECK_EQ(seqlink_encode(&codec, 1, 3, (const uint8_t *)"B22", 3, wire + n1, sizeof wire - n1, &n2), 0);
    CHECK_EQ(seqlink_stream_decoder_size(&codec, &size), 0);
    CHECK(size <= sizeof arena_a.bytes);
    CHECK_EQ(seqlink_stream_decoder_init(arena_a.bytes, size, &codec, &decoder), 0);
    for (i = 0; i < n1 + n2; i++) {
        int rc = seqlink_stream_decoder_decode(decoder, wire + i, 1, &consumed, &p);
        CHECK_EQ(consumed, 1);
        if (rc == SEQLINK_READY) {
            seen++;
            CHECK_EQ(p.seq, (uint32_t)(seen - 1));
            CHECK_EQ(p.payload_len, seen == 1 ? 2 : 3);
        } else {
            CHECK_EQ(rc, 0);
        }
    }
    CHECK_EQ(seen, 2);
    /* both at once: the first call stops after the first packet */
    CHECK_EQ(seqlink_stream_decoder_decode(decoder, wire, n1 + n2, &consumed, &p), 1);
    CHECK_EQ(consumed, n1);
    CHECK_EQ(seqlink_stream_decoder_decode(decoder, wire + n1, n2, &consumed, &p), 1);
    CHECK(memcmp(p.payload, "B22", 3) == 0);
    CHECK_EQ(seqlink_stream_decoder_free(decoder), 0);
    /* freed: every call on it now fails, and so does a second free */
    CHECK_EQ(seqlink_stream_decoder_decode(decoder, wire, n1, &consumed, &p), -SEQLINK_E_BAD_OBJECT);
    CHECK_EQ(seqlink_stream_decoder_free(decoder), -SEQLINK_E_BAD_OBJECT);
    CHECK_EQ(seqlink_stream_decoder_free(NULL), 0);
}

static void stream_decoder_reports_a_bad_checksum_and_goes_on(void) {
    SeqlinkCodec codec = codec_1k();
    SeqlinkStreamDecoder *decoder = NULL;
    uint8_t wire[64];
    size_t n1 = 0, n2 = 0, consumed = 0;
    SeqlinkPacket p;
    CHECK_EQ(seqlink_stream_decoder_new(&codec, &decoder), 0);
    CHECK_EQ(seqlink_encode(&codec, 0, 3, (const uint8_t *)"A1", 2, wire, sizeof wire, &n1), 0);
    CHECK_EQ(seqlink_encode(&codec, 1, 3, (const uint8_t *)"B2", 2, wire + n1, sizeof wire - n1, &n2), 0);
    wire[SEQLINK_HEADER_LEN] ^= 0x40;
    CHECK_EQ(seqlink_stream_decoder_decode(decoder, wire, n1 + n2, &consumed, &p), -SEQLINK_E_BAD_CHECKSUM);
    CHECK_EQ(consumed, n1);
    CHECK_EQ(seqlink_stream_decoder_decode(decoder, wire + n1, n2, &consumed, &p), 1);
    CHECK_EQ(p.seq, 1);
    /* raw frames are not checked: a connection checks them with its id */
    {
        const uint8_t *frame = NULL;
        size_t frame_len = 0;
        CHECK_EQ(seqlink_stream_decoder_decode_frame(decoder, wire, n1, &consumed, &frame, &frame_len), 1);
        CHECK(frame_len == n1 && memcmp(frame, wire, n1) == 0);
        CHECK_EQ(seqlink_stream_decoder_decode_frame(decoder, wire, n1, &consumed, NULL, &frame_len), -SEQLINK_E_NULL);
    }
    CHECK_EQ(seqlink_stream_decoder_free(decoder), 0);
}

static void stream_decoder_fails_on_an_oversized_length_until_reset(void) {
    SeqlinkCodec codec = codec_1k();
    SeqlinkStreamDecoder *decoder = NULL;
    /* a header declaring 60000 payload bytes: past this codec's 1024 */
    uint8_t wire[SEQLINK_HEADER_LEN] = {0, 0, 0, 0, 3, 0xea, 0x60, 0, 0};
    uint8_t good[32];
    size_t n = 0, consumed = 0;
    SeqlinkPacket p;
    CHECK_EQ(seqlink_stream_decoder_new(&codec, &decoder), 0);
    CHECK_EQ(seqlink_stream_decoder_decode(decoder, wire, sizeof wire, &consumed, &p), -SEQLINK_E_PAYLOAD_TOO_LARGE);
    CHECK_EQ(seqlink_encode(&codec, 0, 3, (const uint8_t *)"ok", 2, good, sizeof good, &n), 0);
    CHECK_EQ(seqlink_stream_decoder_decode(decoder, good, n, &consumed, &p), -SEQLINK_E_PAYLOAD_TOO_LARGE);
    CHECK_EQ(seqlink_stream_decoder_reset(decoder), 0);
    CHECK_EQ(seqlink_stream_decoder_decode(decoder, good, n, &consumed, &p), 1);
    CHECK_EQ(seqlink_stream_decoder_free(decoder), 0);
}

static void serial_frames_round_trip_and_bad_cobs_is_reported(void) {
    SeqlinkCodec codec = codec_1k();
    SeqlinkSerialDecoder *decoder = NULL;
    const uint8_t payload[] = {0, 1, 0, 2, 0}; /* zeros to stuff */
    uint8_t frame[64];
    const uint8_t bad[] = {0x05, 0x01, 0x00}; /* a block running past the delimiter */
    size_t n = 0, size = 0, consumed = 0;
    SeqlinkPacket p;
    CHECK_EQ(seqlink_encode_serial(&codec, 9, 100, payload, sizeof payload, frame, sizeof frame, &n), 0);
    CHECK(n <= seqlink_serial_frame_len(SEQLINK_HEADER_LEN + sizeof payload));
    CHECK_EQ(frame[n - 1], 0x00);
    CHECK_EQ(seqlink_serial_decoder_size(&codec, &size), 0);
    CHECK_EQ(seqlink_serial_decoder_init(arena_a.bytes, size, &codec, &decoder), 0);
    CHECK_EQ(seqlink_serial_decoder_decode(decoder, bad, sizeof bad, &consumed, &p), -SEQLINK_E_BAD_FRAME);
    CHECK_EQ(seqlink_serial_decoder_decode(decoder, frame, n, &consumed, &p), 1);
    CHECK_EQ(consumed, n);
    CHECK_EQ(p.seq, 9);
    CHECK_EQ(p.payload_len, sizeof payload);
    CHECK(memcmp(p.payload, payload, sizeof payload) == 0);
    CHECK_EQ(seqlink_serial_decoder_free(decoder), 0);
}

static void length_prefixed_messages_round_trip_and_oversized_fail(void) {
    SeqlinkLengthPrefixedDecoder *decoder = NULL;
    uint8_t frame[64];
    const uint8_t too_long[] = {0, 0, 1, 0}; /* 256 bytes declared, 32 allowed */
    const uint8_t *message = NULL;
    size_t n = 0, size = 0, consumed = 0, len = 0;
    CHECK_EQ(seqlink_encode_length_prefixed((const uint8_t *)"four score", 10, frame, sizeof frame, &n), 0);
    CHECK_EQ(n, 14);
    CHECK_EQ(seqlink_encode_length_prefixed((const uint8_t *)"four score", 10, frame, 13, &n), -SEQLINK_E_BUFFER_TOO_SMALL);
    CHECK_EQ(seqlink_length_prefixed_decoder_size(32, &size), 0);
    CHECK_EQ(seqlink_length_prefixed_decoder_init(arena_a.bytes, size, 32, &decoder), 0);
    CHECK_EQ(seqlink_length_prefixed_decoder_decode(decoder, frame, 5, &consumed, &message, &len), 0);
    CHECK_EQ(consumed, 5);
    CHECK_EQ(seqlink_length_prefixed_decoder_decode(decoder, frame + 5, 9, &consumed, &message, &len), 1);
    CHECK_EQ(len, 10);
    CHECK(memcmp(message, "four score", 10) == 0);
    CHECK_EQ(seqlink_length_prefixed_decoder_decode(decoder, too_long, 4, &consumed, &message, &len),
             -SEQLINK_E_PAYLOAD_TOO_LARGE);
    CHECK_EQ(seqlink_length_prefixed_decoder_reset(decoder), 0);
    CHECK_EQ(seqlink_length_prefixed_decoder_free(decoder), 0);
}

/* ---- objects in caller memory ------------------------------------------ */

static void misaligned_small_or_null_memory_is_refused(void) {
    SeqlinkConnectionConfig config = seqlink_connection_config_default();
    SeqlinkConnection *conn = NULL;
    SeqlinkCodec codec = codec_1k();
    SeqlinkStreamDecoder *decoder = NULL;
    size_t size = 0;
    config.link.send_window = config.link.recv_window = config.link.peer_recv_window = 4;
    config.link.max_payload = 256;
    CHECK_EQ(seqlink_connection_size(&config, &size), 0);
    CHECK(size <= sizeof arena_a.bytes - SEQLINK_ALIGN);
    CHECK_EQ(seqlink_connection_init(arena_a.bytes + 8, size, &config, 0, 1, &conn), -SEQLINK_E_MISALIGNED);
    CHECK_EQ(seqlink_connection_init(arena_a.bytes, size - 1, &config, 0, 1, &conn), -SEQLINK_E_TOO_SMALL);
    CHECK_EQ(seqlink_connection_init(NULL, size, &config, 0, 1, &conn), -SEQLINK_E_NULL);
    CHECK_EQ(seqlink_connection_init(arena_a.bytes, size, NULL, 0, 1, &conn), -SEQLINK_E_NULL);
    CHECK_EQ(seqlink_connection_init(arena_a.bytes, size, &config, 0, 1, NULL), -SEQLINK_E_NULL);
    CHECK(conn == NULL);
    CHECK_EQ(seqlink_stream_decoder_init(arena_a.bytes + 1, sizeof arena_a.bytes - 1, &codec, &decoder),
             -SEQLINK_E_MISALIGNED);
    CHECK_EQ(seqlink_stream_decoder_init(arena_a.bytes, 16, &codec, &decoder), -SEQLINK_E_TOO_SMALL);
    CHECK(decoder == NULL);
}

static void memory_that_holds_no_object_is_refused(void) {
    SeqlinkEvent event;
    memset(arena_b.bytes, 0, 256);
    CHECK_EQ(seqlink_connection_poll_event((SeqlinkConnection *)arena_b.bytes, &event), -SEQLINK_E_BAD_OBJECT);
    CHECK_EQ(seqlink_connection_poll_event((SeqlinkConnection *)(arena_b.bytes + 1), &event), -SEQLINK_E_MISALIGNED);
    CHECK_EQ(seqlink_connection_poll_event(NULL, &event), -SEQLINK_E_NULL);
    CHECK_EQ(seqlink_endpoint_free((SeqlinkEndpoint *)arena_b.bytes), -SEQLINK_E_BAD_OBJECT);
}

static void bad_configurations_are_refused_with_their_codes(void) {
    SeqlinkConnectionConfig config = seqlink_connection_config_default();
    size_t size = 0;
    config.link.send_window = 0;
    CHECK_EQ(seqlink_connection_size(&config, &size), -SEQLINK_E_BAD_WINDOW);
    config = seqlink_connection_config_default();
    config.link.send_window = 257;
    CHECK_EQ(seqlink_connection_size(&config, &size), -SEQLINK_E_BAD_WINDOW);
    config = seqlink_connection_config_default();
    config.link.max_payload = 63;
    CHECK_EQ(seqlink_connection_size(&config, &size), -SEQLINK_E_BAD_PAYLOAD);
    config = seqlink_connection_config_default();
    config.extension_len = 33;
    CHECK_EQ(seqlink_connection_size(&config, &size), -SEQLINK_E_BAD_EXTENSION);
    config = seqlink_connection_config_default();
    config.transport = 7;
    CHECK_EQ(seqlink_connection_size(&config, &size), -SEQLINK_E_INVALID);
    config = seqlink_connection_config_default();
    config.link.congestion_control = 3;
    CHECK_EQ(seqlink_connection_size(&config, &size), -SEQLINK_E_INVALID);
}

/* ---- a connection and an endpoint, in-process ---------------------------- */

typedef struct {
    SeqlinkConnection *client;
    SeqlinkEndpoint *server;
    SeqlinkAddress address;
    uint8_t datagram[2048];
} Pair;

static SeqlinkConnectionConfig small_config(void) {
    SeqlinkConnectionConfig config = seqlink_connection_config_default();
    config.link.send_window = config.link.recv_window = config.link.peer_recv_window = 8;
    config.link.max_payload = 512;
    config.link.trace_slots = 16;
    return config;
}

static void pair_open(Pair *pair, bool auto_accept) {
    SeqlinkConnectionConfig config = small_config();
    SeqlinkEndpointConfig server_config = seqlink_endpoint_config_default();
    size_t size = 0;
    server_config.connection = config;
    server_config.auto_accept = auto_accept;
    memset(pair, 0, sizeof *pair);
    pair->address.len = 4;
    memcpy(pair->address.bytes, "\x7f\x00\x00\x01", 4);
    CHECK_EQ(seqlink_connection_size(&config, &size), 0);
    CHECK(size <= sizeof arena_b.bytes);
    CHECK_EQ(seqlink_connection_init(arena_b.bytes, sizeof arena_b.bytes, &config, 0, 42, &pair->client), 0);
    CHECK_EQ(seqlink_endpoint_size(&server_config, 2, &size), 0);
    CHECK(size <= sizeof arena_c.bytes);
    CHECK_EQ(seqlink_endpoint_init(arena_c.bytes, sizeof arena_c.bytes, &server_config, 2, SECRET, 9, &pair->server), 0);
}

static void pair_close(Pair *pair) {
    CHECK_EQ(seqlink_connection_free(pair->client), 0);
    CHECK_EQ(seqlink_endpoint_free(pair->server), 0);
}

/* One step of a perfect network at `now`: timers, then every datagram each way. */
static void pair_step(Pair *pair, uint64_t now) {
    uint64_t deadline = 0;
    size_t n = 0;
    SeqlinkAddress to;
    if (seqlink_connection_poll_timeout(pair->client, &deadline) == 1 && deadline <= now) {
        CHECK_EQ(seqlink_connection_handle_timeout(pair->client, now), 0);
    }
    if (seqlink_endpoint_poll_timeout(pair->server, &deadline) == 1 && deadline <= now) {
        CHECK_EQ(seqlink_endpoint_handle_timeout(pair->server, now), 0);
    }
    while (seqlink_connection_poll_transmit(pair->client, now, pair->datagram, sizeof pair->datagram, &n) == 1) {
        CHECK_EQ(seqlink_endpoint_handle_datagram(pair->server, now, &pair->address, pair->datagram, n), 0);
    }
    while (seqlink_endpoint_poll_transmit(pair->server, now, pair->datagram, sizeof pair->datagram, &to, &n) == 1) {
        CHECK_EQ(to.len, 4);
        CHECK_EQ(seqlink_connection_handle_datagram(pair->client, now, pair->datagram, n), 0);
    }
}

static void connection_calls_in_the_wrong_state_are_refused(void) {
    Pair pair;
    uint8_t buf[16];
    uint8_t state = 99;
    SeqlinkReceived received;
    SeqlinkParams params;
    pair_open(&pair, true);
    CHECK_EQ(seqlink_connection_state(pair.client, &state), 0);
    CHECK_EQ(state, SEQLINK_STATE_SYN_SENT);
    CHECK_EQ(seqlink_connection_send(pair.client, 100, (const uint8_t *)"x", 1, SEQLINK_DELIVERY_RELIABLE),
             -SEQLINK_E_NOT_CONNECTED);
    CHECK_EQ(seqlink_connection_recv(pair.client, buf, sizeof buf, &received), 0);
    CHECK_EQ(seqlink_connection_agreement(pair.client, &params), 0);
    CHECK_EQ(seqlink_connection_send(pair.client, 100, (const uint8_t *)"x", 1, 2), -SEQLINK_E_INVALID);
    CHECK_EQ(seqlink_connection_send(pair.client, 100, NULL, 1, 0), -SEQLINK_E_NULL);
    CHECK_EQ(seqlink_connection_recv(pair.client, NULL, 16, &received), -SEQLINK_E_NULL);
    CHECK_EQ(seqlink_connection_poll_transmit(pair.client, 0, buf, sizeof buf, NULL), -SEQLINK_E_NULL);
    /* the SYN does not fit 16 bytes */
    {
        size_t n = 0;
        CHECK_EQ(seqlink_connection_poll_transmit(pair.client, 0, buf, sizeof buf, &n), -SEQLINK_E_BUFFER_TOO_SMALL);
    }
    pair_close(&pair);
    /* freed: the memory holds no connection any more */
    CHECK_EQ(seqlink_connection_state(pair.client, &state), -SEQLINK_E_BAD_OBJECT);
    CHECK_EQ(seqlink_connection_free(pair.client), -SEQLINK_E_BAD_OBJECT);
}

static void messages_flow_both_ways_and_the_close_is_graceful(void) {
    Pair pair;
    uint64_t now;
    uint32_t handle = 0;
    int connected = 0, closed = 0, server_got = 0, client_got = 0;
    uint8_t big[2000];
    uint8_t buf[4096];
    size_t i;
    SeqlinkStats stats;
    SeqlinkTrace trace;
    SeqlinkEndpointStats endpoint_stats;
    for (i = 0; i < sizeof big; i++) {
        big[i] = (uint8_t)(i * 7);
    }
    pair_open(&pair, true);
    for (now = 0; now < 5000 && !closed; now += 5) {
        SeqlinkEvent event;
        SeqlinkEndpointEvent endpoint_event;
        SeqlinkReceived received;
        pair_step(&pair, now);
        while (seqlink_connection_poll_event(pair.client, &event) == 1) {
            if (event.kind == SEQLINK_EVENT_CONNECTED) {
                connected = 1;
                CHECK_EQ(seqlink_connection_send(pair.client, 100, big, sizeof big, SEQLINK_DELIVERY_RELIABLE), 0);
                CHECK_EQ(seqlink_connection_send(pair.client, 20, big, 1, SEQLINK_DELIVERY_RELIABLE),
                         -SEQLINK_E_RESERVED_TYPE);
            } else if (event.kind == SEQLINK_EVENT_CLOSED) {
                closed = 1;
            }
        }
        while (seqlink_endpoint_poll_event(pair.server, &endpoint_event) == 1) {
            if (endpoint_event.event.kind == SEQLINK_EVENT_CONNECTED) {
                handle = endpoint_event.handle;
                CHECK_EQ(endpoint_event.peer.len, 4);
            }
        }
        if (connected && server_got == 0) {
            int rc = seqlink_endpoint_recv(pair.server, handle, buf, 10, &received);
            if (rc == -SEQLINK_E_BUFFER_TOO_SMALL) {
                size_t len = 0;
                CHECK_EQ(seqlink_connection_next_message_len(pair.client, &len), 0);
                CHECK_EQ(seqlink_endpoint_recv(pair.server, handle, buf, sizeof buf, &received), 1);
                CHECK_EQ(received.len, sizeof big);
                CHECK(memcmp(buf, big, sizeof big) == 0);
                server_got = 1;
                CHECK_EQ(seqlink_endpoint_send(pair.server, handle, 101, (const uint8_t *)"thanks", 6, 0), 0);
            }
        }
        if (server_got && !client_got && seqlink_connection_recv(pair.client, buf, sizeof buf, &received) == 1) {
            CHECK_EQ(received.ptype, 101);
            CHECK(memcmp(buf, "thanks", 6) == 0);
            client_got = 1;
            CHECK_EQ(seqlink_connection_close(pair.client, now), 0);
            CHECK_EQ(seqlink_connection_send(pair.client, 100, big, 1, 0), -SEQLINK_E_CLOSING);
        }
    }
    CHECK(connected && server_got && client_got && closed);
    CHECK_EQ(seqlink_endpoint_send(pair.server, handle ^ 0x10000u, 100, big, 1, 0), -SEQLINK_E_UNKNOWN_HANDLE);
    CHECK_EQ(seqlink_connection_stats(pair.client, &stats), 0);
    CHECK_EQ(stats.messages_sent, 1);
    CHECK_EQ(stats.messages_delivered, 1);
    CHECK(stats.packets_sent >= 4); /* the 2000-byte message took four 512-byte packets */
    CHECK_EQ(seqlink_connection_poll_trace(pair.client, &trace), 1);
    CHECK_EQ(seqlink_endpoint_connection_poll_trace(pair.server, handle, &trace), 1);
    CHECK(strcmp(seqlink_trace_label(trace.kind), "?") != 0);
    CHECK_EQ(seqlink_endpoint_stats(pair.server, &endpoint_stats), 0);
    CHECK_EQ(endpoint_stats.accepted, 1);
    pair_close(&pair);
}

static void a_refused_client_fails_with_the_servers_code(void) {
    Pair pair;
    uint64_t now;
    int polled = 0, failed = 0;
    uint32_t ticket = 0, handle = 0;
    SeqlinkEvent event;
    pair_open(&pair, false);
    for (now = 0; now < 1000 && !failed; now += 5) {
        SeqlinkIncoming incoming;
        pair_step(&pair, now);
        if (seqlink_endpoint_poll_incoming(pair.server, &incoming) == 1) {
            polled = 1;
            ticket = incoming.ticket;
            CHECK_EQ(incoming.peer.len, 4);
            CHECK_EQ(incoming.params.max_payload, 512);
            CHECK_EQ(seqlink_endpoint_refuse(pair.server, ticket, 4), 0);
            CHECK_EQ(seqlink_endpoint_refuse(pair.server, ticket, 4), -SEQLINK_E_STALE_TICKET);
            CHECK_EQ(seqlink_endpoint_accept_incoming(pair.server, ticket, now, &handle), -SEQLINK_E_STALE_TICKET);
        }
        while (seqlink_connection_poll_event(pair.client, &event) == 1) {
            if (event.kind == SEQLINK_EVENT_FAILED) {
                failed = 1;
                CHECK_EQ(event.reason, 64); /* refused by the peer */
                CHECK_EQ(event.peer_code, 4);
            }
        }
    }
    CHECK(polled && failed);
    CHECK_EQ(seqlink_connection_failure(pair.client, &event), 1);
    CHECK_EQ(event.kind, SEQLINK_EVENT_FAILED);
    CHECK(strcmp(seqlink_strerror(event.reason), "refused by the peer") == 0);
    CHECK_EQ(seqlink_connection_send(pair.client, 100, (const uint8_t *)"x", 1, 0), -SEQLINK_E_FAILED);
    pair_close(&pair);
}

static void an_accepted_incoming_handshake_connects(void) {
    Pair pair;
    uint64_t now;
    int connected = 0;
    uint32_t handle = 0xffffffffu;
    SeqlinkEvent event;
    SeqlinkAddress peer, bad;
    uint8_t state = 0;
    size_t count = 0;
    pair_open(&pair, false);
    for (now = 0; now < 1000 && !connected; now += 5) {
        SeqlinkIncoming incoming;
        pair_step(&pair, now);
        if (seqlink_endpoint_poll_incoming(pair.server, &incoming) == 1) {
            CHECK_EQ(seqlink_endpoint_accept_incoming(pair.server, incoming.ticket, now, &handle), 0);
        }
        while (seqlink_connection_poll_event(pair.client, &event) == 1) {
            connected |= event.kind == SEQLINK_EVENT_CONNECTED;
        }
    }
    CHECK(connected);
    CHECK_EQ(seqlink_endpoint_peer(pair.server, handle, &peer), 0);
    CHECK(peer.len == 4 && memcmp(peer.bytes, "\x7f\x00\x00\x01", 4) == 0);
    CHECK_EQ(seqlink_endpoint_connection_state(pair.server, handle, &state), 0);
    CHECK_EQ(state, SEQLINK_STATE_ESTABLISHED);
    CHECK_EQ(seqlink_endpoint_connection_count(pair.server, &count), 0);
    CHECK_EQ(count, 1);
    memset(&bad, 0, sizeof bad);
    bad.len = SEQLINK_ADDRESS_MAX + 1;
    CHECK_EQ(seqlink_endpoint_handle_datagram(pair.server, now, &bad, pair.datagram, 9), -SEQLINK_E_INVALID);
    CHECK_EQ(seqlink_endpoint_release(pair.server, handle), 0);
    CHECK_EQ(seqlink_endpoint_release(pair.server, handle), -SEQLINK_E_UNKNOWN_HANDLE);
    CHECK_EQ(seqlink_endpoint_peer(pair.server, handle, &peer), -SEQLINK_E_UNKNOWN_HANDLE);
    CHECK_EQ(seqlink_endpoint_recv(pair.server, handle, pair.datagram, 16, NULL), -SEQLINK_E_NULL);
    pair_close(&pair);
}

static void heap_objects_come_and_go(void) {
    SeqlinkConnectionConfig config = small_config();
    SeqlinkEndpointConfig server_config = seqlink_endpoint_config_default();
    SeqlinkConnection *conn = NULL;
    SeqlinkEndpoint *server = NULL;
    uint8_t state = 0;
    size_t max = 0;
    CHECK_EQ(seqlink_connection_new(&config, 0, 1, &conn), 0);
    CHECK_EQ(seqlink_connection_state(conn, &state), 0);
    CHECK_EQ(seqlink_connection_abort(conn, 0, 7), 0);
    CHECK_EQ(seqlink_connection_state(conn, &state), 0);
    CHECK_EQ(state, SEQLINK_STATE_CLOSED);
    CHECK_EQ(seqlink_connection_max_datagram_len(&config, &max), 0);
    CHECK_EQ(max, SEQLINK_HEADER_LEN + 512 + 4);
    CHECK_EQ(seqlink_connection_free(conn), 0);
    CHECK_EQ(seqlink_endpoint_new(&server_config, 1, NULL, 0, &server), -SEQLINK_E_NULL);
    CHECK_EQ(seqlink_endpoint_new(&server_config, 70000, SECRET, 0, &server), -SEQLINK_E_INVALID);
    CHECK_EQ(seqlink_endpoint_new(&server_config, 1, SECRET, 0, &server), 0);
    CHECK_EQ(seqlink_endpoint_free(server), 0);
}

/* ---- the basic profile ------------------------------------------------- */

static void basic_profile_delivers_in_order_and_nacks_the_rest(void) {
    SeqlinkBasicConfig config = seqlink_basic_config_default();
    SeqlinkBasicSession *client = NULL, *server = NULL;
    uint8_t wire[3][64];
    size_t n[3], written = 0, size = 0;
    uint8_t control[32];
    uint32_t expected = 0;
    SeqlinkBasicOutcome outcome;
    SeqlinkBasicStats stats;
    SeqlinkPacket nack;
    SeqlinkCodec codec = seqlink_codec_default();
    CHECK_EQ(seqlink_basic_session_new(&config, &client), 0);
    config.out_of_order = SEQLINK_OUT_OF_ORDER_NACK;
    CHECK_EQ(seqlink_basic_session_size(&size), 0);
    CHECK_EQ(seqlink_basic_session_init(arena_a.bytes, size, &config, &server), 0);
    CHECK_EQ(seqlink_basic_encode(client, SEQLINK_TYPE_CMD_FIRE, (const uint8_t *)"A1", 2, wire[0], 64, &n[0]), 0);
    CHECK_EQ(seqlink_basic_encode(client, SEQLINK_TYPE_CMD_FIRE, (const uint8_t *)"B5", 2, wire[1], 64, &n[1]), 0);
    CHECK_EQ(seqlink_basic_encode(client, SEQLINK_TYPE_CMD_FIRE, (const uint8_t *)"C3", 2, wire[2], 64, &n[2]), 0);
    CHECK_EQ(seqlink_basic_receive(server, wire[0], n[0], &outcome), 0);
    CHECK_EQ(outcome.kind, SEQLINK_BASIC_DELIVER);
    CHECK(memcmp(outcome.packet.payload, "A1", 2) == 0);
    /* packet 1 is lost: packet 2 is out of sequence and NACKed */
    CHECK_EQ(seqlink_basic_receive(server, wire[2], n[2], &outcome), 0);
    CHECK_EQ(outcome.kind, SEQLINK_BASIC_OUT_OF_SEQUENCE);
    CHECK_EQ(outcome.expected, 1);
    CHECK_EQ(outcome.packet.seq, 2);
    CHECK_EQ(seqlink_basic_poll_control(server, control, sizeof control, &written), 1);
    CHECK_EQ(seqlink_decode(&codec, control, written, &nack), 0);
    CHECK_EQ(nack.ptype, SEQLINK_TYPE_NACK);
    CHECK_EQ(seqlink_basic_poll_control(server, control, sizeof control, &written), 0);
    /* a damaged packet is an outcome, counted */
    wire[1][SEQLINK_HEADER_LEN] ^= 1;
    CHECK_EQ(seqlink_basic_receive(server, wire[1], n[1], &outcome), 0);
    CHECK_EQ(outcome.kind, SEQLINK_BASIC_CORRUPT);
    CHECK_EQ(outcome.error, SEQLINK_E_BAD_CHECKSUM);
    CHECK_EQ(seqlink_basic_receive_error(server, -SEQLINK_E_TRUNCATED, &outcome), 0);
    CHECK_EQ(outcome.error, SEQLINK_E_TRUNCATED);
    CHECK_EQ(seqlink_basic_receive_error(server, -SEQLINK_E_NULL, &outcome), -SEQLINK_E_INVALID);
    CHECK_EQ(seqlink_basic_expected(server, &expected), 0);
    CHECK_EQ(expected, 1);
    CHECK_EQ(seqlink_basic_stats(server, &stats), 0);
    CHECK_EQ(stats.packets_received_raw, 4);
    CHECK_EQ(stats.detected_corruptions, 2);
    CHECK_EQ(stats.out_of_sequence_packets, 1);
    CHECK_EQ(stats.successfully_processed_packets, 1);
    CHECK_EQ(seqlink_basic_session_free(client), 0);
    config.out_of_order = 5;
    CHECK_EQ(seqlink_basic_session_new(&config, &client), -SEQLINK_E_INVALID);
    CHECK_EQ(seqlink_basic_session_free(server), 0);
}

int main(void) {
    RUN(version_and_strerror_name_every_code);
    RUN(checksum_matches_rfc1071_whole_and_in_pieces);
    RUN(checksum_refuses_null_pointers);
    RUN(packet_round_trip);
    RUN(damaged_packets_are_refused_with_their_codes);
    RUN(oversized_lengths_and_short_buffers_are_refused);
    RUN(crc32c_packets_round_trip_and_catch_damage);
    RUN(stream_decoder_reassembles_packets_fed_a_byte_at_a_time);
    RUN(stream_decoder_reports_a_bad_checksum_and_goes_on);
    RUN(stream_decoder_fails_on_an_oversized_length_until_reset);
    RUN(serial_frames_round_trip_and_bad_cobs_is_reported);
    RUN(length_prefixed_messages_round_trip_and_oversized_fail);
    RUN(misaligned_small_or_null_memory_is_refused);
    RUN(memory_that_holds_no_object_is_refused);
    RUN(bad_configurations_are_refused_with_their_codes);
    RUN(connection_calls_in_the_wrong_state_are_refused);
    RUN(messages_flow_both_ways_and_the_close_is_graceful);
    RUN(a_refused_client_fails_with_the_servers_code);
    RUN(an_accepted_incoming_handshake_connects);
    RUN(heap_objects_come_and_go);
    RUN(basic_profile_delivers_in_order_and_nacks_the_rest);
    return finish();
}

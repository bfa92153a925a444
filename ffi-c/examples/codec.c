/* codec.c: encode, decode and checksum packets, and decode a byte stream
 * that arrives in pieces of any size. No connection, no socket. */
#include "seqlink.h"

#include <stdio.h>
#include <string.h>

static int fail(const char *what, int rc) {
    fprintf(stderr, "codec: %s: %s\n", what, seqlink_strerror(rc));
    return 1;
}

int main(void) {
    SeqlinkCodec codec = seqlink_codec_default();
    const char *moves[] = {"A1", "B5", "C3", "J10"};
    uint8_t stream[256];
    size_t stream_len = 0, i, n;
    SeqlinkPacket packet;
    SeqlinkStreamDecoder *decoder = NULL;
    uint16_t sum = 0;
    int rc, seen = 0;

    /* The checksum of seed 000 (RFC 1071). */
    rc = seqlink_internet_checksum((const uint8_t *)"seqlink", 7, &sum);
    if (rc < 0) return fail("checksum", rc);
    printf("checksum of \"seqlink\": 0x%04x\n", sum);

    /* Encode four CMD_FIRE packets back to back, as a TCP stream carries them. */
    codec.max_payload = 64;
    for (i = 0; i < 4; i++) {
        rc = seqlink_encode(&codec, (uint32_t)i, SEQLINK_TYPE_CMD_FIRE, (const uint8_t *)moves[i], strlen(moves[i]),
                            stream + stream_len, sizeof stream - stream_len, &n);
        if (rc < 0) return fail("encode", rc);
        stream_len += n;
    }

    /* One packet decodes on its own (a datagram)... */
    rc = seqlink_decode(&codec, stream, SEQLINK_HEADER_LEN + 2, &packet);
    if (rc < 0) return fail("decode", rc);
    printf("datagram: seq %u type %u payload %.*s\n", packet.seq, packet.ptype, (int)packet.payload_len,
           (const char *)packet.payload);

    /* ...and a flipped bit is caught. */
    stream[SEQLINK_HEADER_LEN] ^= 0x20;
    rc = seqlink_decode(&codec, stream, SEQLINK_HEADER_LEN + 2, &packet);
    printf("damaged datagram: %s\n", seqlink_strerror(rc));
    if (rc != -SEQLINK_E_BAD_CHECKSUM) return fail("damage not caught", rc);
    stream[SEQLINK_HEADER_LEN] ^= 0x20;

    /* The stream, fed in pieces of 5 bytes: a call takes bytes until a
     * packet is complete, so each piece is fed until all of it is taken. */
    rc = seqlink_stream_decoder_new(&codec, &decoder);
    if (rc < 0) return fail("stream decoder", rc);
    for (i = 0; i < stream_len; i += 5) {
        const uint8_t *piece = stream + i;
        size_t left = stream_len - i < 5 ? stream_len - i : 5;
        while (left > 0) {
            size_t consumed = 0;
            rc = seqlink_stream_decoder_decode(decoder, piece, left, &consumed, &packet);
            piece += consumed;
            left -= consumed;
            if (rc < 0) return fail("stream", rc);
            if (rc == SEQLINK_READY) {
                printf("stream packet %u: %.*s\n", packet.seq, (int)packet.payload_len, (const char *)packet.payload);
                if (packet.payload_len != strlen(moves[seen]) ||
                    memcmp(packet.payload, moves[seen], packet.payload_len) != 0) {
                    return fail("stream payload differs", 0);
                }
                seen++;
            }
        }
    }
    seqlink_stream_decoder_free(decoder);
    if (seen != 4) return fail("not every packet came out of the stream", 0);
    printf("codec: ok\n");
    return 0;
}

/* seed000_client.c: the basic profile (seed 000 exactly: no handshake,
 * sequence numbers from 0, the 9-byte header with the Internet checksum)
 * over a TCP socket, as a seed 000 Battleship client would speak it.
 *
 *   seed000_client PORT      (a basic-profile server on 127.0.0.1:PORT)
 *
 * It fires at a few squares, expects one MSG_RESULT per shot, quits, and
 * waits for the server to close. Every wait is bounded (5 s). */
#define _POSIX_C_SOURCE 200809L
#include "seqlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { WAIT_MS = 5000 };

static int fail(const char *what, int rc) {
    fprintf(stderr, "seed000_client: %s: %s\n", what, rc < 0 ? seqlink_strerror(rc) : strerror(errno));
    return 1;
}

static int send_all(int fd, const uint8_t *data, size_t len) {
    while (len > 0) {
        ssize_t n = send(fd, data, len, 0);
        if (n <= 0) return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads from the stream until the decoder gives a packet (1), the stream
 * ends (0) or the wait runs out (-1). Bytes past the packet stay in `pending`. */
static int next_packet(int fd, SeqlinkStreamDecoder *decoder, uint8_t *buf, size_t cap, size_t *pending,
                       size_t *offset, SeqlinkPacket *packet, int *error) {
    for (;;) {
        while (*offset < *pending) {
            size_t consumed = 0;
            int rc = seqlink_stream_decoder_decode(decoder, buf + *offset, *pending - *offset, &consumed, packet);
            *offset += consumed;
            if (rc != 0) {
                *error = rc < 0 ? rc : 0;
                return 1;
            }
        }
        {
            struct pollfd p = {fd, POLLIN, 0};
            ssize_t n;
            if (poll(&p, 1, WAIT_MS) <= 0) return -1;
            n = recv(fd, buf, cap, 0);
            if (n <= 0) return 0;
            *pending = (size_t)n;
            *offset = 0;
        }
    }
}

int main(int argc, char **argv) {
    const char *shots[] = {"A1", "B5", "C3", "J10"};
    SeqlinkBasicConfig config = seqlink_basic_config_default();
    SeqlinkBasicSession *session = NULL;
    SeqlinkStreamDecoder *decoder = NULL;
    SeqlinkBasicStats stats;
    struct sockaddr_in server;
    uint8_t out[64], in[4096];
    size_t n = 0, pending = 0, offset = 0, i;
    int fd, rc, answered = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: seed000_client PORT\n");
        return 2;
    }
    config.codec.max_payload = 1024; /* what this client accepts; bounds the decoder's buffer */
    if ((rc = seqlink_basic_session_new(&config, &session)) < 0) return fail("session", rc);
    if ((rc = seqlink_stream_decoder_new(&config.codec, &decoder)) < 0) return fail("decoder", rc);

    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&server, 0, sizeof server);
    server.sin_family = AF_INET;
    server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    server.sin_port = htons((uint16_t)atoi(argv[1]));
    if (fd < 0 || connect(fd, (struct sockaddr *)&server, sizeof server) < 0) return fail("connect", 0);

    for (i = 0; i < sizeof shots / sizeof shots[0]; i++) {
        SeqlinkPacket packet;
        SeqlinkBasicOutcome outcome;
        int error = 0;
        rc = seqlink_basic_encode(session, SEQLINK_TYPE_CMD_FIRE, (const uint8_t *)shots[i], strlen(shots[i]), out,
                                  sizeof out, &n);
        if (rc < 0) return fail("encode", rc);
        if (send_all(fd, out, n) < 0) return fail("send", 0);
        rc = next_packet(fd, decoder, in, sizeof in, &pending, &offset, &packet, &error);
        if (rc <= 0) return fail(rc == 0 ? "the server closed early" : "no answer within 5 s", 0);
        if (error < 0) {
            seqlink_basic_receive_error(session, error, &outcome);
        } else {
            seqlink_basic_receive_packet(session, &packet, &outcome);
        }
        if (outcome.kind != SEQLINK_BASIC_DELIVER || outcome.packet.ptype != SEQLINK_TYPE_MSG_RESULT) {
            return fail("unexpected answer", 0);
        }
        printf("fired %s, got %.*s (seq %u)\n", shots[i], (int)outcome.packet.payload_len,
               (const char *)outcome.packet.payload, outcome.packet.seq);
        if (outcome.packet.payload_len != 5 + strlen(shots[i]) ||
            memcmp(outcome.packet.payload + 5, shots[i], strlen(shots[i])) != 0) {
            return fail("the answer does not name the shot", 0);
        }
        answered++;
    }

    rc = seqlink_basic_encode(session, SEQLINK_TYPE_CMD_QUIT, NULL, 0, out, sizeof out, &n);
    if (rc < 0 || send_all(fd, out, n) < 0) return fail("quit", rc);
    {
        SeqlinkPacket packet;
        int error = 0;
        if (next_packet(fd, decoder, in, sizeof in, &pending, &offset, &packet, &error) != 0) {
            return fail("the server did not close after CMD_QUIT", 0);
        }
    }
    seqlink_basic_stats(session, &stats);
    printf("seed000_client: %d answers, %llu packets sent, %llu processed, %llu corrupt\n", answered,
           (unsigned long long)stats.packets_sent, (unsigned long long)stats.successfully_processed_packets,
           (unsigned long long)stats.detected_corruptions);
    close(fd);
    seqlink_stream_decoder_free(decoder);
    seqlink_basic_session_free(session);
    return answered == 4 ? 0 : 1;
}

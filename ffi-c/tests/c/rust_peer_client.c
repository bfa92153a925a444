/* A C client (connection in caller memory, POSIX sockets, poll()) talking to
 * a Rust peer (seqlink-std's UdpServer or TcpServer: `rust_peer udp-echo` or
 * `rust_peer tcp-echo`) over loopback: every message comes back, a large
 * one in fragments, then a graceful close.
 *
 *   rust_peer_client udp|tcp PORT        (bounded: 20 s at most) */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "seqlink.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { MESSAGES = 40, BIG = 6000, GIVE_UP_MS = 20000 };

static _Alignas(SEQLINK_ALIGN) uint8_t connection_memory[1 << 20];
static _Alignas(SEQLINK_ALIGN) uint8_t decoder_memory[1 << 17];
static uint16_t port;
static int over_tcp;

static uint64_t now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static void message_of(int i, uint8_t *buf, size_t *len) {
    size_t j;
    *len = i == MESSAGES / 2 ? BIG : (size_t)(1 + i * 3);
    for (j = 0; j < *len; j++) buf[j] = (uint8_t)(i + j);
}

/* Feeds what the socket has: datagrams as they are, a TCP stream cut into
 * frames by the stream decoder. Returns 0 when a TCP peer closed. */
static int feed(int fd, SeqlinkConnection *conn, SeqlinkStreamDecoder *frames, uint8_t *buf, size_t cap, uint64_t now) {
    ssize_t n;
    while ((n = recv(fd, buf, cap, MSG_DONTWAIT)) > 0) {
        const uint8_t *at = buf;
        size_t left = (size_t)n;
        if (!over_tcp) {
            CHECK_EQ(seqlink_connection_handle_datagram(conn, now, buf, (size_t)n), 0);
            continue;
        }
        while (left > 0) {
            const uint8_t *frame = NULL;
            size_t consumed = 0, frame_len = 0;
            int rc = seqlink_stream_decoder_decode_frame(frames, at, left, &consumed, &frame, &frame_len);
            at += consumed;
            left -= consumed;
            CHECK(rc >= 0);
            if (rc == SEQLINK_READY) CHECK_EQ(seqlink_connection_handle_datagram(conn, now, frame, frame_len), 0);
        }
    }
    return !(over_tcp && n == 0);
}

static void echoes_come_back_and_the_close_is_graceful(void) {
    SeqlinkConnectionConfig config = seqlink_connection_config_default();
    SeqlinkConnection *conn = NULL;
    SeqlinkStreamDecoder *frames = NULL;
    SeqlinkCodec codec = seqlink_codec_default();
    struct sockaddr_in server;
    static uint8_t datagram[65536], sent[BIG], got[BIG];
    uint64_t start = now_ms();
    size_t size = 0, len = 0;
    int fd = socket(AF_INET, over_tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
    int next_send = 0, next_echo = 0, connected = 0, closed = 0, rc;
    SeqlinkStats stats;
    CHECK(fd >= 0);
    memset(&server, 0, sizeof server);
    server.sin_family = AF_INET;
    server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    server.sin_port = htons(port);
    config.link.send_window = config.link.recv_window = config.link.peer_recv_window = 32;
    if (over_tcp) {
        config.transport = SEQLINK_TRANSPORT_STREAM;
        codec.max_payload = config.link.max_payload;
        CHECK_EQ(connect(fd, (struct sockaddr *)&server, sizeof server), 0);
        CHECK_EQ(seqlink_stream_decoder_init(decoder_memory, sizeof decoder_memory, &codec, &frames), 0);
    }
    CHECK_EQ(seqlink_connection_size(&config, &size), 0);
    CHECK(size <= sizeof connection_memory);
    CHECK_EQ(seqlink_connection_init(connection_memory, sizeof connection_memory, &config, start, start * 31 + 7, &conn), 0);
    while (!closed && now_ms() < start + GIVE_UP_MS) {
        uint64_t now, deadline = 0;
        struct pollfd p = {fd, POLLIN, 0};
        SeqlinkEvent event;
        SeqlinkReceived received;
        int wait = 20;
        if (seqlink_connection_poll_timeout(conn, &deadline) == 1) {
            now = now_ms();
            wait = deadline <= now ? 0 : (deadline - now < 20 ? (int)(deadline - now) : 20);
        }
        poll(&p, 1, wait);
        now = now_ms();
        if (!feed(fd, conn, frames, datagram, sizeof datagram, now)) {
            CHECK_EQ(seqlink_connection_transport_closed(conn), 0);
        }
        if (seqlink_connection_poll_timeout(conn, &deadline) == 1 && deadline <= now) {
            CHECK_EQ(seqlink_connection_handle_timeout(conn, now), 0);
        }
        while (seqlink_connection_poll_event(conn, &event) == 1) {
            connected |= event.kind == SEQLINK_EVENT_CONNECTED;
            closed |= event.kind == SEQLINK_EVENT_CLOSED;
            CHECK(event.kind != SEQLINK_EVENT_FAILED);
            if (event.kind == SEQLINK_EVENT_FAILED) closed = 1;
        }
        while (connected && next_send < MESSAGES) {
            message_of(next_send, sent, &len);
            rc = seqlink_connection_send(conn, 100, sent, len, SEQLINK_DELIVERY_RELIABLE);
            if (rc == -SEQLINK_E_WOULD_BLOCK) break;
            CHECK_EQ(rc, 0);
            next_send++;
        }
        while ((rc = seqlink_connection_recv(conn, got, sizeof got, &received)) == 1) {
            message_of(next_echo, sent, &len);
            CHECK_EQ(received.len, len);
            CHECK(memcmp(got, sent, len) == 0);
            CHECK_EQ(received.ptype, 100);
            if (++next_echo == MESSAGES) CHECK_EQ(seqlink_connection_close(conn, now), 0);
        }
        CHECK_EQ(rc, 0);
        while ((rc = seqlink_connection_poll_transmit(conn, now, datagram, sizeof datagram, &len)) == 1) {
            if (over_tcp) {
                CHECK_EQ(send(fd, datagram, len, 0), (ssize_t)len); /* blocking: small and bounded */
            } else {
                sendto(fd, datagram, len, 0, (struct sockaddr *)&server, sizeof server);
            }
        }
        CHECK_EQ(rc, 0);
    }
    CHECK(connected);
    CHECK(closed);
    CHECK_EQ(next_echo, MESSAGES);
    CHECK_EQ(seqlink_connection_stats(conn, &stats), 0);
    CHECK_EQ(stats.messages_delivered, MESSAGES);
    printf("rust_peer_client (%s): %d echoes in %llu ms, %llu packets sent\n", over_tcp ? "tcp" : "udp", next_echo,
           (unsigned long long)(now_ms() - start), (unsigned long long)stats.packets_sent);
    CHECK_EQ(seqlink_connection_free(conn), 0);
    CHECK_EQ(seqlink_stream_decoder_free(frames), 0);
    close(fd);
}

int main(int argc, char **argv) {
    if (argc != 3 || (strcmp(argv[1], "udp") != 0 && strcmp(argv[1], "tcp") != 0)) {
        fprintf(stderr, "usage: rust_peer_client udp|tcp PORT\n");
        return 2;
    }
    over_tcp = strcmp(argv[1], "tcp") == 0;
    port = (uint16_t)atoi(argv[2]);
    RUN(echoes_come_back_and_the_close_is_graceful);
    return finish();
}

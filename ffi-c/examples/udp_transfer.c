/* udp_transfer.c: a reliable file transfer over POSIX UDP sockets and poll(),
 * a seqlink client and a seqlink server endpoint, sans-IO: this file owns the
 * sockets and the clock, libseqlink only turns datagrams into messages.
 *
 *   udp_transfer server PORT OUT_FILE [DROP_PERCENT]   (PORT 0: any; prints the port)
 *   udp_transfer client PORT IN_FILE [DROP_PERCENT]
 *
 * DROP_PERCENT drops that share of the datagrams each side sends, to show
 * the retransmissions at work. Both sides give up after 60 s. */
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
#include <time.h>
#include <unistd.h>

enum { TYPE_HEADER = 100, TYPE_CHUNK = 101, CHUNK = 1000, GIVE_UP_MS = 60000, MAX_WAIT_MS = 50 };

static uint64_t now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/* A small seeded generator for the drop option (xorshift64). */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static unsigned drop_percent;
static unsigned long dropped;

static int drop_this(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    if (rng_state % 100 < drop_percent) {
        dropped++;
        return 1;
    }
    return 0;
}

static void die(const char *what, int rc) {
    fprintf(stderr, "udp_transfer: %s: %s\n", what, rc < 0 ? seqlink_strerror(rc) : strerror(errno));
    exit(1);
}

/* Waits for the socket until `deadline` (if any), at most MAX_WAIT_MS. */
static void wait_readable(int fd, int has_deadline, uint64_t deadline) {
    struct pollfd p;
    uint64_t now = now_ms();
    int wait = MAX_WAIT_MS;
    if (has_deadline) wait = deadline <= now ? 0 : (deadline - now < MAX_WAIT_MS ? (int)(deadline - now) : MAX_WAIT_MS);
    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;
    if (poll(&p, 1, wait) < 0 && errno != EINTR) die("poll", 0);
}

/* A UDP socket; a server's is bound to PORT on loopback (0: any free port). */
static int udp_socket(int server, uint16_t port) {
    struct sockaddr_in addr;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) die("socket", 0);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (server && bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind", 0);
    return fd;
}

/* ---- server -------------------------------------------------------------- */

static int serve(uint16_t port, const char *out_path) {
    SeqlinkEndpointConfig config = seqlink_endpoint_config_default();
    SeqlinkEndpoint *server = NULL;
    uint8_t secret[16];
    static uint8_t datagram[65536], message[65536];
    struct sockaddr_in addr;
    socklen_t addr_len = sizeof addr;
    uint32_t handle = 0;
    uint64_t expected = UINT64_MAX, received = 0, start = now_ms(), done_at = 0;
    int fd = udp_socket(1, port), connected = 0, rc;
    FILE *out = fopen(out_path, "wb");
    size_t i;
    if (out == NULL) die(out_path, 0);
    for (i = 0; i < sizeof secret; i++) secret[i] = (uint8_t)(rand() ^ (int)(start >> (i % 8)));
    rc = seqlink_endpoint_new(&config, 4, secret, start, &server);
    if (rc < 0) die("endpoint", rc);
    if (getsockname(fd, (struct sockaddr *)&addr, &addr_len) < 0) die("getsockname", 0);
    printf("%u\n", ntohs(addr.sin_port));
    fflush(stdout);

    /* Runs until the file is complete and closed, then lingers 2 s to acknowledge late packets. */
    while (done_at == 0 || now_ms() < done_at + 2000) {
        uint64_t now = now_ms(), deadline = 0;
        int has_deadline = seqlink_endpoint_poll_timeout(server, &deadline) == SEQLINK_READY;
        SeqlinkAddress from, to;
        SeqlinkEndpointEvent event;
        SeqlinkReceived got;
        ssize_t n;
        size_t len = 0;
        if (now > start + GIVE_UP_MS) die("gave up: the transfer took longer than 60 s", 0);
        wait_readable(fd, has_deadline, deadline);
        now = now_ms();
        while ((n = recvfrom(fd, datagram, sizeof datagram, MSG_DONTWAIT, (struct sockaddr *)&addr, &addr_len)) > 0) {
            from.len = sizeof addr;
            memset(from.bytes, 0, sizeof from.bytes);
            memcpy(from.bytes, &addr, sizeof addr);
            seqlink_endpoint_handle_datagram(server, now, &from, datagram, (size_t)n);
            addr_len = sizeof addr;
        }
        if (seqlink_endpoint_poll_timeout(server, &deadline) == SEQLINK_READY && deadline <= now) {
            seqlink_endpoint_handle_timeout(server, now);
        }
        while (seqlink_endpoint_poll_event(server, &event) == SEQLINK_READY) {
            if (event.event.kind == SEQLINK_EVENT_CONNECTED && !connected) {
                connected = 1;
                handle = event.handle;
            } else if (event.event.kind == SEQLINK_EVENT_FAILED && event.handle == handle) {
                die(seqlink_strerror(event.event.reason), 0);
            }
        }
        while (connected && (rc = seqlink_endpoint_recv(server, handle, message, sizeof message, &got)) == 1) {
            if (got.ptype == TYPE_HEADER && got.len == 8) {
                expected = 0;
                for (i = 0; i < 8; i++) expected = expected << 8 | message[i];
            } else if (got.ptype == TYPE_CHUNK) {
                if (fwrite(message, 1, got.len, out) != got.len) die("write", 0);
                received += got.len;
            }
        }
        if (done_at == 0 && received == expected) {
            done_at = now_ms();
            fclose(out);
            out = NULL;
        }
        while ((rc = seqlink_endpoint_poll_transmit(server, now, datagram, sizeof datagram, &to, &len)) == SEQLINK_READY) {
            if (drop_this()) continue;
            memcpy(&addr, to.bytes, sizeof addr);
            sendto(fd, datagram, len, 0, (struct sockaddr *)&addr, sizeof addr);
        }
        if (rc < 0) die("poll_transmit", rc);
    }
    {
        SeqlinkEndpointStats stats;
        seqlink_endpoint_stats(server, &stats);
        fprintf(stderr, "server: %llu bytes received, %lu datagrams dropped on purpose, %llu connections\n",
                (unsigned long long)received, dropped, (unsigned long long)stats.accepted);
    }
    seqlink_endpoint_free(server);
    close(fd);
    return 0;
}

/* ---- client -------------------------------------------------------------- */

static int send_file(uint16_t port, const char *in_path) {
    SeqlinkConnectionConfig config = seqlink_connection_config_default();
    SeqlinkConnection *conn = NULL;
    static uint8_t datagram[65536], file_chunk[CHUNK];
    struct sockaddr_in server;
    uint64_t size, sent = 0, start = now_ms();
    int fd = udp_socket(0, 0), connected = 0, closing = 0, closed = 0, header_sent = 0, rc;
    size_t chunk_len = 0;
    FILE *in = fopen(in_path, "rb");
    SeqlinkStats stats;
    if (in == NULL) die(in_path, 0);
    fseek(in, 0, SEEK_END);
    size = (uint64_t)ftell(in);
    fseek(in, 0, SEEK_SET);
    memset(&server, 0, sizeof server);
    server.sin_family = AF_INET;
    server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    server.sin_port = htons(port);
    rc = seqlink_connection_new(&config, start, start ^ (uint64_t)getpid() << 20, &conn);
    if (rc < 0) die("connection", rc);

    while (!closed) {
        uint64_t now = now_ms(), deadline = 0;
        int has_deadline = seqlink_connection_poll_timeout(conn, &deadline) == SEQLINK_READY;
        SeqlinkEvent event;
        ssize_t n;
        size_t len = 0;
        if (now > start + GIVE_UP_MS) die("gave up: the transfer took longer than 60 s", 0);
        wait_readable(fd, has_deadline, deadline);
        now = now_ms();
        while ((n = recv(fd, datagram, sizeof datagram, MSG_DONTWAIT)) > 0) {
            seqlink_connection_handle_datagram(conn, now, datagram, (size_t)n);
        }
        if (seqlink_connection_poll_timeout(conn, &deadline) == SEQLINK_READY && deadline <= now) {
            seqlink_connection_handle_timeout(conn, now);
        }
        while (seqlink_connection_poll_event(conn, &event) == SEQLINK_READY) {
            if (event.kind == SEQLINK_EVENT_CONNECTED) connected = 1;
            if (event.kind == SEQLINK_EVENT_CLOSED) closed = 1;
            if (event.kind == SEQLINK_EVENT_FAILED) die(seqlink_strerror(event.reason), 0);
        }
        /* Queue as much of the file as the send window takes. */
        while (connected && !closing) {
            if (!header_sent) {
                uint8_t header[8];
                int i;
                for (i = 0; i < 8; i++) header[i] = (uint8_t)(size >> (56 - 8 * i));
                rc = seqlink_connection_send(conn, TYPE_HEADER, header, 8, SEQLINK_DELIVERY_RELIABLE);
                if (rc == -SEQLINK_E_WOULD_BLOCK) break;
                if (rc < 0) die("send", rc);
                header_sent = 1;
            }
            if (sent == size) {
                seqlink_connection_close(conn, now);
                closing = 1;
                break;
            }
            if (chunk_len == 0) chunk_len = fread(file_chunk, 1, CHUNK, in);
            rc = seqlink_connection_send(conn, TYPE_CHUNK, file_chunk, chunk_len, SEQLINK_DELIVERY_RELIABLE);
            if (rc == -SEQLINK_E_WOULD_BLOCK) break; /* the Writable event comes when there is room */
            if (rc < 0) die("send", rc);
            sent += chunk_len;
            chunk_len = 0;
        }
        while ((rc = seqlink_connection_poll_transmit(conn, now, datagram, sizeof datagram, &len)) == SEQLINK_READY) {
            if (drop_this()) continue;
            sendto(fd, datagram, len, 0, (struct sockaddr *)&server, sizeof server);
        }
        if (rc < 0) die("poll_transmit", rc);
    }
    seqlink_connection_stats(conn, &stats);
    fprintf(stderr, "client: %llu bytes in %llu ms, %llu packets, %llu retransmissions, %lu dropped on purpose\n",
            (unsigned long long)sent, (unsigned long long)(now_ms() - start), (unsigned long long)stats.packets_sent,
            (unsigned long long)stats.retransmissions, dropped);
    seqlink_connection_free(conn);
    fclose(in);
    close(fd);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: udp_transfer server|client PORT FILE [DROP_PERCENT]\n");
        return 2;
    }
    if (argc > 4) drop_percent = (unsigned)atoi(argv[4]);
    rng_state ^= (uint64_t)getpid();
    if (strcmp(argv[1], "server") == 0) return serve((uint16_t)atoi(argv[2]), argv[3]);
    if (strcmp(argv[1], "client") == 0) return send_file((uint16_t)atoi(argv[2]), argv[3]);
    fprintf(stderr, "udp_transfer: unknown mode %s\n", argv[1]);
    return 2;
}

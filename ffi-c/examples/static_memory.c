/* static_memory.c: a client and a server whose every object lives in static
 * arrays, as C firmware keeps them: no malloc at all. The two talk over an
 * in-memory wire (a firmware would put a UART or a radio there).
 *
 * The arrays are sized by the query functions: `static_memory --sizes`
 * prints the -D flags with the exact sizes of this configuration, and the
 * build compiles the program again with them (scripts/test-ffi.sh does).
 * Built with COUNT_ALLOCATIONS and -Wl,--wrap=malloc,..., it also proves
 * that libseqlink allocated nothing. C11 (for _Alignas). */
#include "seqlink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CLIENT_MEMORY
#define CLIENT_MEMORY (64 * 1024)
#endif
#ifndef SERVER_MEMORY
#define SERVER_MEMORY (128 * 1024)
#endif
#define PEERS 1

static _Alignas(SEQLINK_ALIGN) uint8_t client_memory[CLIENT_MEMORY];
static _Alignas(SEQLINK_ALIGN) uint8_t server_memory[SERVER_MEMORY];
static uint8_t wire[600];
static uint8_t message[512];
static const uint8_t SECRET[16] = "firmware-secret";

#ifdef COUNT_ALLOCATIONS
/* Every allocation of this program and of libseqlink goes through these. */
static unsigned long allocations;
void *__real_malloc(size_t size);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *ptr, size_t size);
int __real_posix_memalign(void **ptr, size_t align, size_t size);
void *__wrap_malloc(size_t size) { allocations++; return __real_malloc(size); }
void *__wrap_calloc(size_t count, size_t size) { allocations++; return __real_calloc(count, size); }
void *__wrap_realloc(void *ptr, size_t size) { allocations++; return __real_realloc(ptr, size); }
int __wrap_posix_memalign(void **ptr, size_t align, size_t size) {
    allocations++;
    return __real_posix_memalign(ptr, align, size);
}
#endif

/* A small firmware configuration: 4-packet windows, 256-byte payloads. */
static SeqlinkConnectionConfig firmware_config(void) {
    SeqlinkConnectionConfig config = seqlink_connection_config_default();
    config.link.send_window = config.link.recv_window = config.link.peer_recv_window = 4;
    config.link.max_payload = 256;
    config.link.unreliable_slots = 0;
    return config;
}

static int fail(const char *what, int rc) {
    fprintf(stderr, "static_memory: %s: %s\n", what, seqlink_strerror(rc));
    return 1;
}

int main(int argc, char **argv) {
    SeqlinkConnectionConfig config = firmware_config();
    SeqlinkEndpointConfig server_config = seqlink_endpoint_config_default();
    SeqlinkConnection *client = NULL;
    SeqlinkEndpoint *server = NULL;
    SeqlinkAddress client_address = {1, {42}};
    size_t client_size = 0, server_size = 0, n = 0;
    uint32_t handle = 0;
    uint64_t now;
    int rc, sent = 0, echoed = 0, closed = 0, connected = 0;
    SeqlinkStats stats;

    server_config.connection = config;
    if ((rc = seqlink_connection_size(&config, &client_size)) < 0) return fail("client size", rc);
    if ((rc = seqlink_endpoint_size(&server_config, PEERS, &server_size)) < 0) return fail("server size", rc);
    if (argc > 1 && strcmp(argv[1], "--sizes") == 0) {
        printf("-DCLIENT_MEMORY=%zu -DSERVER_MEMORY=%zu\n", client_size, server_size);
        return 0;
    }
    printf("client memory %zu of %zu bytes, server memory %zu of %zu bytes\n", client_size, sizeof client_memory,
           server_size, sizeof server_memory);
    rc = seqlink_connection_init(client_memory, sizeof client_memory, &config, 0, 0x5eed, &client);
    if (rc < 0) return fail("client", rc);
    rc = seqlink_endpoint_init(server_memory, sizeof server_memory, &server_config, PEERS, SECRET, 7, &server);
    if (rc < 0) return fail("server", rc);

    /* A millisecond at a time: the server echoes what the client sends. */
    for (now = 0; now < 10000 && !closed; now++) {
        uint64_t deadline;
        SeqlinkAddress to;
        SeqlinkEvent event;
        SeqlinkEndpointEvent server_event;
        SeqlinkReceived received;
        if (seqlink_connection_poll_timeout(client, &deadline) == 1 && deadline <= now) {
            seqlink_connection_handle_timeout(client, now);
        }
        if (seqlink_endpoint_poll_timeout(server, &deadline) == 1 && deadline <= now) {
            seqlink_endpoint_handle_timeout(server, now);
        }
        while (seqlink_connection_poll_transmit(client, now, wire, sizeof wire, &n) == 1) {
            seqlink_endpoint_handle_datagram(server, now, &client_address, wire, n);
        }
        while (seqlink_endpoint_poll_transmit(server, now, wire, sizeof wire, &to, &n) == 1) {
            seqlink_connection_handle_datagram(client, now, wire, n);
        }
        while (seqlink_endpoint_poll_event(server, &server_event) == 1) {
            if (server_event.event.kind == SEQLINK_EVENT_CONNECTED) handle = server_event.handle;
        }
        while (seqlink_endpoint_recv(server, handle, message, sizeof message, &received) == 1) {
            seqlink_endpoint_send(server, handle, received.ptype, message, received.len, SEQLINK_DELIVERY_RELIABLE);
        }
        while (seqlink_connection_poll_event(client, &event) == 1) {
            connected |= event.kind == SEQLINK_EVENT_CONNECTED;
            closed |= event.kind == SEQLINK_EVENT_CLOSED;
            if (event.kind == SEQLINK_EVENT_FAILED) return fail("connection failed", -event.reason);
        }
        if (connected && sent < 10 &&
            seqlink_connection_send(client, 100, (const uint8_t *)"sensor reading", 14, SEQLINK_DELIVERY_RELIABLE) == 0) {
            sent++;
        }
        while (seqlink_connection_recv(client, message, sizeof message, &received) == 1) {
            if (received.len != 14 || memcmp(message, "sensor reading", 14) != 0) return fail("echo differs", 0);
            if (++echoed == 10) seqlink_connection_close(client, now);
        }
    }
    seqlink_connection_stats(client, &stats);
    printf("static_memory: %d echoes, closed %s at %llu ms, %llu packets sent\n", echoed, closed ? "gracefully" : "NOT",
           (unsigned long long)now, (unsigned long long)stats.packets_sent);
    seqlink_connection_free(client);
    seqlink_endpoint_free(server);
#ifdef COUNT_ALLOCATIONS
    printf("static_memory: %lu allocations\n", allocations);
    if (allocations != 0) return fail("something allocated", 0);
#endif
    return echoed == 10 && closed ? 0 : 1;
}

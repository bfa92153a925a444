//! A client connection and a server endpoint talking through the C API,
//! both in caller memory, over a perfect in-memory network.

use seqlink::config::{seqlink_connection_config_default, seqlink_endpoint_config_default};
use seqlink::connection::*;
use seqlink::endpoint::*;
use seqlink::records::*;
use seqlink::status::*;
use seqlink::SEQLINK_ALIGN;
use std::ptr::null_mut;

/// Memory aligned to `SEQLINK_ALIGN`, as a C program's static array would be.
fn aligned(len: usize) -> Vec<u128> {
    assert_eq!(std::mem::align_of::<u128>(), SEQLINK_ALIGN);
    vec![0u128; len.div_ceil(16)]
}

#[test]
fn client_and_server_exchange_a_message_and_close() {
    let mut config = seqlink_connection_config_default();
    config.link.send_window = 8;
    config.link.recv_window = 8;
    config.link.peer_recv_window = 8;
    config.link.max_payload = 256;
    let mut size = 0;
    assert_eq!(seqlink_connection_size(&config, &mut size), 0);
    let mut client_mem = aligned(size);
    let mut client: *mut SeqlinkConnection = null_mut();
    let rc = seqlink_connection_init(client_mem.as_mut_ptr().cast(), size, &config, 0, 42, &mut client);
    assert_eq!(rc, 0);

    let mut server_config = seqlink_endpoint_config_default();
    server_config.connection = config;
    assert_eq!(seqlink_endpoint_size(&server_config, 2, &mut size), 0);
    let mut server_mem = aligned(size);
    let mut server: *mut SeqlinkEndpoint = null_mut();
    let secret = [7u8; 16];
    let rc =
        seqlink_endpoint_init(server_mem.as_mut_ptr().cast(), size, &server_config, 2, secret.as_ptr(), 9, &mut server);
    assert_eq!(rc, 0);

    let client_address = SeqlinkAddress { len: 1, bytes: [5; SEQLINK_ADDRESS_MAX] };
    let mut datagram = [0u8; 512];
    let mut message = [0u8; 64];
    let (mut connected, mut closed, mut served) = (false, false, None);
    for now in 0..2_000u64 {
        let mut deadline = 0;
        if seqlink_connection_poll_timeout(client, &mut deadline) == SEQLINK_READY && deadline <= now {
            assert_eq!(seqlink_connection_handle_timeout(client, now), 0);
        }
        if seqlink_endpoint_poll_timeout(server, &mut deadline) == SEQLINK_READY && deadline <= now {
            assert_eq!(seqlink_endpoint_handle_timeout(server, now), 0);
        }
        let mut n = 0;
        while seqlink_connection_poll_transmit(client, now, datagram.as_mut_ptr(), datagram.len(), &mut n) == 1 {
            assert_eq!(seqlink_endpoint_handle_datagram(server, now, &client_address, datagram.as_ptr(), n), 0);
        }
        let mut to = SeqlinkAddress::default();
        while seqlink_endpoint_poll_transmit(server, now, datagram.as_mut_ptr(), datagram.len(), &mut to, &mut n) == 1 {
            assert_eq!(to.len, 1);
            assert_eq!(seqlink_connection_handle_datagram(client, now, datagram.as_ptr(), n), 0);
        }
        let mut event = SeqlinkEvent::default();
        while seqlink_connection_poll_event(client, &mut event) == 1 {
            match event.kind {
                SEQLINK_EVENT_CONNECTED => {
                    connected = true;
                    assert_eq!(seqlink_connection_send(client, 100, b"B5".as_ptr(), 2, SEQLINK_DELIVERY_RELIABLE), 0);
                    assert_eq!(seqlink_connection_close(client, now), 0);
                    let rc = seqlink_connection_send(client, 100, b"late".as_ptr(), 4, SEQLINK_DELIVERY_RELIABLE);
                    assert_eq!(rc, -SEQLINK_E_CLOSING);
                }
                SEQLINK_EVENT_CLOSED => closed = true,
                other => panic!("unexpected event {other}"),
            }
        }
        let mut endpoint_event = SeqlinkEndpointEvent::default();
        while seqlink_endpoint_poll_event(server, &mut endpoint_event) == 1 {
            if endpoint_event.event.kind == SEQLINK_EVENT_CONNECTED {
                served = Some(endpoint_event.handle);
                assert_eq!((endpoint_event.peer.len, endpoint_event.peer.bytes[0]), (1, 5));
            }
        }
        if let Some(handle) = served {
            let mut received = SeqlinkReceived::default();
            if seqlink_endpoint_recv(server, handle, message.as_mut_ptr(), message.len(), &mut received) == 1 {
                assert_eq!(&message[..received.len], b"B5");
                assert_eq!(received.ptype, 100);
            }
        }
        if closed {
            break;
        }
    }
    assert!(connected && closed && served.is_some());
    let mut stats = SeqlinkStats::default();
    assert_eq!(seqlink_connection_stats(client, &mut stats), 0);
    assert_eq!(stats.messages_sent, 1);
    assert_eq!(seqlink_connection_free(client), 0);
    assert_eq!(seqlink_connection_send(client, 100, b"x".as_ptr(), 1, 0), -SEQLINK_E_BAD_OBJECT);
    assert_eq!(seqlink_endpoint_free(server), 0);
}

#[test]
fn misaligned_or_small_memory_is_refused() {
    let config = seqlink_connection_config_default();
    let mut size = 0;
    assert_eq!(seqlink_connection_size(&config, &mut size), 0);
    let mut mem = aligned(size + 16);
    let base: *mut u8 = mem.as_mut_ptr().cast();
    let mut conn: *mut SeqlinkConnection = null_mut();
    // SAFETY: one byte into an allocation of size + 16 bytes.
    let shifted = unsafe { base.add(1) };
    assert_eq!(seqlink_connection_init(shifted.cast(), size, &config, 0, 1, &mut conn), -SEQLINK_E_MISALIGNED);
    assert_eq!(seqlink_connection_init(base.cast(), size - 1, &config, 0, 1, &mut conn), -SEQLINK_E_TOO_SMALL);
    assert!(conn.is_null());
}

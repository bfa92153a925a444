//! The driver's injected impairments and its observer, over loopback UDP
//! (127.0.0.1 only), bounded in count and time.

use seqlink_core::{ConnectionConfig, Delivery, EndpointConfig, LinkConfig, PacketType, TraceKind};
use seqlink_std::{Direction, Impairment, Injected, Observer, UdpConnection, UdpServer};
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(20);

fn config() -> ConnectionConfig {
    let mut link = LinkConfig::low_latency().with_window(32);
    link.trace_slots = 256;
    let mut c = ConnectionConfig::new().with_link(link);
    c.linger_ms = 100;
    c
}

/// What an observer saw, shared with the test.
#[derive(Default)]
struct Seen {
    sent: usize,
    received: usize,
    injected: Vec<Injected>,
    traces: Vec<TraceKind>,
}

struct Recorder(Arc<Mutex<Seen>>);

impl Observer for Recorder {
    fn datagram(&mut self, direction: Direction, _: SocketAddr, _: SocketAddr, _: &[u8]) {
        let mut seen = self.0.lock().unwrap();
        match direction {
            Direction::Out => seen.sent += 1,
            Direction::In => seen.received += 1,
        }
    }
    fn injected(&mut self, _: Direction, what: Injected, _: &[u8]) {
        self.0.lock().unwrap().injected.push(what);
    }
    fn trace(&mut self, event: &seqlink_core::TraceEvent, _: &[u8]) {
        self.0.lock().unwrap().traces.push(event.kind);
    }
}

#[test]
fn duplicated_reordered_delayed_datagrams_still_deliver_every_message_in_order() {
    let impaired = Impairment::seeded(3).with_duplication(0.2).with_reordering(0.2).with_delay(5, 3);
    let mut server =
        UdpServer::bind("127.0.0.1:0", EndpointConfig::new(config()), 4).unwrap().with_impairment(impaired);
    let addr = server.local_addr().unwrap();
    let echo = thread::spawn(move || {
        let handle = server.accept(Some(T)).unwrap().expect("a client");
        let start = Instant::now();
        while server.endpoint().connection(handle).is_some() && start.elapsed() < T {
            if let Some((h, m)) = server.recv(Some(Duration::from_millis(20))).unwrap() {
                server.send(h, m.ptype, &m.data, m.delivery).unwrap();
            }
        }
    });
    let seen = Arc::new(Mutex::new(Seen::default()));
    let observer = Box::new(Recorder(seen.clone()));
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let client_impairment = Impairment::seeded(4).with_duplication(0.2).with_reordering(0.2).with_delay(5, 3);
    let mut client =
        UdpConnection::connect_observed(socket, addr, config(), T, Some(client_impairment), Some(observer)).unwrap();
    let started = Instant::now();
    for i in 0..100u32 {
        client.send(PacketType(100), &i.to_be_bytes(), Delivery::Reliable).unwrap();
        let echo = client.recv(Some(T)).unwrap().expect("an echo");
        assert_eq!(echo.data, i.to_be_bytes(), "echo {i} in order, once");
    }
    assert!(started.elapsed() >= Duration::from_millis(100 * 4), "every round trip waited out two delays");
    let stats = client.stats();
    client.close(T).unwrap();
    echo.join().unwrap();

    let seen = seen.lock().unwrap();
    assert!(seen.injected.contains(&Injected::Duplicated) && seen.injected.contains(&Injected::Reordered));
    assert!(seen.sent > 100 && seen.received > 100, "{} sent, {} received", seen.sent, seen.received);
    assert!(seen.traces.contains(&TraceKind::Sent) && seen.traces.contains(&TraceKind::Received));
    assert!(stats.duplicates > 0, "the server's duplicates reached the client: {stats:?}");
}

//! The impairment relay: two UDP sockets on 127.0.0.1 forwarding between a
//! sender and a receiver, with seeded loss, delay, duplication and reordering.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the relay does to every datagram, each direction on its own seeded draws.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Impairment {
    /// Probability that a datagram is dropped.
    pub loss: f64,
    /// One-way delay added to every datagram, milliseconds.
    pub delay_ms: u64,
    /// Probability that a datagram is sent twice.
    pub duplicate: f64,
    /// Probability that a datagram is held back by up to `reorder_ms` more.
    pub reorder: f64,
    /// The longest extra hold of a reordered datagram, milliseconds.
    pub reorder_ms: u64,
    /// Seed of the draws.
    pub seed: u64,
}

impl Impairment {
    /// Loss and delay only.
    pub fn loss_delay(loss: f64, delay_ms: u64, seed: u64) -> Impairment {
        Impairment { loss, delay_ms, duplicate: 0.0, reorder: 0.0, reorder_ms: 0, seed }
    }
}

/// UDP datagrams and their payload bytes, as they reached the relay (before its drops).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Datagrams.
    pub datagrams: u64,
    /// UDP payload bytes (no IP or UDP header).
    pub bytes: u64,
}

impl Traffic {
    fn count(&mut self, payload_len: usize) {
        self.datagrams += 1;
        self.bytes += payload_len as u64;
    }
}

/// Datagrams the relay handled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// Datagrams received from either side.
    pub received: u64,
    /// What the sender (the client side) sent towards the receiver.
    pub to_receiver: Traffic,
    /// What the receiver (the server) sent back.
    pub to_sender: Traffic,
    /// Dropped on purpose.
    pub dropped: u64,
    /// Forwarded (duplicates counted).
    pub forwarded: u64,
    /// Forwarding failed (the socket buffer was full).
    pub send_errors: u64,
}

/// A running relay; [`Relay::stop`] ends it.
#[derive(Debug)]
pub struct Relay {
    client_side: SocketAddr,
    server_side: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<RelayStats>,
}

impl Relay {
    /// Starts a relay in front of `server`: what arrives at
    /// [`Relay::client_side`] goes to `server`, and the server's answers
    /// (arriving at [`Relay::server_side`]) go to whoever sent first.
    pub fn start(server: SocketAddr, impairment: Impairment) -> io::Result<Relay> {
        let a = UdpSocket::bind("127.0.0.1:0")?;
        let b = UdpSocket::bind("127.0.0.1:0")?;
        for s in [&a, &b] {
            s.set_nonblocking(true)?;
            set_buffers(s, 4 << 20);
        }
        let (client_side, server_side) = (a.local_addr()?, b.local_addr()?);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || forward(&a, &b, server, impairment, &flag));
        Ok(Relay { client_side, server_side, stop, thread })
    }

    /// Where the sender sends.
    pub fn client_side(&self) -> SocketAddr {
        self.client_side
    }

    /// Where the receiver's datagrams come from (and its answers go).
    pub fn server_side(&self) -> SocketAddr {
        self.server_side
    }

    /// Stops the relay and returns its counters.
    pub fn stop(self) -> RelayStats {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

/// A datagram waiting for its time: (due, order of arrival, towards the server?, bytes).
type Held = Reverse<(Instant, u64, bool, Vec<u8>)>;

fn forward(a: &UdpSocket, b: &UdpSocket, server: SocketAddr, imp: Impairment, stop: &AtomicBool) -> RelayStats {
    let mut stats = RelayStats::default();
    let mut draws = [Draws::new(imp.seed), Draws::new(imp.seed ^ 0x9e37_79b9_7f4a_7c15)];
    let mut queue: BinaryHeap<Held> = BinaryHeap::new();
    let mut client: Option<SocketAddr> = None;
    let mut order = 0u64;
    let mut buf = vec![0u8; 65536];
    while !stop.load(Ordering::Relaxed) {
        let wait = queue.peek().map_or(Duration::from_millis(20), |Reverse((due, ..))| {
            due.saturating_duration_since(Instant::now()).min(Duration::from_millis(20))
        });
        wait_readable_precisely(&[a, b], wait);
        for (towards_server, socket) in [(true, a), (false, b)] {
            while let Ok((n, from)) = socket.recv_from(&mut buf) {
                if towards_server {
                    client.get_or_insert(from);
                } else if from != server {
                    continue;
                }
                stats.received += 1;
                if towards_server {
                    stats.to_receiver.count(n);
                } else {
                    stats.to_sender.count(n);
                }
                let d = &mut draws[usize::from(towards_server)];
                if d.chance(imp.loss) {
                    stats.dropped += 1;
                    continue;
                }
                let copies = if d.chance(imp.duplicate) { 2 } else { 1 };
                for _ in 0..copies {
                    let mut delay = Duration::from_millis(imp.delay_ms);
                    if imp.reorder_ms > 0 && d.chance(imp.reorder) {
                        delay += Duration::from_micros(d.below(imp.reorder_ms * 1000) + 1);
                    }
                    let data = buf.get(..n).unwrap_or_default().to_vec();
                    queue.push(Reverse((Instant::now() + delay, order, towards_server, data)));
                    order += 1;
                }
            }
        }
        let now = Instant::now();
        while queue.peek().is_some_and(|Reverse((due, ..))| *due <= now) {
            let Some(Reverse((_, _, towards_server, data))) = queue.pop() else { break };
            let sent = match (towards_server, client) {
                (true, _) => b.send_to(&data, server),
                (false, Some(c)) => a.send_to(&data, c),
                (false, None) => continue,
            };
            match sent {
                Ok(_) => stats.forwarded += 1,
                Err(_) => stats.send_errors += 1,
            }
        }
    }
    stats
}

/// Seeded draws (splitmix64).
#[derive(Debug)]
struct Draws(u64);

impl Draws {
    fn new(seed: u64) -> Draws {
        Draws(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Waits until one of `sockets` is readable or `timeout` passes.
pub fn wait_readable(sockets: &[&UdpSocket], timeout: Duration) {
    let mut fds: Vec<libc::pollfd> =
        sockets.iter().map(|s| libc::pollfd { fd: s.as_raw_fd(), events: libc::POLLIN, revents: 0 }).collect();
    let ms = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
    // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs for the whole call.
    unsafe {
        libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms);
    }
}

/// Waits until one of `sockets` is readable or `timeout` passes, to the
/// microsecond (`ppoll`; `poll` would round up to whole milliseconds and
/// hold every datagram up to 1 ms past its time).
fn wait_readable_precisely(sockets: &[&UdpSocket], timeout: Duration) {
    let mut fds: Vec<libc::pollfd> =
        sockets.iter().map(|s| libc::pollfd { fd: s.as_raw_fd(), events: libc::POLLIN, revents: 0 }).collect();
    let timeout = libc::timespec {
        tv_sec: timeout.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs and
    // `timeout` a valid timespec for the whole call; no signal mask is given.
    unsafe {
        libc::ppoll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, &timeout, std::ptr::null());
    }
}

/// Asks for `bytes` of kernel receive and send buffer (forced when running as root).
pub fn set_buffers(socket: &UdpSocket, bytes: usize) {
    let value = bytes.min(i32::MAX as usize) as libc::c_int;
    for (forced, plain) in [(libc::SO_RCVBUFFORCE, libc::SO_RCVBUF), (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF)] {
        for option in [forced, plain] {
            // SAFETY: setsockopt reads one c_int from a valid pointer of the size given.
            let r = unsafe {
                libc::setsockopt(
                    socket.as_raw_fd(),
                    libc::SOL_SOCKET,
                    option,
                    (&value as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            if r == 0 {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay_roundtrip(imp: Impairment, n: usize) -> (usize, RelayStats) {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        server.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        let relay = Relay::start(server.local_addr().unwrap(), imp).unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        for i in 0..n {
            client.send_to(&(i as u32).to_le_bytes(), relay.client_side()).unwrap();
        }
        let mut got = 0;
        let mut buf = [0u8; 16];
        while let Ok((_, from)) = server.recv_from(&mut buf) {
            assert_eq!(from, relay.server_side());
            got += 1;
        }
        (got, relay.stop())
    }

    #[test]
    fn the_relay_forwards_everything_without_impairment() {
        let (got, stats) = relay_roundtrip(Impairment::loss_delay(0.0, 0, 1), 200);
        assert_eq!((got, stats.dropped), (200, 0));
    }

    #[test]
    fn the_relay_counts_the_payload_bytes_of_each_direction_before_dropping_any() {
        let (got, stats) = relay_roundtrip(Impairment::loss_delay(0.5, 0, 3), 100);
        assert!(got < 100, "some were dropped");
        // the round trip sends 4 bytes per datagram towards the receiver, none back
        assert_eq!(stats.to_receiver, Traffic { datagrams: 100, bytes: 400 });
        assert_eq!(stats.to_sender, Traffic::default());

        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        server.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        let relay = Relay::start(server.local_addr().unwrap(), Impairment::loss_delay(0.0, 0, 4)).unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        let mut buf = [0u8; 64];
        for _ in 0..3 {
            client.send_to(&[1; 10], relay.client_side()).unwrap();
            let (_, from) = server.recv_from(&mut buf).unwrap();
            server.send_to(&[2; 5], from).unwrap();
            client.recv_from(&mut buf).unwrap();
        }
        let stats = relay.stop();
        assert_eq!(stats.to_receiver, Traffic { datagrams: 3, bytes: 30 });
        assert_eq!(stats.to_sender, Traffic { datagrams: 3, bytes: 15 });
    }

    #[test]
    fn the_relay_drops_about_the_share_it_is_told_and_duplicates_on_request() {
        let (got, stats) = relay_roundtrip(Impairment::loss_delay(0.5, 1, 1), 400);
        assert!((140..260).contains(&got), "{got} of 400 at 50% loss");
        assert_eq!(stats.dropped as usize + got, 400);
        let dup = Impairment { duplicate: 1.0, ..Impairment::loss_delay(0.0, 0, 2) };
        assert_eq!(relay_roundtrip(dup, 50).0, 100);
    }
}

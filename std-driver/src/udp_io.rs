//! The socket half of the UDP drivers, shared by the client and the server:
//! one non-blocking socket, waits on readiness with sub-millisecond
//! deadlines, datagrams kept (not lost) while the send buffer is full, the
//! datagrams ready together sent in one call per run (`gso`), the injected
//! impairments and the observer's tap.

use crate::gso;
use crate::observe::{Direction, Injected, Tap};
use crate::outbox::Outbox;
use crate::readiness::{self, PollFd, PollFlags};
use crate::Impairment;
use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// A datagram held back by an injected delay or reordering.
#[derive(Debug)]
struct Held {
    due: Instant,
    to: SocketAddr,
    datagram: Vec<u8>,
}

/// A UDP socket in non-blocking mode for its whole life.
#[derive(Debug)]
pub(crate) struct UdpIo {
    socket: UdpSocket,
    /// Received datagrams land here.
    rx: Vec<u8>,
    /// The core writes outgoing datagrams here, back to back (see [`UdpIo::room`]).
    pub(crate) tx: Vec<u8>,
    /// The datagrams in `tx` not sent yet: written since the last flush, or
    /// refused by a full socket buffer (sent before anything new).
    outbox: Outbox,
    max_datagram: usize,
    /// The socket's `UDP_SEGMENT` length (0: not set).
    segment: usize,
    /// The kernel refused to cut runs apart: every datagram goes on its own.
    gso_refused: bool,
    impairment: Option<Impairment>,
    /// Datagrams held back by the impairment, earliest first.
    held: VecDeque<Held>,
    local: SocketAddr,
    /// The one peer of a client's socket, connected to it (see [`UdpIo::connect`]).
    peer: Option<SocketAddr>,
    pub(crate) tap: Tap,
    /// `recv_from` calls made, the empty ones (`WouldBlock`) included.
    pub(crate) reads: u64,
    /// Send calls made (one per run), the refused ones included.
    pub(crate) sends: u64,
}

impl UdpIo {
    /// Takes `socket` (switched to non-blocking once, here) with room for datagrams of `max_datagram` bytes.
    pub(crate) fn new(socket: UdpSocket, max_datagram: usize, impairment: Option<Impairment>) -> io::Result<UdpIo> {
        socket.set_nonblocking(true)?;
        let len = max_datagram.max(2048);
        let local = socket.local_addr()?;
        let tx_len = if gso::AVAILABLE { len.max(gso::MAX_BYTES) } else { len };
        Ok(UdpIo {
            socket,
            rx: vec![0u8; len],
            tx: vec![0u8; tx_len],
            outbox: Outbox::default(),
            max_datagram: len,
            segment: 0,
            gso_refused: false,
            impairment,
            held: VecDeque::new(),
            local,
            peer: None,
            tap: Tap::default(),
            reads: 0,
            sends: 0,
        })
    }

    /// Drops or damages datagrams on purpose from now on (for demos and tests).
    pub(crate) fn set_impairment(&mut self, impairment: Option<Impairment>) {
        self.impairment = impairment;
    }

    pub(crate) fn socket(&self) -> &UdpSocket {
        &self.socket
    }

    /// Connects the socket to the only peer it talks to: the kernel then
    /// keeps the route instead of looking it up for every datagram, and
    /// delivers datagrams from that peer only (the client ignores any other).
    pub(crate) fn connect(&mut self, peer: SocketAddr) -> io::Result<()> {
        self.socket.connect(peer)?;
        self.peer = Some(peer);
        Ok(())
    }

    /// Sends one datagram to `to`, without naming the address to a socket connected to it.
    fn send_datagram(
        socket: &UdpSocket,
        peer: Option<SocketAddr>,
        datagram: &[u8],
        to: SocketAddr,
    ) -> io::Result<usize> {
        if peer == Some(to) {
            socket.send(datagram)
        } else {
            socket.send_to(datagram, to)
        }
    }

    /// Sets the kernel's receive and send buffer sizes (bytes; `None` keeps the default).
    pub(crate) fn set_buffer_sizes(&self, recv: Option<usize>, send: Option<usize>) -> io::Result<()> {
        use rustix::net::sockopt;
        if let Some(n) = recv {
            sockopt::set_socket_recv_buffer_size(&self.socket, n)?;
        }
        if let Some(n) = send {
            sockopt::set_socket_send_buffer_size(&self.socket, n)?;
        }
        Ok(())
    }

    /// The kernel's receive and send buffer sizes.
    pub(crate) fn buffer_sizes(&self) -> io::Result<(usize, usize)> {
        use rustix::net::sockopt;
        Ok((sockopt::socket_recv_buffer_size(&self.socket)?, sockopt::socket_send_buffer_size(&self.socket)?))
    }

    /// Reads every datagram waiting, handing each (after the injected
    /// impairments) to `handle` with the tap; returns how many were read.
    pub(crate) fn receive_all(&mut self, mut handle: impl FnMut(SocketAddr, &mut [u8], &mut Tap)) -> io::Result<usize> {
        let mut count = 0;
        loop {
            self.reads += 1;
            match self.socket.recv_from(&mut self.rx) {
                Ok((n, from)) => {
                    count += 1;
                    let Some(datagram) = self.rx.get_mut(..n) else { continue };
                    if let Some(imp) = &mut self.impairment {
                        if imp.drop_next() {
                            self.tap.injected(Direction::In, Injected::Lost, datagram);
                            continue;
                        }
                        if imp.corrupt_next(datagram) {
                            self.tap.injected(Direction::In, Injected::Corrupted, datagram);
                        }
                    }
                    self.tap.datagram(Direction::In, self.local, from, datagram);
                    handle(from, datagram, &mut self.tap);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(count),
                // an ICMP port unreachable from an earlier send; nothing to read
                Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionRefused | io::ErrorKind::Interrupted) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends the waiting datagrams and the held ones that are due, if any;
    /// `false` while the buffer is still full.
    pub(crate) fn send_pending(&mut self) -> io::Result<bool> {
        if !self.flush()? {
            return Ok(false);
        }
        self.release_due()
    }

    /// Where the core writes the next datagram (behind those not sent yet).
    pub(crate) fn room(&mut self) -> &mut [u8] {
        let start = self.outbox.fill();
        self.tx.get_mut(start..start + self.max_datagram).unwrap_or_default()
    }

    /// Where in `tx` the datagram of `n` bytes just written to [`UdpIo::room`] is.
    pub(crate) fn written(&self, n: usize) -> std::ops::Range<usize> {
        self.outbox.fill()..self.outbox.fill() + n
    }

    /// Whether datagrams ready together wait to go out in one call per run.
    fn batching(&self) -> bool {
        gso::AVAILABLE && !self.gso_refused && self.impairment.is_none()
    }

    /// Takes the datagram of `n` bytes just written to [`UdpIo::room`] for
    /// `to`: sent now (through the impairment), or when batching, with the
    /// next ones at [`UdpIo::flush`] (or now, once `tx` is full). `false`
    /// when the send buffer is full (the datagrams are kept and go first
    /// next time).
    pub(crate) fn queue(&mut self, to: SocketAddr, n: usize) -> io::Result<bool> {
        if self.impairment.is_some() {
            return self.send_impaired(to, n);
        }
        let batching = self.batching();
        self.outbox.push(to, n, batching);
        if batching && self.outbox.fill() + self.max_datagram <= self.tx.len() {
            return Ok(true);
        }
        self.flush()
    }

    /// Sends the datagram of `n` bytes just written, through the impairment
    /// (nothing else waits then: each datagram is sent or held as it comes).
    fn send_impaired(&mut self, to: SocketAddr, n: usize) -> io::Result<bool> {
        let range = self.written(n);
        let Some(imp) = &mut self.impairment else { return Ok(true) };
        let Some(datagram) = self.tx.get(range) else { return Ok(true) };
        if imp.drop_next() {
            self.tap.injected(Direction::Out, Injected::Lost, datagram);
            return Ok(true);
        }
        let twice = imp.duplicate_next();
        if twice {
            self.tap.injected(Direction::Out, Injected::Duplicated, datagram);
        }
        let copies = 1 + usize::from(twice);
        if !imp.holds_back() {
            for _ in 0..copies {
                self.outbox.push(to, n, false);
                if !self.flush()? {
                    return Ok(false);
                }
            }
            return Ok(true);
        }
        for _ in 0..copies {
            let mut due = Instant::now() + imp.delay_next();
            if imp.reorder_next() {
                due += imp.reorder_hold();
                self.tap.injected(Direction::Out, Injected::Reordered, datagram);
            }
            let at = self.held.partition_point(|h| h.due <= due);
            self.held.insert(at, Held { due, to, datagram: datagram.to_vec() });
        }
        self.release_due()
    }

    /// Sends the held datagrams that are due; `false` when the send buffer is full.
    fn release_due(&mut self) -> io::Result<bool> {
        let now = Instant::now();
        while let Some(first) = self.held.front().filter(|h| h.due <= now) {
            match Self::send_datagram(&self.socket, self.peer, &first.datagram, first.to) {
                Ok(_) => self.tap.datagram(Direction::Out, self.local, first.to, &first.datagram),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionRefused | io::ErrorKind::Interrupted) => {}
                Err(e) => return Err(e),
            }
            self.held.pop_front();
        }
        Ok(true)
    }

    /// Sends every datagram waiting in `tx`, one call per run; `false` when
    /// the send buffer is full (the rest is kept and goes first next time).
    pub(crate) fn flush(&mut self) -> io::Result<bool> {
        while let Some(run) = self.outbox.front() {
            if run.count > 1 && self.gso_refused {
                self.outbox.split_front();
                continue;
            }
            // the kernel cuts a run at the socket's segment length, and a
            // single datagram longer than that too
            let segment = if run.count > 1 {
                run.segment
            } else if run.len > self.segment {
                0
            } else {
                self.segment
            };
            if segment != self.segment {
                match gso::set_segment(&self.socket, segment) {
                    Ok(()) => self.segment = segment,
                    Err(_) if segment != 0 => {
                        self.refuse_gso();
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            let datagrams = self.tx.get(run.start..run.start + run.len).unwrap_or_default();
            self.sends += 1;
            match Self::send_datagram(&self.socket, self.peer, datagrams, run.to) {
                Ok(_) => {
                    for datagram in datagrams.chunks(run.segment.max(1)) {
                        self.tap.datagram(Direction::Out, self.local, run.to, datagram);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                // the peer's port is closed (ICMP) or the call was interrupted: the
                // datagrams are gone like lost ones, and the protocol recovers
                Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionRefused | io::ErrorKind::Interrupted) => {}
                // with a segment length set the kernel may refuse what it would
                // send without (no checksum offload, a run above the path MTU)
                Err(_) if self.segment != 0 && !self.gso_refused => {
                    self.refuse_gso();
                    continue;
                }
                Err(e) => return Err(e),
            }
            self.outbox.pop();
        }
        Ok(true)
    }

    /// Sends every datagram on its own from now on, the waiting run too.
    fn refuse_gso(&mut self) {
        self.gso_refused = true;
        if self.segment != 0 && gso::set_segment(&self.socket, 0).is_ok() {
            self.segment = 0;
        }
        self.outbox.split_front();
    }

    /// How long until the first held datagram is due, if one is held.
    fn next_release(&self) -> Option<Duration> {
        self.held.front().map(|h| h.due.saturating_duration_since(Instant::now()))
    }

    /// Waits at most `timeout` until a datagram arrives, or, while one is
    /// blocked, until the send buffer has room; returns whether there is
    /// something to read.
    pub(crate) fn wait(&self, timeout: Duration) -> io::Result<bool> {
        let timeout = self.next_release().map_or(timeout, |r| timeout.min(r.max(Duration::from_micros(100))));
        let mut flags = PollFlags::IN;
        if !self.outbox.is_empty() {
            flags |= PollFlags::OUT;
        }
        let mut fds = [PollFd::new(&self.socket, flags)];
        readiness::wait(&mut fds, timeout)?;
        Ok(fds.iter().any(|fd| readiness::readable(fd.revents())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `datagram` where the core would and queues it for `to`.
    fn queue(io: &mut UdpIo, to: SocketAddr, datagram: &[u8]) -> bool {
        io.room()[..datagram.len()].copy_from_slice(datagram);
        io.queue(to, datagram.len()).unwrap()
    }

    fn received(socket: &UdpSocket) -> Vec<Vec<u8>> {
        socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let mut buf = [0u8; 2048];
        let mut got = Vec::new();
        while let Ok(n) = socket.recv(&mut buf) {
            got.push(buf[..n].to_vec());
        }
        got
    }

    #[test]
    fn datagrams_ready_together_leave_in_one_call_and_arrive_one_by_one() {
        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = peer.local_addr().unwrap();
        let mut io = UdpIo::new(UdpSocket::bind("127.0.0.1:0").unwrap(), 1209, None).unwrap();
        // five full ones and a shorter last one: one run
        let datagrams: Vec<Vec<u8>> = (0..6u8).map(|i| vec![i; if i < 5 { 1209 } else { 300 }]).collect();
        for d in &datagrams {
            assert!(queue(&mut io, to, d), "nothing waits for the socket yet");
        }
        assert!(io.flush().unwrap());
        assert_eq!(received(&peer), datagrams, "each arrives whole, in order");
        let calls = if gso::AVAILABLE { 1 } else { 6 };
        assert_eq!(io.sends, calls);
    }

    #[test]
    fn a_longer_datagram_or_another_address_starts_a_new_call() {
        let (a, b) = (UdpSocket::bind("127.0.0.1:0").unwrap(), UdpSocket::bind("127.0.0.1:0").unwrap());
        let mut io = UdpIo::new(UdpSocket::bind("127.0.0.1:0").unwrap(), 1209, None).unwrap();
        let to_a = [vec![1u8; 500], vec![2u8; 500], vec![3u8; 900], vec![4u8; 900]];
        for d in &to_a {
            queue(&mut io, a.local_addr().unwrap(), d);
        }
        queue(&mut io, b.local_addr().unwrap(), &[5u8; 900]);
        assert!(io.flush().unwrap());
        assert_eq!(received(&a), to_a, "the longer ones are not cut to the first one's length");
        assert_eq!(received(&b), [vec![5u8; 900]]);
        assert_eq!(io.sends, if gso::AVAILABLE { 3 } else { 5 });
        // a single datagram longer than the last run's segment is not cut either
        queue(&mut io, a.local_addr().unwrap(), &[6u8; 1209]);
        assert!(io.flush().unwrap());
        let lengths: Vec<usize> = received(&a).iter().map(Vec::len).collect();
        assert_eq!(lengths, [1209]);
    }

    #[test]
    fn with_an_impairment_every_datagram_goes_on_its_own() {
        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = peer.local_addr().unwrap();
        let mut io = UdpIo::new(UdpSocket::bind("127.0.0.1:0").unwrap(), 1209, Some(Impairment::loss(0.0, 1))).unwrap();
        for i in 0..3u8 {
            queue(&mut io, to, &[i; 1209]);
        }
        assert!(io.flush().unwrap());
        assert_eq!(received(&peer).len(), 3);
        assert_eq!(io.sends, 3);
    }

    /// A kernel that refuses to cut a run apart (here: UDP checksums
    /// switched off, which segmentation needs) gets every datagram on its own.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_run_the_kernel_refuses_is_sent_datagram_by_datagram_from_then_on() {
        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = peer.local_addr().unwrap();
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        gso::set_int_option(&socket, libc::SOL_SOCKET, libc::SO_NO_CHECK, 1).unwrap();
        let mut io = UdpIo::new(socket, 1209, None).unwrap();
        let datagrams: Vec<Vec<u8>> = (0..3u8).map(|i| vec![i; 1000]).collect();
        for d in &datagrams {
            queue(&mut io, to, d);
        }
        assert!(io.flush().unwrap());
        assert_eq!(received(&peer), datagrams);
        assert!(io.gso_refused);
        assert_eq!(io.sends, 4, "the refused run, then each datagram");
        for d in &datagrams {
            queue(&mut io, to, d);
        }
        assert!(io.flush().unwrap());
        assert_eq!(received(&peer), datagrams);
        assert_eq!(io.sends, 7, "no run is tried again");
    }
}

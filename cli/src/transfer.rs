//! File transfer over seqlink: the sender's file as messages of type
//! [`FILE_CHUNK`], then a [`FILE_END`] with the length and an FNV-1a digest;
//! the receiver answers [`FILE_DONE`] (status 0: whole) and both close.
//! Against `seqlink echo` the sender gets its own messages back and checks
//! them the same way.

use crate::peers::{Client, Server};
use indicatif::ProgressBar;
use seqlink_core::{PacketType, Stats};
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

/// A piece of the file.
pub const FILE_CHUNK: PacketType = PacketType(100);
/// The end: length (u64) and digest (u64), big-endian.
pub const FILE_END: PacketType = PacketType(101);
/// The receiver's verdict: one status byte ([`STATUS_WHOLE`] or [`STATUS_DAMAGED`]).
pub const FILE_DONE: PacketType = PacketType(102);
/// The file arrived whole.
pub const STATUS_WHOLE: u8 = 0;
/// Its length or digest differ.
pub const STATUS_DAMAGED: u8 = 1;

/// How long the sender waits for the receiver's verdict after the end.
const VERDICT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a graceful close may take.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);
/// One wait of the loops that also read what arrives.
const POLL: Duration = Duration::from_millis(5);

/// FNV-1a, 64-bit: the end-to-end digest of a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest(u64);

impl Digest {
    /// The digest of nothing.
    pub fn new() -> Digest {
        Digest(0xcbf2_9ce4_8422_2325)
    }

    /// Adds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// The value.
    pub fn value(&self) -> u64 {
        self.0
    }
}

impl Default for Digest {
    fn default() -> Digest {
        Digest::new()
    }
}

/// What a [`FILE_END`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct End {
    /// Bytes in the file.
    pub bytes: u64,
    /// Their digest.
    pub digest: u64,
}

impl End {
    /// The payload.
    pub fn encode(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.bytes.to_be_bytes());
        out[8..].copy_from_slice(&self.digest.to_be_bytes());
        out
    }

    /// Parses a payload; `None` unless exactly 16 bytes.
    pub fn decode(payload: &[u8]) -> Option<End> {
        let (bytes, digest) = payload.split_at_checked(8)?;
        Some(End {
            bytes: u64::from_be_bytes(bytes.try_into().ok()?),
            digest: u64::from_be_bytes(digest.try_into().ok()?),
        })
    }
}

/// How a sent file was confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The receiver has it whole.
    Whole,
    /// The receiver says its copy differs.
    Damaged,
    /// An echo server returned it, identical.
    Echoed,
    /// An echo server returned something else.
    EchoDiffers,
}

/// What the sender did.
#[derive(Debug, Clone, Copy)]
pub struct Sent {
    /// Bytes of the file.
    pub bytes: u64,
    /// How it was confirmed.
    pub verdict: Verdict,
    /// From the first byte to the verdict.
    pub elapsed: Duration,
}

/// Reads into `buf` until it is full or the input ends; returns the bytes read.
fn read_full(input: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// What the sender hears back: the receiver's verdict, or its own messages from an echo server.
#[derive(Debug, Default)]
struct Replies {
    echoed: Digest,
    echoed_bytes: u64,
    verdict: Option<Verdict>,
}

impl Replies {
    fn take(&mut self, ptype: PacketType, data: &[u8], sent: Option<End>) {
        match ptype {
            FILE_CHUNK => {
                self.echoed.update(data);
                self.echoed_bytes += data.len() as u64;
            }
            FILE_DONE => {
                let whole = data.first() == Some(&STATUS_WHOLE);
                self.verdict = Some(if whole { Verdict::Whole } else { Verdict::Damaged });
            }
            FILE_END => {
                let mine = End { bytes: self.echoed_bytes, digest: self.echoed.value() };
                let same = End::decode(data) == sent && sent == Some(mine);
                self.verdict = Some(if same { Verdict::Echoed } else { Verdict::EchoDiffers });
            }
            _ => {}
        }
    }
}

/// Sends everything `input` holds over `client`, then waits for the
/// verdict and closes. Messages are `chunk` bytes (one packet each when
/// `chunk` is the agreed maximum payload).
pub fn send_file(
    client: &mut dyn Client,
    input: &mut dyn Read,
    chunk: usize,
    progress: &ProgressBar,
) -> io::Result<Sent> {
    let started = Instant::now();
    let mut buf = vec![0u8; chunk.max(1)];
    let (mut digest, mut bytes) = (Digest::new(), 0u64);
    let mut replies = Replies::default();
    loop {
        let n = read_full(input, &mut buf)?;
        if n == 0 {
            break;
        }
        let data = &buf[..n];
        digest.update(data);
        bytes += n as u64;
        // read while the window is full: an echo server's replies need room too
        while client.connection().link().send_capacity() == 0 && client.connection().is_established() {
            if let Some(m) = client.recv(Some(POLL))? {
                replies.take(m.ptype, &m.data, None);
            }
        }
        client.send(FILE_CHUNK, data)?;
        progress.inc(n as u64);
        while let Some(m) = client.recv(Some(Duration::ZERO))? {
            replies.take(m.ptype, &m.data, None);
        }
    }
    let end = End { bytes, digest: digest.value() };
    client.send(FILE_END, &end.encode())?;
    let deadline = Instant::now() + VERDICT_TIMEOUT;
    while replies.verdict.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no answer from the receiver after the end of the file",
            ));
        }
        match client.recv(Some(left.min(Duration::from_millis(100))))? {
            Some(m) => replies.take(m.ptype, &m.data, Some(end)),
            None if client.connection().is_closed() || !client.connection().is_established() => {
                return Err(io::Error::new(io::ErrorKind::ConnectionAborted, "the receiver closed without an answer"));
            }
            None => {}
        }
    }
    let elapsed = started.elapsed();
    client.close(CLOSE_TIMEOUT)?;
    progress.finish_and_clear();
    Ok(Sent { bytes, verdict: replies.verdict.unwrap_or(Verdict::Damaged), elapsed })
}

/// What the receiver got.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    /// Bytes written out.
    pub bytes: u64,
    /// Whether the end arrived and length and digest match.
    pub whole: bool,
    /// The connection's last statistics.
    pub stats: Stats,
    /// From the connection to the end of the file.
    pub elapsed: Duration,
}

/// Receives one file from `peer` into `out`, answers the verdict, and waits
/// for the close. An error when the sender goes away before the end.
pub fn receive_file<S: Server>(
    server: &mut S,
    peer: S::Peer,
    out: &mut dyn Write,
    progress: &ProgressBar,
) -> io::Result<Received> {
    let started = Instant::now();
    let (mut digest, mut bytes) = (Digest::new(), 0u64);
    let mut stats = Stats::default();
    let mut whole = None;
    let mut elapsed = Duration::ZERO;
    loop {
        if let Some((from, m)) = server.recv(Some(Duration::from_millis(50)))? {
            if from == peer && whole.is_none() {
                match m.ptype {
                    FILE_CHUNK => {
                        out.write_all(&m.data)?;
                        digest.update(&m.data);
                        bytes += m.data.len() as u64;
                        progress.inc(m.data.len() as u64);
                    }
                    FILE_END => {
                        out.flush()?;
                        let ok = End::decode(&m.data) == Some(End { bytes, digest: digest.value() });
                        let status = if ok { STATUS_WHOLE } else { STATUS_DAMAGED };
                        // a seed 000 sender does not wait for the verdict and may be gone
                        let _ = server.send(peer, FILE_DONE, &[status]);
                        let _ = server.close(peer);
                        whole = Some(ok);
                        elapsed = started.elapsed();
                    }
                    _ => {}
                }
            }
        }
        stats = server.stats(peer).unwrap_or(stats);
        if !server.is_open(peer) {
            break;
        }
    }
    progress.finish_and_clear();
    // let the last acknowledgements of the close go out
    server.serve_for(Duration::from_millis(100))?;
    match whole {
        Some(whole) => Ok(Received { bytes, whole, stats, elapsed }),
        None => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the sender went away before the end of the file")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_round_trips_and_rejects_other_lengths() {
        let end = End { bytes: 10_000_000, digest: 0x0123_4567_89ab_cdef };
        assert_eq!(End::decode(&end.encode()), Some(end));
        assert_eq!(End::decode(&end.encode()[..15]), None);
    }

    #[test]
    fn the_digest_is_fnv1a() {
        let mut d = Digest::new();
        d.update(b"a");
        assert_eq!(d.value(), 0xaf63_dc4c_8601_ec8c);
    }
}

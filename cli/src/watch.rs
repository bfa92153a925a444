//! What the CLI watches a UDP driver for: `--trace` lines on stderr and
//! `--pcap` records. Trace lines come from the core's per-packet records
//! (SEND, RECV, RETX, DUP, CORRUPT, DROP), with the acknowledgement read
//! from the datagram itself, and from the impairments the driver injected
//! (marked `injected`).

use crate::capture::Capture;
use crate::decode::{type_name, Decoder};
use seqlink_core::{PacketType, TraceEvent};
use seqlink_std::{Direction, Injected, Observer};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A capture shared by the observers that write to it.
pub type SharedCapture = Arc<Mutex<Capture>>;

/// One side's observer.
pub struct Watch {
    side: &'static str,
    start: Instant,
    trace: bool,
    capture: Option<SharedCapture>,
}

impl Watch {
    /// Watches the side named `side` (in trace lines), with times since `start`.
    pub fn new(side: &'static str, start: Instant, trace: bool, capture: Option<SharedCapture>) -> Watch {
        Watch { side, start, trace, capture }
    }

    /// Whether it has anything to do.
    pub fn is_active(&self) -> bool {
        self.trace || self.capture.is_some()
    }

    fn line(&self, label: &str, datagram: &[u8], note: &str) {
        let ms = self.start.elapsed().as_secs_f64() * 1000.0;
        // one line per packet of a coalesced datagram
        let packets = Decoder::new().decode_datagram(datagram);
        let mut err = std::io::stderr().lock();
        if packets.is_empty() {
            let line = trace_line(ms, self.side, label, "?", "-", "?", 0, datagram.len(), note);
            let _ = writeln!(err, "{line}");
        }
        for d in &packets {
            let ack = d.ack().map_or("-".to_string(), |a| a.to_string());
            let line = trace_line(
                ms,
                self.side,
                label,
                &d.seq.to_string(),
                &ack,
                &type_name(d.ptype),
                d.len,
                d.wire_len,
                note,
            );
            let _ = writeln!(err, "{line}");
        }
    }
}

/// Whether `datagram` is a SYN, SYN_ACK or HANDSHAKE_ACK.
fn is_handshake(datagram: &[u8]) -> bool {
    datagram.get(4).is_some_and(|&t| (PacketType::SYN.0..=PacketType::HANDSHAKE_ACK.0).contains(&t))
}

/// One trace line: time, side, event, seq, ack, type, payload and wire lengths, note.
#[allow(clippy::too_many_arguments)]
fn trace_line(
    ms: f64,
    side: &str,
    label: &str,
    seq: &str,
    ack: &str,
    ptype: &str,
    len: u16,
    wire: usize,
    note: &str,
) -> String {
    let line = format!("{ms:10.3} {side:<8} {label:<7} seq={seq} ack={ack} type={ptype} len={len} wire={wire}");
    if note.is_empty() {
        line
    } else {
        format!("{line} ({note})")
    }
}

impl Observer for Watch {
    fn datagram(&mut self, direction: Direction, local: SocketAddr, peer: SocketAddr, datagram: &[u8]) {
        if self.trace && is_handshake(datagram) {
            // the core's trace records start with the link, after the handshake
            self.line(if direction == Direction::Out { "SEND" } else { "RECV" }, datagram, "");
        }
        let Some(capture) = &self.capture else { return };
        let written = match capture.lock() {
            Ok(mut c) => c.record(direction, local, peer, datagram),
            Err(_) => Ok(()),
        };
        if let Err(e) = written {
            eprintln!("seqlink: --pcap: {e}");
            self.capture = None;
        }
    }

    fn injected(&mut self, direction: Direction, what: Injected, datagram: &[u8]) {
        if !self.trace {
            return;
        }
        let way = if direction == Direction::Out { "sending" } else { "receiving" };
        let (label, note) = match what {
            Injected::Lost => ("DROP", format!("injected loss {way}")),
            Injected::Duplicated => ("DUP", "injected duplicate".to_string()),
            Injected::Corrupted => ("CORRUPT", "injected bit flip".to_string()),
            Injected::Reordered => ("REORDER", "injected: held back".to_string()),
        };
        self.line(label, datagram, &note);
    }

    fn trace(&mut self, event: &TraceEvent, datagram: &[u8]) {
        if self.trace {
            let note = match event.kind {
                seqlink_core::TraceKind::Corrupt => "detected",
                seqlink_core::TraceKind::Duplicate => "already had it",
                seqlink_core::TraceKind::Dropped => "dropped by the receiver",
                _ => "",
            };
            self.line(event.kind.label(), datagram, note);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_line_names_seq_ack_type_and_length() {
        let line = trace_line(12.5, "sender", "RETX", "7", "3", "DATA", 1200, 1209, "");
        assert_eq!(line, "    12.500 sender   RETX    seq=7 ack=3 type=DATA len=1200 wire=1209");
        assert!(trace_line(0.0, "receiver", "DROP", "1", "-", "ACK", 4, 13, "injected loss sending")
            .ends_with("(injected loss sending)"));
    }
}

//! The basic profile: seed 000 exactly, for peers that speak only it.
//!
//! No handshake, no connection id, no retransmission: every packet, ACK and
//! NACK included, carries the next sequence number of its sender, starting
//! at 0. The receiver expects them in order; corrupt packets are discarded
//! and counted, and out-of-order packets are discarded (and, with
//! [`OutOfOrder::Nack`], answered with a NACK naming the expected number), as
//! seed 000's error-handling policy describes. ACKs are optional. Over TCP,
//! use it with [`crate::framing::StreamDecoder`].
//!
//! ```
//! use seqlink_core::basic::{BasicConfig, BasicSession, Outcome};
//! use seqlink_core::PacketType;
//!
//! let mut client = BasicSession::new(BasicConfig::default());
//! let mut server = BasicSession::new(BasicConfig::default());
//! let mut wire = [0u8; 64];
//! let n = client.encode(PacketType::CMD_FIRE, b"B5", &mut wire).unwrap();
//! match server.receive(seqlink_core::PacketRepr::decode(&wire[..n], server.codec())) {
//!     Outcome::Deliver(packet) => assert_eq!(packet.payload, b"B5"),
//!     other => panic!("{other:?}"),
//! }
//! assert_eq!(server.stats().successfully_processed_packets, 1);
//! ```

use crate::error::Error;
use crate::seq::Seq;
use crate::wire::{Codec, PacketRepr, PacketType};

/// What to do with an out-of-order packet (seed 000 section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum OutOfOrder {
    /// Discard and count it.
    #[default]
    Discard,
    /// Discard it, count it, and send a NACK for the expected sequence number.
    Nack,
}

/// Settings of the basic profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BasicConfig {
    /// Packet checks and limits (seed 000's by default).
    pub codec: Codec,
    /// Out-of-order policy.
    pub out_of_order: OutOfOrder,
    /// Acknowledge every packet processed with an ACK carrying its sequence number.
    pub acks: bool,
}

impl Default for BasicConfig {
    fn default() -> BasicConfig {
        BasicConfig { codec: Codec::new(), out_of_order: OutOfOrder::Discard, acks: false }
    }
}

/// Seed 000 section 5's statistics, plus what this side sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(C)]
pub struct BasicStats {
    /// Every packet (or damaged packet) received.
    pub packets_received_raw: u64,
    /// Packets that failed their checksum or length checks (discarded).
    pub detected_corruptions: u64,
    /// Valid packets with the expected sequence number.
    pub successfully_processed_packets: u64,
    /// Valid packets with another sequence number (discarded).
    pub out_of_sequence_packets: u64,
    /// Packets this side sent (NACKs and ACKs included).
    pub packets_sent: u64,
    /// ACKs received.
    pub acks_received: u64,
    /// NACKs received.
    pub nacks_received: u64,
}

/// What [`BasicSession::receive`] made of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// The next packet in order: the application's.
    Deliver(PacketRepr<'a>),
    /// An ACK or NACK in order: its sequence number argument.
    Control {
        /// ACK or NACK.
        ptype: PacketType,
        /// The sequence number it names.
        seq: Seq,
    },
    /// Damaged: discarded.
    Corrupt(Error),
    /// Not the expected sequence number: discarded.
    OutOfSequence {
        /// What was expected.
        expected: Seq,
        /// What came.
        got: Seq,
    },
}

/// One side of a seed 000 conversation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BasicSession {
    config: BasicConfig,
    next_send: Seq,
    expected: Seq,
    /// Control packets to send: (type, sequence number named).
    pending: [Option<(PacketType, Seq)>; 8],
    stats: BasicStats,
}

impl BasicSession {
    /// A session whose sequence numbers start at 0 both ways.
    pub const fn new(config: BasicConfig) -> BasicSession {
        BasicSession { config, next_send: Seq(0), expected: Seq(0), pending: [None; 8], stats: NO_STATS }
    }

    /// The codec packets are checked with.
    pub fn codec(&self) -> &Codec {
        &self.config.codec
    }

    /// The statistics so far.
    pub fn stats(&self) -> BasicStats {
        self.stats
    }

    /// The sequence number the next received packet must carry.
    pub fn expected(&self) -> Seq {
        self.expected
    }

    /// Writes the next packet (the next sequence number) into `out`.
    pub fn encode(&mut self, ptype: PacketType, payload: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let n = PacketRepr::new(self.next_send, ptype, payload).emit(out, &self.config.codec)?;
        self.next_send = self.next_send.next();
        self.stats.packets_sent += 1;
        Ok(n)
    }

    /// Judges one received packet, as a decoder returned it.
    pub fn receive<'a>(&mut self, packet: Result<PacketRepr<'a>, Error>) -> Outcome<'a> {
        self.stats.packets_received_raw += 1;
        let packet = match packet {
            Ok(p) => p,
            Err(e) => {
                self.stats.detected_corruptions += 1;
                if self.config.out_of_order == OutOfOrder::Nack {
                    self.queue(PacketType::NACK, self.expected);
                }
                return Outcome::Corrupt(e);
            }
        };
        if packet.seq != self.expected {
            self.stats.out_of_sequence_packets += 1;
            if self.config.out_of_order == OutOfOrder::Nack {
                self.queue(PacketType::NACK, self.expected);
            }
            return Outcome::OutOfSequence { expected: self.expected, got: packet.seq };
        }
        self.expected = self.expected.next();
        self.stats.successfully_processed_packets += 1;
        match packet.ptype {
            PacketType::ACK | PacketType::NACK => {
                let named = match *packet.payload {
                    [a, b, c, d] => Seq(u32::from_be_bytes([a, b, c, d])),
                    _ => Seq(0),
                };
                if packet.ptype == PacketType::ACK {
                    self.stats.acks_received += 1;
                } else {
                    self.stats.nacks_received += 1;
                }
                Outcome::Control { ptype: packet.ptype, seq: named }
            }
            _ => {
                if self.config.acks {
                    self.queue(PacketType::ACK, packet.seq);
                }
                Outcome::Deliver(packet)
            }
        }
    }

    fn queue(&mut self, ptype: PacketType, seq: Seq) {
        if let Some(slot) = self.pending.iter_mut().find(|p| p.is_none()) {
            *slot = Some((ptype, seq));
        }
    }

    /// Writes the next ACK or NACK to send, if any.
    pub fn poll_control(&mut self, out: &mut [u8]) -> Result<Option<usize>, Error> {
        let Some((ptype, seq)) = self.pending.first_mut().and_then(Option::take) else {
            return Ok(None);
        };
        self.pending.rotate_left(1);
        self.encode(ptype, &seq.0.to_be_bytes(), out).map(Some)
    }
}

const NO_STATS: BasicStats = BasicStats {
    packets_received_raw: 0,
    detected_corruptions: 0,
    successfully_processed_packets: 0,
    out_of_sequence_packets: 0,
    packets_sent: 0,
    acks_received: 0,
    nacks_received: 0,
};

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::framing::StreamDecoder;

    #[test]
    fn a_stream_with_a_corrupt_and_a_missing_packet() {
        let mut client = BasicSession::new(BasicConfig::default());
        let mut server =
            BasicSession::new(BasicConfig { out_of_order: OutOfOrder::Nack, acks: true, ..BasicConfig::default() });
        let mut wire = [0u8; 256];
        let mut n = 0;
        let mut ends = [0usize; 5];
        for (i, (ptype, payload)) in [
            (PacketType::CMD_PLACE, &b"R"[..]),
            (PacketType::CMD_FIRE, b"A1"),
            (PacketType::CMD_FIRE, b"B5"),
            (PacketType::CMD_FIRE, b"C3"),
            (PacketType::CMD_QUIT, b""),
        ]
        .into_iter()
        .enumerate()
        {
            n += client.encode(ptype, payload, &mut wire[n..]).unwrap();
            ends[i] = n;
        }
        wire[ends[0] + 9] ^= 0x01; // corrupt "A1"
        let mut decoder = StreamDecoder::new([0u8; 64], Codec::new().with_max_payload(55)).unwrap();
        let mut input = &wire[..n];
        let mut delivered = 0;
        let mut outcomes = [0u8; 5];
        let mut i = 0;
        while let Some(result) = decoder.decode(&mut input) {
            outcomes[i] = match server.receive(result) {
                Outcome::Deliver(_) => {
                    delivered += 1;
                    b'D'
                }
                Outcome::Corrupt(_) => b'C',
                Outcome::OutOfSequence { expected, .. } => {
                    assert_eq!(expected, Seq(1));
                    b'O'
                }
                Outcome::Control { .. } => b'X',
            };
            i += 1;
        }
        // seed 000's simple policy: after the corrupt packet, everything is out of sequence
        assert_eq!(&outcomes, b"DCOOO");
        assert_eq!(delivered, 1);
        let s = server.stats();
        assert_eq!(
            (
                s.packets_received_raw,
                s.detected_corruptions,
                s.successfully_processed_packets,
                s.out_of_sequence_packets
            ),
            (5, 1, 1, 3)
        );
        // an ACK for packet 0, then NACKs for packet 1
        let mut out = [0u8; 32];
        let k = server.poll_control(&mut out).unwrap().unwrap();
        let ack = PacketRepr::decode(&out[..k], &Codec::new()).unwrap();
        assert_eq!((ack.seq, ack.ptype, ack.payload), (Seq(0), PacketType::ACK, &[0, 0, 0, 0][..]));
        let k = server.poll_control(&mut out).unwrap().unwrap();
        let nack = PacketRepr::decode(&out[..k], &Codec::new()).unwrap();
        assert_eq!((nack.seq, nack.ptype, nack.payload), (Seq(1), PacketType::NACK, &[0, 0, 0, 1][..]));
    }
}

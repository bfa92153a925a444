//! The command line: commands, their options, and the parsers of
//! probabilities (`0.1` or `10%`), delays (`20±5`, `20+-5`) and sizes (`4MiB`).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::IpAddr;
use std::path::PathBuf;

/// seqlink: reliable, checksummed, sequenced packets over UDP or TCP.
#[derive(Debug, Parser)]
#[command(name = "seqlink", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send FILE (or stdin) to `seqlink recv`; exits 0 once every byte is acknowledged.
    Send {
        /// The receiver (or echo server).
        #[arg(value_name = "HOST:PORT")]
        addr: String,
        /// The file to send; stdin when absent or `-`.
        file: Option<PathBuf>,
        /// Common options.
        #[command(flatten)]
        net: NetOpts,
    },
    /// Receive one file on PORT, write it to FILE (or stdout); exits 0 when it arrived whole.
    Recv {
        /// The address to listen on.
        #[arg(long, default_value = "0.0.0.0")]
        bind: IpAddr,
        /// The port to listen on.
        port: u16,
        /// Where to write the file; stdout when absent or `-`.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Give up if no sender connects within this many seconds (default: wait forever).
        #[arg(long, value_name = "SECS")]
        wait: Option<u64>,
        /// Common options.
        #[command(flatten)]
        net: NetOpts,
    },
    /// Echo every message back, to any number of clients, until interrupted.
    Echo {
        /// The address to listen on.
        #[arg(long, default_value = "0.0.0.0")]
        bind: IpAddr,
        /// The port to listen on.
        port: u16,
        /// Exit after the first client's connection ends.
        #[arg(long)]
        once: bool,
        /// Common options.
        #[command(flatten)]
        net: NetOpts,
    },
    /// A sender and a receiver on loopback through injected impairments:
    /// live progress, then both sides' statistics. Without impairment flags:
    /// --loss 5% --dup 1% --reorder 2% --corrupt 1% --delay 2.
    Demo {
        /// Bytes to transfer (suffixes k, M, KiB, MiB).
        #[arg(long, default_value = "8MiB", value_parser = parse_size)]
        size: u64,
        /// Common options.
        #[command(flatten)]
        net: NetOpts,
    },
    /// Decode captured packets: a pcap, a hex dump (one packet per line) or raw packets back to back.
    Inspect {
        /// The input file, or `-` for stdin.
        input: String,
        /// How to read the input.
        #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
        format: InputFormat,
        /// One JSON object per packet instead of a readable line.
        #[arg(long)]
        json: bool,
    },
}

/// What `inspect` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// A pcap by its magic number, else a hex dump if the input is hex digits, else raw packets.
    Auto,
    /// A pcap file (IPv4, raw IP, Ethernet, BSD loopback or Linux cooked link types).
    Pcap,
    /// Hex text, one packet per line (spaces and colons ignored, `#` starts a comment).
    Hex,
    /// Packets back to back, each delimited by its length field.
    Raw,
}

/// Options every networking command takes.
#[derive(Debug, Clone, Args)]
pub struct NetOpts {
    /// Impairments.
    #[command(flatten)]
    pub impair: ImpairOpts,
    /// Negotiated parameters.
    #[command(flatten)]
    pub proto: ProtoOpts,
    /// One line per packet event on stderr (SEND, RECV, RETX, DUP, CORRUPT, DROP).
    #[arg(long)]
    pub trace: bool,
    /// Write every datagram this side sent and received to FILE (pcap, UDP over IPv4).
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// Print the final statistics as JSON (on stdout, or on stderr when stdout carries the data).
    #[arg(long)]
    pub json: bool,
    /// Only the listening address and errors: no progress bar, messages or statistics table.
    #[arg(short, long)]
    pub quiet: bool,
    /// Bytes per message when sending (default: the agreed max payload, one
    /// packet each; larger messages go as fragments).
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub message_size: Option<u32>,
    /// Run over TCP (the stream framing; no impairments).
    #[arg(long)]
    pub tcp: bool,
    /// Speak seed 000 exactly over TCP: no handshake, in-order packets (implies --tcp).
    #[arg(long)]
    pub basic: bool,
}

/// Impairments injected by this side (UDP only): loss each way, bit flips
/// on what it receives, duplication, reordering and delay on what it sends.
#[derive(Debug, Clone, Default, Args)]
pub struct ImpairOpts {
    /// Drop this fraction of datagrams each way (`0.1` or `10%`).
    #[arg(long, value_name = "P", value_parser = parse_probability)]
    pub loss: Option<f64>,
    /// Send this fraction of datagrams twice.
    #[arg(long, value_name = "P", value_parser = parse_probability)]
    pub dup: Option<f64>,
    /// Hold this fraction of datagrams back so that later ones overtake them.
    #[arg(long, value_name = "P", value_parser = parse_probability)]
    pub reorder: Option<f64>,
    /// Flip one bit in this fraction of datagrams received.
    #[arg(long, value_name = "P", value_parser = parse_probability)]
    pub corrupt: Option<f64>,
    /// Delay every datagram sent: MS, or MS±JITTER (`20±5` or `20+-5`).
    #[arg(long, value_name = "MS[±JITTER]", value_parser = parse_delay)]
    pub delay: Option<Delay>,
    /// Seed of the impairments' generator (the same seed repeats the same choices).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
}

impl ImpairOpts {
    /// Whether any impairment was asked for.
    pub fn any(&self) -> bool {
        self.loss.is_some()
            || self.dup.is_some()
            || self.reorder.is_some()
            || self.corrupt.is_some()
            || self.delay.is_some()
    }
}

/// A delay with its jitter, milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Delay {
    /// The mean delay.
    pub ms: u32,
    /// How far either way it varies.
    pub jitter_ms: u32,
}

/// The parameters negotiated in the handshake, and this side's timers.
#[derive(Debug, Clone, Args)]
pub struct ProtoOpts {
    /// Largest payload per packet, bytes (64..=65535; the smaller of both sides wins).
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u16).range(64..))]
    pub max_payload: Option<u16>,
    /// Window, packets (1..=256; the smaller of both sides wins).
    #[arg(long, value_name = "PACKETS", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub window: Option<u16>,
    /// Retransmission timer profile.
    #[arg(long, value_enum, default_value_t = RtoProfile::LowLatency)]
    pub rto: RtoProfile,
    /// Congestion control.
    #[arg(long, value_enum, default_value_t = Congestion::LossTolerant)]
    pub cc: Congestion,
    /// Integrity check (CRC-32C is used when both sides support it; never over TCP).
    #[arg(long, value_enum, default_value_t = IntegrityMode::Checksum)]
    pub integrity: IntegrityMode,
    /// Heartbeat interval when idle, milliseconds (0: none; the smaller non-zero value of both sides wins).
    #[arg(long, value_name = "MS")]
    pub heartbeat: Option<u32>,
    /// Fail when the handshake has not completed after this long, milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 5000)]
    pub connect_timeout: u32,
}

/// `--rto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RtoProfile {
    /// 200 ms initial, 30 ms minimum RTO, x1.5 backoff, 5 ms ACK delay.
    LowLatency,
    /// RFC 6298 style: 1 s initial, 100 ms minimum RTO, x2 backoff, 20 ms ACK delay.
    Standard,
}

/// `--cc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Congestion {
    /// Losses shrink the window only when the RTT shows a queue.
    LossTolerant,
    /// Every loss event halves the window.
    Newreno,
    /// Only the windows limit the flight.
    Off,
}

/// `--integrity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IntegrityMode {
    /// The 16-bit Internet checksum of seed 000.
    Checksum,
    /// CRC-32C (asked for in the handshake).
    Crc32c,
}

/// A probability: a fraction in 0..=1 (`0.1`) or a percentage (`10%`).
pub fn parse_probability(s: &str) -> Result<f64, String> {
    let bad = || format!("`{s}` is not a probability: give a fraction such as 0.1 or a percentage such as 10%");
    let value = match s.trim().strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().map_err(|_| bad())? / 100.0,
        None => s.trim().parse::<f64>().map_err(|_| bad())?,
    };
    if !(0.0..=1.0).contains(&value) {
        return Err(format!("`{s}` is outside 0..1 (0%..100%)"));
    }
    Ok(value)
}

/// A delay: `MS`, `MS±JITTER` or `MS+-JITTER`, whole milliseconds.
pub fn parse_delay(s: &str) -> Result<Delay, String> {
    let bad = || format!("`{s}` is not a delay: give milliseconds such as 20, or 20±5 (or 20+-5) with jitter");
    let (ms, jitter) = match s.split_once('±').or_else(|| s.split_once("+-")) {
        Some((ms, jitter)) => (ms, Some(jitter)),
        None => (s, None),
    };
    let ms = ms.trim().parse::<u32>().map_err(|_| bad())?;
    let jitter_ms = jitter.map(|j| j.trim().parse::<u32>()).transpose().map_err(|_| bad())?.unwrap_or(0);
    Ok(Delay { ms, jitter_ms })
}

/// A size in bytes: a number with an optional `k`/`M`/`G` (powers of 1000)
/// or `KiB`/`MiB`/`GiB` (powers of 1024) suffix.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let number: u64 = number.parse().map_err(|_| format!("`{s}` is not a size such as 4MiB, 500k or 1000"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (use k, M, G, KiB, MiB or GiB)")),
    };
    number.checked_mul(scale).ok_or_else(|| format!("`{s}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_as_fractions_or_percentages() {
        assert_eq!(parse_probability("0.1"), Ok(0.1));
        assert_eq!(parse_probability("10%"), Ok(0.1));
        assert_eq!(parse_probability("0"), Ok(0.0));
        assert!(parse_probability("110%").is_err());
        assert!(parse_probability("1.5").is_err());
        assert!(parse_probability("ten").is_err());
    }

    #[test]
    fn delays_with_either_jitter_sign() {
        assert_eq!(parse_delay("20"), Ok(Delay { ms: 20, jitter_ms: 0 }));
        assert_eq!(parse_delay("20±5"), Ok(Delay { ms: 20, jitter_ms: 5 }));
        assert_eq!(parse_delay("20+-5"), Ok(Delay { ms: 20, jitter_ms: 5 }));
        assert!(parse_delay("20±").is_err());
        assert!(parse_delay("-3").is_err());
    }

    #[test]
    fn sizes_with_units() {
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("4MiB"), Ok(4 << 20));
        assert_eq!(parse_size("10M"), Ok(10_000_000));
        assert_eq!(parse_size("500k"), Ok(500_000));
        assert!(parse_size("4 parsecs").is_err());
    }
}

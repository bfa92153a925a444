//! The final statistics (seed 000 section 5: sent, received, retransmitted,
//! corrupt detected, duplicates, out of order; plus goodput and SRTT) as a
//! table or JSON, and the progress bar.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use seqlink_core::Stats;
use serde_json::{json, Value};
use std::io::IsTerminal;
use std::time::Duration;

/// One side's figures at the end of a run.
#[derive(Debug, Clone)]
pub struct Report {
    /// `sender`, `receiver`, `echo`.
    pub side: &'static str,
    /// The link's counters.
    pub stats: Stats,
    /// Application bytes moved (sent or written out).
    pub bytes: u64,
    /// From connected to done.
    pub elapsed: Duration,
}

impl Report {
    /// Application bytes per second.
    pub fn goodput(&self) -> f64 {
        self.bytes as f64 / self.elapsed.as_secs_f64().max(1e-6)
    }

    /// The figures as a JSON object.
    pub fn json(&self) -> Value {
        let s = &self.stats;
        json!({
            "side": self.side,
            "bytes": self.bytes,
            "seconds": self.elapsed.as_secs_f64(),
            "goodput_bytes_per_sec": self.goodput(),
            "packets_sent": s.packets_sent,
            "packets_received": s.packets_received,
            "retransmitted": s.retransmissions,
            "fast_retransmitted": s.fast_retransmissions,
            "timeouts": s.timeouts,
            "corrupt_detected": s.corrupt_packets,
            "duplicates": s.duplicates,
            "out_of_order": s.out_of_order,
            "nacks_sent": s.nacks_sent,
            "nacks_received": s.nacks_received,
            "srtt_ms": s.srtt_ms,
            "rto_ms": s.rto_ms,
        })
    }
}

/// The reports as one JSON document: `{"ok": .., "sides": [..]}`.
pub fn json(ok: bool, reports: &[Report]) -> String {
    json!({ "ok": ok, "sides": reports.iter().map(Report::json).collect::<Vec<_>>() }).to_string()
}

/// The reports side by side as a table.
pub fn table(reports: &[Report]) -> String {
    type Row = (&'static str, fn(&Report) -> String);
    let rows: [Row; 12] = [
        ("packets sent", |r| r.stats.packets_sent.to_string()),
        ("packets received", |r| r.stats.packets_received.to_string()),
        ("retransmitted", |r| r.stats.retransmissions.to_string()),
        ("  fast (SACK/NACK)", |r| r.stats.fast_retransmissions.to_string()),
        ("  timeouts", |r| r.stats.timeouts.to_string()),
        ("corrupt detected", |r| r.stats.corrupt_packets.to_string()),
        ("duplicates", |r| r.stats.duplicates.to_string()),
        ("out of order", |r| r.stats.out_of_order.to_string()),
        ("NACKs sent / received", |r| format!("{} / {}", r.stats.nacks_sent, r.stats.nacks_received)),
        ("bytes", |r| r.bytes.to_string()),
        ("goodput", |r| rate(r.goodput())),
        ("SRTT", |r| format!("{} ms", r.stats.srtt_ms)),
    ];
    let mut out = format!("{:<24}", "");
    for r in reports {
        out.push_str(&format!("{:>16}", r.side));
    }
    out.push('\n');
    for (name, cell) in rows {
        out.push_str(&format!("{name:<24}"));
        for r in reports {
            out.push_str(&format!("{:>16}", cell(r)));
        }
        out.push('\n');
    }
    out
}

/// A rate in bytes per second, readable.
pub fn rate(bytes_per_sec: f64) -> String {
    if bytes_per_sec >= 1e6 {
        format!("{:.2} MB/s", bytes_per_sec / 1e6)
    } else {
        format!("{:.1} kB/s", bytes_per_sec / 1e3)
    }
}

/// A progress bar on stderr with rate and ETA, shown only when stderr is a
/// terminal and `wanted`; `total` bytes when known, else a spinner.
pub fn progress(total: Option<u64>, wanted: bool) -> ProgressBar {
    if !wanted || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bytes} {bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_seed_000_rows_for_each_side() {
        let stats = Stats { packets_sent: 10, retransmissions: 2, srtt_ms: 3, ..Stats::default() };
        let r = Report { side: "sender", stats, bytes: 2_000_000, elapsed: Duration::from_secs(1) };
        let t = table(&[r.clone(), Report { side: "receiver", ..r }]);
        for row in [
            "packets sent",
            "packets received",
            "retransmitted",
            "corrupt detected",
            "duplicates",
            "out of order",
            "goodput",
            "SRTT",
        ] {
            assert!(t.contains(row), "{row} in\n{t}");
        }
        assert!(t.contains("2.00 MB/s") && t.contains("3 ms"), "{t}");
    }
}

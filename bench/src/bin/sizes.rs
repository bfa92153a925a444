//! Prints the memory the core's state takes, beside the storage the caller
//! provides (the firmware target: at most 256 B of connection state).
//!
//! `cargo run --release -p seqlink-bench --bin sizes`

use seqlink_core::basic::BasicSession;
use seqlink_core::connection::{Connection, ConnectionConfig};
use seqlink_core::framing::StreamDecoder;
use seqlink_core::link::{Link, LinkConfig, Stats};
use std::mem::size_of;

fn main() {
    println!("| type | bytes |");
    println!("|---|---:|");
    println!("| `Link<&mut [u8]>` (reliability engine state) | {} |", size_of::<Link<&mut [u8]>>());
    println!("| `Connection<&mut [u8]>` (link + handshake, timers, events) | {} |", size_of::<Connection<&mut [u8]>>());
    println!("| `Stats` (part of the above) | {} |", size_of::<Stats>());
    println!("| `StreamDecoder<&mut [u8]>` | {} |", size_of::<StreamDecoder<&mut [u8]>>());
    println!("| `BasicSession` | {} |", size_of::<BasicSession>());
    println!();
    println!("caller storage (LinkConfig::storage_len):");
    for (window, payload) in [(2u16, 64u16), (4, 256), (8, 512), (32, 1200), (64, 1200)] {
        let mut c = LinkConfig::new().with_window(window).with_max_payload(payload);
        c.unreliable_slots = 0;
        println!("  window {window:>3}, max payload {payload:>5}: {:>7} bytes", c.storage_len());
    }
    let c = ConnectionConfig::new();
    println!(
        "  ConnectionConfig::new() (window {}, payload 1200, 8 unreliable slots): {} bytes",
        c.link.send_window,
        c.link.storage_len()
    );
}

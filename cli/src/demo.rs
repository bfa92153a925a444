//! `seqlink demo`: a sender and a receiver on loopback through injected
//! impairments, with live progress and both sides' statistics.

use crate::args::NetOpts;
use crate::commands::{Failure, Run};
use crate::report::{self, Report};
use crate::settings;
use crate::transfer::{self, Verdict};
use seqlink_core::EndpointConfig;
use seqlink_std::{Impairment, UdpConnection, UdpServer};
use std::io::{self, Read};
use std::net::UdpSocket;
use std::time::Duration;

/// The demo's impairments when none are given.
fn demo_impairments(net: &mut NetOpts) {
    if !net.impair.any() {
        net.impair.loss = Some(0.05);
        net.impair.dup = Some(0.01);
        net.impair.reorder = Some(0.02);
        net.impair.corrupt = Some(0.01);
        net.impair.delay = Some(crate::args::Delay { ms: 2, jitter_ms: 0 });
    }
}

fn describe_impairment(imp: &Impairment, seed: u64) -> String {
    let percent = |p: f64| format!("{:.1}%", p * 100.0).replace(".0%", "%");
    let mut parts = Vec::new();
    if imp.loss > 0.0 {
        parts.push(format!("{} loss each way", percent(imp.loss)));
    }
    if imp.duplicate > 0.0 {
        parts.push(format!("{} duplicated", percent(imp.duplicate)));
    }
    if imp.reorder > 0.0 {
        parts.push(format!("{} reordered", percent(imp.reorder)));
    }
    if imp.corrupt > 0.0 {
        parts.push(format!("{} bit flips", percent(imp.corrupt)));
    }
    match (imp.delay_ms, imp.jitter_ms) {
        (0, 0) => {}
        (d, 0) => parts.push(format!("{d} ms delay")),
        (d, j) => parts.push(format!("{d}±{j} ms delay")),
    }
    format!("{} (seed {seed})", parts.join(", "))
}

/// Pseudo-random bytes, `left` of them: the demo's file.
struct DemoData {
    state: u64,
    left: u64,
}

impl Read for DemoData {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        for b in &mut buf[..n] {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            *b = (self.state >> 24) as u8;
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// `seqlink demo`: a sender and a receiver on loopback through impairments.
pub fn run(size: u64, net: &NetOpts) -> Result<(), Failure> {
    if net.tcp || net.basic {
        return Err(Failure::Usage("the demo runs over UDP (its impairments need datagrams)".into()));
    }
    let mut net = net.clone();
    demo_impairments(&mut net);
    let run = Run::new(&net)?;
    let sender_impairment = settings::impairment(&net.impair, 0);
    let receiver_impairment = settings::impairment(&net.impair, 0x5eed);
    let mut server = UdpServer::bind("127.0.0.1:0", EndpointConfig::new(run.config), 4)?;
    if let Some(imp) = receiver_impairment {
        server = server.with_impairment(imp);
    }
    if let Some(o) = run.observer("receiver", false) {
        server = server.with_observer(o);
    }
    let addr = server.local_addr()?;
    if let Some(imp) = &sender_impairment {
        run.say(&format!("seqlink demo: {size} bytes from a sender to a receiver on {addr}"));
        run.say(&format!("both sides inject {}", describe_impairment(imp, net.impair.seed)));
    }
    let receiver = std::thread::spawn(move || -> io::Result<transfer::Received> {
        let peer = server.accept(Some(Duration::from_secs(10)))?.ok_or(io::ErrorKind::TimedOut)?;
        transfer::receive_file(&mut server, peer, &mut io::sink(), &indicatif::ProgressBar::hidden())
    });
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    let observer = run.observer("sender", true);
    let mut client =
        UdpConnection::connect_observed(socket, addr, run.config, run.connect_timeout(), sender_impairment, observer)?;
    run.connected(&mut client, &addr.to_string());
    let chunk = run.message_size(client.connection().agreement().map(|a| a.params.max_payload));
    let progress = report::progress(Some(size), !net.quiet && !net.trace);
    let mut data = DemoData { state: net.impair.seed | 1, left: size };
    let sent = transfer::send_file(&mut client, &mut data, chunk, &progress)?;
    let sender_stats = client.stats();
    drop(client);
    let got = receiver.join().map_err(|_| Failure::Run("the receiver thread panicked".into()))??;
    let ok = sent.verdict == Verdict::Whole && got.whole && got.bytes == size;
    run.say(&format!(
        "{} bytes sent, {} received {} in {:.2?}: {}",
        sent.bytes,
        got.bytes,
        if got.whole { "whole (length and digest match)" } else { "DAMAGED" },
        sent.elapsed,
        report::rate(sent.bytes as f64 / sent.elapsed.as_secs_f64().max(1e-6))
    ));
    let reports = [
        Report { side: "sender", stats: sender_stats, bytes: sent.bytes, elapsed: sent.elapsed },
        Report { side: "receiver", stats: got.stats, bytes: got.bytes, elapsed: got.elapsed },
    ];
    run.finish(ok, &reports, false)?;
    if ok {
        Ok(())
    } else {
        Err(Failure::Run("the demo's file arrived damaged".into()))
    }
}

//! The networking commands `send`, `recv` and `echo`, and what they share
//! with the demo: options checked, configuration, capture, messages and the
//! final statistics.

use crate::args::NetOpts;
use crate::capture::Capture;
use crate::peers::{Client, Server};
use crate::report::{self, Report};
use crate::settings;
use crate::transfer::{self, Verdict, FILE_CHUNK, FILE_END};
use crate::watch::{SharedCapture, Watch};
use seqlink_core::{BasicConfig, BasicSession, ConnectionConfig, EndpointConfig};
use seqlink_std::{Observer, TcpConnection, TcpServer, UdpConnection, UdpServer};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Why a command failed: a message, and whether it was the user's input (exit 2) or the run (exit 1).
#[derive(Debug)]
pub enum Failure {
    /// Bad arguments or input.
    Usage(String),
    /// The run failed.
    Run(String),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        Failure::Run(describe_io(&e))
    }
}

/// An I/O error with the core's stable code when one rides inside.
fn describe_io(e: &io::Error) -> String {
    if let Some(inner) = e.get_ref() {
        if let Some(reason) = inner.downcast_ref::<seqlink_core::FailReason>() {
            return format!("{e} (code {})", reason.code());
        }
    }
    e.to_string()
}

/// Rooms for peers a server keeps.
const MAX_PEERS: usize = 64;

/// Everything a networking command shares: options, configuration, capture, start time.
pub(crate) struct Run<'a> {
    pub(crate) net: &'a NetOpts,
    pub(crate) config: ConnectionConfig,
    capture: Option<SharedCapture>,
    start: Instant,
}

impl<'a> Run<'a> {
    pub(crate) fn new(net: &'a NetOpts) -> Result<Run<'a>, Failure> {
        settings::check(net).map_err(Failure::Usage)?;
        let capture = match &net.pcap {
            Some(path) => Some(Arc::new(Mutex::new(
                Capture::create(path).map_err(|e| Failure::Usage(format!("--pcap {}: {e}", path.display())))?,
            ))),
            None => None,
        };
        let mut config = settings::connection_config(&net.proto, net.trace);
        if net.tcp || net.basic {
            config.transport = seqlink_core::Transport::Stream;
        }
        Ok(Run { net, config, capture, start: Instant::now() })
    }

    /// Bytes per message: `--message-size`, else one packet's worth.
    pub(crate) fn message_size(&self, max_payload: Option<u16>) -> usize {
        match self.net.message_size {
            Some(n) => n as usize,
            None => usize::from(max_payload.unwrap_or(1200)),
        }
    }

    pub(crate) fn connect_timeout(&self) -> Duration {
        Duration::from_millis(u64::from(self.net.proto.connect_timeout))
    }

    /// The observer of side `side`, if tracing or capturing.
    pub(crate) fn observer(&self, side: &'static str, capture: bool) -> Option<Box<dyn Observer>> {
        let capture = if capture { self.capture.clone() } else { None };
        let watch = Watch::new(side, self.start, self.net.trace, capture);
        watch.is_active().then(|| Box::new(watch) as Box<dyn Observer>)
    }

    pub(crate) fn say(&self, line: &str) {
        if !self.net.quiet {
            eprintln!("{line}");
        }
    }

    /// Prints the statistics (table on stderr, JSON where asked) and flushes the capture.
    pub(crate) fn finish(&self, ok: bool, reports: &[Report], stdout_is_data: bool) -> io::Result<()> {
        if let Some(c) = &self.capture {
            if let Ok(mut c) = c.lock() {
                c.finish()?;
            }
        }
        if !self.net.quiet {
            eprint!("\n{}", report::table(reports));
        }
        if self.net.json {
            let doc = report::json(ok, reports);
            if stdout_is_data {
                eprintln!("{doc}");
            } else {
                println!("{doc}");
            }
        }
        Ok(())
    }

    /// The connected line: what the handshake agreed.
    pub(crate) fn connected(&self, client: &mut dyn Client, to: &str) {
        let conn = client.connection();
        let id = conn.connection_id();
        if let Some(a) = conn.agreement() {
            let crc = a.flags & seqlink_core::wire::handshake::FLAG_CRC != 0;
            let integrity = if crc { "crc32c" } else { "checksum" };
            self.say(&format!(
                "connected to {to}: connection {id:#010x}, max payload {}, window {}, heartbeat {} ms, integrity {integrity}",
                a.params.max_payload, a.params.window, a.params.heartbeat_ms
            ));
        }
    }
}

fn shown_addr(addr: Option<SocketAddr>) -> String {
    addr.map_or("an unknown address".into(), |a| a.to_string())
}

/// The first address `addr` (HOST:PORT) names.
fn resolve(addr: &str) -> Result<SocketAddr, Failure> {
    let mut addrs =
        addr.to_socket_addrs().map_err(|e| Failure::Usage(format!("`{addr}` is not a HOST:PORT address: {e}")))?;
    addrs.next().ok_or_else(|| Failure::Usage(format!("`{addr}` names no address")))
}

fn open_input(file: Option<&Path>) -> Result<(Box<dyn Read>, Option<u64>), Failure> {
    match file {
        None => Ok((Box::new(io::stdin().lock()), None)),
        Some(p) if p == Path::new("-") => Ok((Box::new(io::stdin().lock()), None)),
        Some(p) => {
            let f = File::open(p).map_err(|e| Failure::Usage(format!("cannot read {}: {e}", p.display())))?;
            let len = f.metadata().ok().map(|m| m.len());
            Ok((Box::new(io::BufReader::new(f)), len))
        }
    }
}

/// `seqlink send HOST:PORT [FILE]`.
pub fn send(addr: &str, file: Option<&Path>, net: &NetOpts) -> Result<(), Failure> {
    let run = Run::new(net)?;
    let server = resolve(addr)?;
    let (mut input, total) = open_input(file)?;
    if net.basic {
        return send_basic(&run, server, &mut input);
    }
    let mut client: Box<dyn Client> = if net.tcp {
        Box::new(TcpConnection::connect(server, run.config, run.connect_timeout())?)
    } else {
        let bind = if server.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
        let socket = UdpSocket::bind(bind)?;
        let impairment = settings::impairment(&net.impair, 0);
        let observer = run.observer("sender", true);
        Box::new(UdpConnection::connect_observed(
            socket,
            server,
            run.config,
            run.connect_timeout(),
            impairment,
            observer,
        )?)
    };
    run.connected(client.as_mut(), addr);
    let chunk = run.message_size(client.connection().agreement().map(|a| a.params.max_payload));
    let progress = report::progress(total, !net.quiet && !net.trace);
    let sent = transfer::send_file(client.as_mut(), &mut input, chunk, &progress)?;
    let ok = matches!(sent.verdict, Verdict::Whole | Verdict::Echoed);
    let stats = client.connection().stats();
    run.say(&match sent.verdict {
        Verdict::Whole => format!("sent {} bytes; the receiver has them whole", sent.bytes),
        Verdict::Damaged => format!("sent {} bytes, but the receiver's copy differs", sent.bytes),
        Verdict::Echoed => format!("sent {} bytes; the echo came back identical", sent.bytes),
        Verdict::EchoDiffers => format!("sent {} bytes, but the echo differs", sent.bytes),
    });
    run.finish(ok, &[Report { side: "sender", stats, bytes: sent.bytes, elapsed: sent.elapsed }], false)?;
    if ok {
        Ok(())
    } else {
        Err(Failure::Run("the transfer arrived damaged".into()))
    }
}

/// `send --basic`: seed 000 packets over TCP, then waits for the receiver to close.
fn send_basic(run: &Run<'_>, server: SocketAddr, input: &mut dyn Read) -> Result<(), Failure> {
    let started = Instant::now();
    let mut stream = TcpStream::connect_timeout(&server, run.connect_timeout())?;
    stream.set_nodelay(true)?;
    let mut session = BasicSession::new(BasicConfig::default());
    let chunk = run.message_size(run.net.proto.max_payload);
    let mut buf = vec![0u8; chunk];
    let mut packet = vec![0u8; chunk + 64];
    let (mut digest, mut bytes) = (transfer::Digest::new(), 0u64);
    let mut out = BufWriter::new(&stream);
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        digest.update(&buf[..n]);
        bytes += n as u64;
        let len = session.encode(FILE_CHUNK, &buf[..n], &mut packet).map_err(|e| Failure::Run(e.to_string()))?;
        out.write_all(&packet[..len])?;
    }
    let end = transfer::End { bytes, digest: digest.value() }.encode();
    let len = session.encode(FILE_END, &end, &mut packet).map_err(|e| Failure::Run(e.to_string()))?;
    out.write_all(&packet[..len])?;
    out.flush()?;
    drop(out);
    // the receiver closes once it has checked the end
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut sink = [0u8; 4096];
    while stream.read(&mut sink)? > 0 {}
    let elapsed = started.elapsed();
    run.say(&format!("sent {bytes} bytes as seed 000 packets; the receiver closed"));
    let b = session.stats();
    let stats = seqlink_core::Stats { packets_sent: b.packets_sent, ..seqlink_core::Stats::default() };
    run.finish(true, &[Report { side: "sender", stats, bytes, elapsed }], false)?;
    Ok(())
}

/// `seqlink recv [--bind ADDR] PORT [-o FILE]`.
pub fn recv(bind: SocketAddr, output: Option<&Path>, wait: Option<u64>, net: &NetOpts) -> Result<(), Failure> {
    let run = Run::new(net)?;
    let to_stdout = output.is_none_or(|p| p == Path::new("-"));
    let mut out: Box<dyn Write> = match output {
        Some(p) if !to_stdout => Box::new(BufWriter::new(
            File::create(p).map_err(|e| Failure::Usage(format!("cannot write {}: {e}", p.display())))?,
        )),
        _ => Box::new(BufWriter::new(io::stdout().lock())),
    };
    let endpoint = EndpointConfig::new(run.config);
    let wait = wait.map(Duration::from_secs);
    if net.tcp || net.basic {
        let mut server = TcpServer::bind(bind, endpoint, MAX_PEERS)?;
        eprintln!("receiving on tcp {}", server.local_addr()?);
        receive_with(&run, &mut server, wait, &mut out, to_stdout)
    } else {
        let mut server = UdpServer::bind(bind, endpoint, MAX_PEERS)?;
        if let Some(imp) = settings::impairment(&net.impair, 0) {
            server = server.with_impairment(imp);
        }
        if let Some(o) = run.observer("receiver", true) {
            server = server.with_observer(o);
        }
        eprintln!("receiving on udp {}", server.local_addr()?);
        receive_with(&run, &mut server, wait, &mut out, to_stdout)
    }
}

fn receive_with<S: Server>(
    run: &Run<'_>,
    server: &mut S,
    wait: Option<Duration>,
    out: &mut dyn Write,
    to_stdout: bool,
) -> Result<(), Failure> {
    let peer = server.accept(wait)?.ok_or_else(|| Failure::Run("no sender connected in time".into()))?;
    run.say(&format!("sender connected from {}", shown_addr(server.peer_addr(peer))));
    let progress = report::progress(None, !run.net.quiet && !run.net.trace);
    let got = transfer::receive_file(server, peer, out, &progress)?;
    out.flush()?;
    run.say(&if got.whole {
        format!("received {} bytes, whole (length and digest match)", got.bytes)
    } else {
        format!("received {} bytes, DAMAGED (length or digest differ)", got.bytes)
    });
    let report = Report { side: "receiver", stats: got.stats, bytes: got.bytes, elapsed: got.elapsed };
    run.finish(got.whole, &[report], to_stdout)?;
    if got.whole {
        Ok(())
    } else {
        Err(Failure::Run("the file arrived damaged".into()))
    }
}

/// `seqlink echo PORT`.
pub fn echo(bind: SocketAddr, once: bool, net: &NetOpts) -> Result<(), Failure> {
    let run = Run::new(net)?;
    let endpoint = EndpointConfig::new(run.config);
    if net.tcp || net.basic {
        let mut server = TcpServer::bind(bind, endpoint, MAX_PEERS)?;
        eprintln!("echoing on tcp {}", server.local_addr()?);
        echo_with(&run, &mut server, once)
    } else {
        let mut server = UdpServer::bind(bind, endpoint, MAX_PEERS)?;
        if let Some(imp) = settings::impairment(&net.impair, 0) {
            server = server.with_impairment(imp);
        }
        if let Some(o) = run.observer("echo", true) {
            server = server.with_observer(o);
        }
        eprintln!("echoing on udp {}", server.local_addr()?);
        echo_with(&run, &mut server, once)
    }
}

fn echo_with<S: Server>(run: &Run<'_>, server: &mut S, once: bool) -> Result<(), Failure> {
    let mut first = None;
    let mut started = Instant::now();
    let (mut bytes, mut stats) = (0u64, seqlink_core::Stats::default());
    loop {
        while let Some(peer) = server.accept(Some(Duration::ZERO))? {
            run.say(&format!("client connected from {}", shown_addr(server.peer_addr(peer))));
            if first.is_none() {
                first = Some(peer);
                started = Instant::now();
            }
        }
        if let Some((peer, m)) = server.recv(Some(Duration::from_millis(100)))? {
            if Some(peer) == first {
                bytes += m.data.len() as u64;
            }
            if let Err(e) = server.send(peer, m.ptype, &m.data) {
                run.say(&format!("echo to {} failed: {}", shown_addr(server.peer_addr(peer)), describe_io(&e)));
            }
        }
        if let Some(peer) = first {
            stats = server.stats(peer).unwrap_or(stats);
            if once && !server.is_open(peer) {
                break;
            }
        }
    }
    server.serve_for(Duration::from_millis(100))?;
    run.finish(true, &[Report { side: "echo", stats, bytes, elapsed: started.elapsed() }], false)?;
    Ok(())
}

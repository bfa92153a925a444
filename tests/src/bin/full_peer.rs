//! A full-featured seqlink server (every default core feature) that echoes
//! every message back, driven over stdin/stdout by a test in another build:
//! `tests/minimal-client` runs its minimal-feature client against it.
//!
//! Each request on stdin is `kind u8, now u64, len u16, bytes` (little
//! endian): kind 0 hands the bytes over as a datagram from the client,
//! kind 1 hands nothing; then the timers due by `now` run. The answer on stdout is every
//! datagram the server sends then, each as `1u8, len u16, bytes`, and
//! `0u8, next timer u64` (`u64::MAX`: none).

use seqlink_core::connection::ConnectionConfig;
use seqlink_core::endpoint::EndpointConfig;
use seqlink_tests::conn_node::ServerNode;
use seqlink_tests::sim::Node;
use std::io::{self, BufWriter, Read, Write};

/// The client's address in the server's table (there is only one).
const CLIENT: u32 = 1;

fn main() -> io::Result<()> {
    let mut server = ServerNode::new(EndpointConfig::new(ConnectionConfig::new()), 2, [7; 16], 42);
    server.echo = true;
    let mut input = io::stdin().lock();
    let mut output = BufWriter::new(io::stdout().lock());
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let mut head = [0u8; 11];
        match input.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        }
        let [kind, t0, t1, t2, t3, t4, t5, t6, t7, l0, l1] = head;
        let now = u64::from_le_bytes([t0, t1, t2, t3, t4, t5, t6, t7]);
        let datagram = &mut buf[..usize::from(u16::from_le_bytes([l0, l1]))];
        input.read_exact(datagram)?;
        if kind == 0 {
            server.handle(now, CLIENT, datagram);
        }
        // then, as the std drivers' loop does, the timers due by now, then what is ready
        if server.timeout().is_some_and(|t| t <= now) {
            server.on_timeout(now);
        }
        server.poll_app(now);
        while let Some((_, n)) = server.transmit(now, &mut buf) {
            output.write_all(&[1])?;
            output.write_all(&(n as u16).to_le_bytes())?;
            output.write_all(&buf[..n])?;
            server.poll_app(now);
        }
        output.write_all(&[0])?;
        output.write_all(&server.timeout().unwrap_or(u64::MAX).to_le_bytes())?;
        output.flush()?;
    }
}

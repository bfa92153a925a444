//! What the tests share: the full-featured server in its own process, and a
//! reproducible random source.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;

/// `full_peer` (tests/src/bin/full_peer.rs in the main workspace, built
/// with every default feature): a server that echoes every message back,
/// driven over pipes on the test's simulated clock.
pub struct FullPeer {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    /// Its next timer (`u64::MAX`: none).
    pub timeout: u64,
}

impl FullPeer {
    /// Starts `full_peer` (built once, in the main workspace, with its default features).
    pub fn start() -> FullPeer {
        static EXECUTABLE: OnceLock<String> = OnceLock::new();
        let executable = EXECUTABLE.get_or_init(build_full_peer);
        let mut child =
            Command::new(executable).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("full_peer starts");
        let input = child.stdin.take().expect("piped");
        let output = BufReader::new(child.stdout.take().expect("piped"));
        FullPeer { child, input, output, timeout: u64::MAX }
    }

    /// Hands it a datagram (or, with `None`, runs its timers) at `now`;
    /// returns the datagrams it sends then.
    pub fn request(&mut self, now: u64, datagram: Option<&[u8]>) -> Vec<Vec<u8>> {
        let (kind, bytes) = match datagram {
            Some(d) => (0u8, d),
            None => (1u8, &[][..]),
        };
        let mut request = vec![kind];
        request.extend_from_slice(&now.to_le_bytes());
        request.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
        request.extend_from_slice(bytes);
        self.input.write_all(&request).expect("full_peer reads");
        self.input.flush().expect("full_peer reads");
        let mut sent = Vec::new();
        loop {
            let mut kind = [0u8];
            self.output.read_exact(&mut kind).expect("full_peer answers");
            if kind[0] == 0 {
                let mut next = [0u8; 8];
                self.output.read_exact(&mut next).expect("full_peer answers");
                self.timeout = u64::from_le_bytes(next);
                return sent;
            }
            let mut len = [0u8; 2];
            self.output.read_exact(&mut len).expect("full_peer answers");
            let mut datagram = vec![0u8; usize::from(u16::from_le_bytes(len))];
            self.output.read_exact(&mut datagram).expect("full_peer answers");
            sent.push(datagram);
        }
    }
}

impl Drop for FullPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = self.output.fill_buf();
    }
}

/// Builds `full_peer` in the main workspace and returns its path.
fn build_full_peer() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let build = Command::new(cargo)
        .current_dir(&root)
        .args(["build", "--locked", "-p", "seqlink-tests", "--bin", "full_peer", "--message-format=json"])
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(build.status.success(), "full_peer builds");
    String::from_utf8_lossy(&build.stdout)
        .lines()
        .filter(|l| l.contains("\"compiler-artifact\"") && l.contains("\"full_peer\""))
        .find_map(|l| l.split("\"executable\":\"").nth(1)?.split('"').next().map(str::to_owned))
        .expect("cargo names the full_peer executable")
}

/// xorshift64*: reproducible losses and delays.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

//! The `seqlink` binary end to end over loopback (127.0.0.1 only): files of
//! random bytes through impairments arrive identical, bad arguments are
//! refused with a clear message, an unreachable peer fails within the
//! connect timeout, and captures decode.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

fn seqlink() -> Command {
    Command::new(env!("CARGO_BIN_EXE_seqlink"))
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("seqlink-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `len` pseudo-random bytes.
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 32) as u8
        })
        .collect()
}

/// A receiver on an ephemeral port: the child, its port, and a thread collecting the rest of its stderr.
struct Receiver {
    child: Child,
    port: u16,
    stdout: thread::JoinHandle<Vec<u8>>,
    stderr: thread::JoinHandle<String>,
}

impl Receiver {
    fn start(args: &[&str]) -> Receiver {
        Receiver::command(&["recv", "--bind", "127.0.0.1", "0", "--wait", "20"], args)
    }

    /// Runs `seqlink COMMAND... ARGS...`, which names its port on its first stderr line.
    fn command(command: &[&str], args: &[&str]) -> Receiver {
        let mut child =
            seqlink().args(command).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap());
        let mut first = String::new();
        lines.read_line(&mut first).unwrap();
        let port = first.trim().rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("{first}"));
        let stderr = thread::spawn(move || {
            let mut rest = first;
            let _ = lines.read_to_string(&mut rest);
            rest
        });
        // read stdout as it comes: a full pipe would stall the receiver
        let mut out = child.stdout.take().unwrap();
        let stdout = thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = out.read_to_end(&mut bytes);
            bytes
        });
        Receiver { child, port, stdout, stderr }
    }

    /// Waits for the receiver: its exit status, stdout and stderr.
    fn finish(mut self) -> (bool, Vec<u8>, String) {
        let status = self.child.wait().unwrap();
        (status.success(), self.stdout.join().unwrap(), self.stderr.join().unwrap())
    }
}

fn send(port: u16, file: &Path, args: &[&str]) -> Output {
    seqlink().args(["send", &format!("127.0.0.1:{port}")]).arg(file).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn random_files_arrive_identical_through_loss_duplication_reordering_corruption_and_delay() {
    let dir = scratch("files");
    let impairments = ["--loss", "5%", "--dup", "0.02", "--reorder", "2%", "--corrupt", "1%", "--delay", "1±1"];
    for (name, len) in [("empty", 0usize), ("one-byte", 1), ("ten-megabytes", 10_000_000)] {
        let input = dir.join(format!("{name}.in"));
        let output = dir.join(format!("{name}.out"));
        std::fs::write(&input, random_bytes(len, len as u64 + 7)).unwrap();
        let started = Instant::now();
        let receiver = Receiver::start(&["-o", output.to_str().unwrap(), "-q", "--seed", "11"]);
        let mut args = impairments.to_vec();
        args.extend(["-q", "--seed", "12"]);
        let sent = send(receiver.port, &input, &args);
        let (received, _, receiver_err) = receiver.finish();
        assert!(sent.status.success(), "{name}: sender failed: {}", text(&sent.stderr));
        assert!(received, "{name}: receiver failed: {receiver_err}");
        assert!(std::fs::read(&input).unwrap() == std::fs::read(&output).unwrap(), "{name}: the copy differs");
        eprintln!("{name}: {len} bytes in {:.2?}", started.elapsed());
    }
}

#[test]
fn recv_without_a_file_writes_the_bytes_to_stdout_and_stdin_feeds_send() {
    let data = random_bytes(300_000, 3);
    let receiver = Receiver::start(&["-q"]);
    let mut sender = seqlink()
        .args(["send", &format!("127.0.0.1:{}", receiver.port), "-q", "--loss", "3%"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    sender.stdin.take().unwrap().write_all(&data).unwrap();
    let sent = sender.wait_with_output().unwrap();
    let (ok, stdout, err) = receiver.finish();
    assert!(sent.status.success(), "{}", text(&sent.stderr));
    assert!(ok, "{err}");
    assert!(stdout == data, "stdout carries exactly the file ({} of {} bytes)", stdout.len(), data.len());
}

#[test]
fn bad_arguments_get_a_clear_message_and_a_usage_exit_code() {
    let cases: [(&[&str], &str); 7] = [
        (&["send"], "HOST:PORT"),
        (&["send", "127.0.0.1:9", "--loss", "150%"], "outside 0..1"),
        (&["send", "127.0.0.1:9", "--loss", "lots"], "fraction such as 0.1 or a percentage such as 10%"),
        (&["send", "127.0.0.1:9", "--delay", "soon"], "20±5"),
        (&["send", "no-port-here", "/dev/null"], "is not a HOST:PORT address"),
        (&["send", "127.0.0.1:9", "/dev/null", "--tcp", "--loss", "5%"], "UDP only"),
        (&["recv", "9", "-o", "/no/such/dir/file"], "cannot write /no/such/dir/file"),
    ];
    for (args, message) in cases {
        let out = seqlink().args(args).output().unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?} should say {message:?}: {err}");
    }
}

#[test]
fn an_unreachable_peer_fails_within_the_connect_timeout() {
    // a port nobody listens on: bound, then released
    let port = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let started = Instant::now();
    let out = seqlink()
        .args(["send", &format!("127.0.0.1:{port}"), "/dev/null", "--connect-timeout", "1500"])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("connect timeout"), "{}", text(&out.stderr));
    assert!(took >= Duration::from_millis(1400) && took < Duration::from_secs(4), "gave up after {took:?}");
}

#[test]
fn the_demo_captures_a_pcap_that_inspect_decodes_with_valid_checks() {
    let dir = scratch("pcap");
    let pcap = dir.join("demo.pcap");
    let out = seqlink()
        .args(["demo", "--size", "200k", "--loss", "2%", "--json", "-q", "--pcap", pcap.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["ok"], true);
    assert_eq!(stats["sides"][1]["bytes"], 200_000);
    for key in [
        "packets_sent",
        "packets_received",
        "retransmitted",
        "corrupt_detected",
        "duplicates",
        "out_of_order",
        "goodput_bytes_per_sec",
        "srtt_ms",
    ] {
        assert!(stats["sides"][0][key].is_number(), "{key} in {stats}");
    }

    let inspected = seqlink().args(["inspect", "--json"]).arg(&pcap).output().unwrap();
    assert!(inspected.status.success(), "{}", text(&inspected.stderr));
    let packets: Vec<serde_json::Value> =
        text(&inspected.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(packets.len() > 150, "{} packets", packets.len());
    assert_eq!(packets[0]["type_name"], "SYN");
    assert!(packets.iter().all(|p| p["check_valid"] == true), "no bit flips were injected: every check holds");
    let names: Vec<&str> = packets.iter().filter_map(|p| p["type_name"].as_str()).collect();
    for t in ["SYN", "SYN_ACK", "HANDSHAKE_ACK", "ACK", "FIN"] {
        assert!(names.contains(&t), "{t} in the capture");
    }
    assert!(packets.iter().any(|p| p["ack"].is_number() && p["src"].is_string()));

    let readable = seqlink().arg("inspect").arg(&pcap).output().unwrap();
    let first = text(&readable.stdout).lines().next().unwrap_or_default().to_string();
    assert!(first.starts_with("#1 0.000000 127.0.0.1:") && first.contains("SYN seq=0 len=40"), "{first}");
}

#[test]
fn trace_lines_name_event_seq_ack_type_and_length() {
    let receiver = Receiver::start(&["-q", "-o", "/dev/null"]);
    let dir = scratch("trace");
    let input = dir.join("in");
    std::fs::write(&input, random_bytes(20_000, 5)).unwrap();
    let out = send(receiver.port, &input, &["--trace", "-q", "--loss", "20%", "--seed", "4"]);
    let (ok, _, err) = receiver.finish();
    assert!(out.status.success() && ok, "{}\n{err}", text(&out.stderr));
    let trace = text(&out.stderr);
    for label in ["SEND", "RECV", "RETX", "DROP"] {
        assert!(trace.lines().any(|l| l.split_whitespace().nth(2) == Some(label)), "{label} in\n{trace}");
    }
    let data_line = trace.lines().find(|l| l.contains(" SEND ") && l.contains("type=APP_100")).unwrap();
    assert!(data_line.contains("seq=") && data_line.contains("ack=") && data_line.contains("len=1200"), "{data_line}");
    assert!(trace.lines().any(|l| l.contains("type=ACK") && !l.contains("ack=-")), "ACKs show what they acknowledge");
}

#[test]
fn inspect_reads_a_hex_dump_of_the_protocol_example() {
    let dir = scratch("hex");
    let dump = dir.join("dump.txt");
    // docs/PROTOCOL.md 2.1: seq 1, CMD_FIRE, "B5"; then the same with a flipped bit
    std::fs::write(&dump, "# two packets\n00 00 00 01 03 00 02 c5 bc 42 35\n00000001030002c5bc4234\n").unwrap();
    let out = seqlink().args(["inspect"]).arg(&dump).output().unwrap();
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].contains("CMD_FIRE seq=1 len=2 checksum=0xc5bc ok data_len=2 data=\"B5\""), "{}", lines[0]);
    assert!(lines[1].contains("BAD"), "{}", lines[1]);
}

#[test]
fn files_cross_tcp_and_seed_000_and_come_back_from_echo_servers() {
    let dir = scratch("transports");
    let input = dir.join("in");
    let data = random_bytes(500_000, 9);
    std::fs::write(&input, &data).unwrap();
    for transport in ["--tcp", "--basic"] {
        let output = dir.join(format!("out{transport}"));
        let receiver = Receiver::start(&["--tcp", "-q", "-o", output.to_str().unwrap()]);
        let sent = send(receiver.port, &input, &[transport, "-q"]);
        let (ok, _, err) = receiver.finish();
        assert!(sent.status.success(), "{transport}: {}", text(&sent.stderr));
        assert!(ok, "{transport}: {err}");
        assert!(std::fs::read(&output).unwrap() == data, "{transport}: the copy differs");
    }
    for transport in ["--udp", "--tcp"] {
        let extra: &[&str] = if transport == "--tcp" { &["--tcp"] } else { &["--loss", "3%"] };
        let echo = Receiver::command(&["echo", "--bind", "127.0.0.1", "0", "--once", "-q"], extra);
        let sent = send(echo.port, &input, &[extra, &["--json"]].concat());
        let (ok, _, err) = echo.finish();
        assert!(sent.status.success(), "echo {transport}: {}", text(&sent.stderr));
        assert!(ok, "echo {transport}: {err}");
        let stats: serde_json::Value = serde_json::from_slice(&sent.stdout).unwrap();
        assert_eq!(stats["ok"], true, "echo {transport}: the file came back identical");
    }
}

//! seqlink against KCP and ENet through one impairment relay on loopback UDP.
//!
//! Bulk: each library pushes `--mib` MiB (4 by default) through a fresh
//! relay that drops each datagram with probability p both ways and delays it
//! by D one way, for p in {0, 1, 5, 10, 20}% and D in {0, 10} ms; the
//! receiver checks length and hash. A run that has not finished after
//! 60 s x (MiB / 16) is stopped and reported as T. Small messages: 100 B
//! every 1 ms for 10 s at p in {0, 5, 10}%, D in {0, 10} ms, one-way latency
//! p50/p99. Every run also reports the bytes on the wire per delivered
//! byte. `--repeat N` runs every bulk cell N times per library, the
//! libraries taking turns (A, B, C, D, then again), run r with its own loss
//! seed (run 1 the cell's usual one), and the tables show the medians; the
//! paced cells run once (10 s each). `--quick`: one small bulk cell
//! (256 KiB at 5 % loss, 2 % duplication, 5 % reordered by up to 3 ms,
//! D = 0) and one short paced cell per library (the smoke test); exits
//! non-zero when a run errs or fails its hash check.
//!
//! `cargo run --release -p seqlink-bench --features enet --bin compare -- \
//!   [--quick] [--mib N] [--repeat N] [--csv PATH] [--docs PATH --plots DIR --meta TEXT]
//!   [--only LIBRARY] [--kind bulk|paced] [--loss PERCENT] [--delay MS]`
//! (`scripts/compare.sh` installs libenet-dev and passes all of these;
//! `--only`, `--kind`, `--loss` and `--delay` run a part of the grid, down
//! to a single cell).

use seqlink_bench::compare::relay::Impairment;
use seqlink_bench::compare::report::{self, Row};
use seqlink_bench::compare::workload::Workload;
use seqlink_bench::compare::{run, Cell, Library, Outcome, Status};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const LOSSES: [f64; 5] = [0.0, 0.01, 0.05, 0.10, 0.20];
const DELAYS: [u64; 2] = [0, 10];
const PACED_LOSSES: [f64; 3] = [0.0, 0.05, 0.10];

#[derive(Debug, Default)]
struct Args {
    quick: bool,
    mib: Option<usize>,
    repeat: u32,
    csv: Option<PathBuf>,
    docs: Option<PathBuf>,
    plots: Option<PathBuf>,
    meta: String,
    only: Option<String>,
    kind: Option<String>,
    loss: Option<f64>,
    delay: Option<u64>,
}

fn parse() -> Result<Args, String> {
    let mut args = Args { repeat: 1, ..Args::default() };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--quick" => args.quick = true,
            "--mib" => args.mib = Some(value()?.parse().map_err(|e| format!("--mib: {e}"))?),
            "--repeat" => {
                args.repeat = value()?.parse().map_err(|e| format!("--repeat: {e}"))?;
                if args.repeat == 0 {
                    return Err("--repeat needs at least 1".into());
                }
            }
            "--csv" => args.csv = Some(value()?.into()),
            "--docs" => args.docs = Some(value()?.into()),
            "--plots" => args.plots = Some(value()?.into()),
            "--meta" => args.meta = value()?,
            "--only" => args.only = Some(value()?),
            "--kind" => args.kind = Some(value()?),
            "--loss" => args.loss = Some(value()?.parse::<f64>().map_err(|e| format!("--loss: {e}"))? / 100.0),
            "--delay" => args.delay = Some(value()?.parse().map_err(|e| format!("--delay: {e}"))?),
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    Ok(args)
}

fn seed(loss: f64, delay_ms: u64) -> u64 {
    0x5eed_0000 + (loss * 1000.0) as u64 * 100 + delay_ms
}

/// The relay's seed for run `run` (from 1) of a cell: run 1 keeps the cell's own.
fn run_seed(cell_seed: u64, run: u32) -> u64 {
    cell_seed.wrapping_add(u64::from(run.saturating_sub(1)) << 32)
}

/// (kind, loss, delay, bytes, cell) of every cell of the grid (each run `--repeat` times if bulk).
fn grid(args: &Args) -> Vec<(&'static str, f64, u64, usize, Cell)> {
    let mut cells = Vec::new();
    if args.quick {
        let bytes = 256 << 10;
        // duplication and reordering too: every library must still deliver the exact bytes
        let imp = Impairment {
            duplicate: 0.02,
            reorder: 0.05,
            reorder_ms: 3,
            ..Impairment::loss_delay(0.05, 0, seed(0.05, 0))
        };
        let bulk = Workload::Bulk { bytes, seed: 1 };
        cells.push(("bulk", 0.05, 0, bytes, Cell { workload: bulk, impairment: imp, limit: Duration::from_secs(30) }));
        let paced = Workload::Paced { count: 100, size: 100, interval: Duration::from_millis(1) };
        cells.push((
            "paced",
            0.05,
            0,
            100 * 100,
            Cell { workload: paced, impairment: imp, limit: Duration::from_secs(20) },
        ));
        return cells;
    }
    let bytes = args.mib.unwrap_or(4) << 20;
    // 60 s for 16 MiB: the same lowest goodput (0.28 MB/s) counts as finished at any size
    let limit = Duration::from_secs_f64((60.0 * bytes as f64 / f64::from(16 << 20)).max(5.0));
    for &d in &DELAYS {
        for &p in &LOSSES {
            let cell = Cell {
                workload: Workload::Bulk { bytes, seed: seed(p, d) },
                impairment: Impairment::loss_delay(p, d, seed(p, d)),
                limit,
            };
            cells.push(("bulk", p, d, bytes, cell));
        }
    }
    for &d in &DELAYS {
        for &p in &PACED_LOSSES {
            let cell = Cell {
                workload: Workload::Paced { count: 10_000, size: 100, interval: Duration::from_millis(1) },
                impairment: Impairment::loss_delay(p, d, seed(p, d)),
                limit: Duration::from_secs(25),
            };
            cells.push(("paced", p, d, 10_000 * 100, cell));
        }
    }
    cells
}

fn main() {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("compare: {e}");
            std::process::exit(2);
        }
    };
    let libraries: Vec<Library> =
        Library::available().into_iter().filter(|l| args.only.as_deref().is_none_or(|o| o == l.name())).collect();
    if !cfg!(feature = "enet") {
        eprintln!("compare: built without the `enet` feature: ENet is left out (scripts/compare.sh enables it)");
    }
    let started = Instant::now();
    let mut rows = Vec::new();
    for (kind, loss, delay_ms, bytes, cell) in grid(&args) {
        if args.kind.as_deref().is_some_and(|k| k != kind)
            || args.loss.is_some_and(|p| (p - loss).abs() > 1e-9)
            || args.delay.is_some_and(|d| d != delay_ms)
        {
            continue;
        }
        let runs = if kind == "bulk" { args.repeat } else { 1 };
        for run_number in 1..=runs {
            let mut cell = cell.clone();
            cell.impairment.seed = run_seed(cell.impairment.seed, run_number);
            for &library in &libraries {
                let outcome = run(library, &cell);
                print_run(library, kind, loss, delay_ms, run_number, &outcome);
                let (duplicate, reorder) = (cell.impairment.duplicate, cell.impairment.reorder);
                rows.push(Row { library, kind, loss, delay_ms, run: run_number, bytes, duplicate, reorder, outcome });
                // let the last run's sockets and threads go before the next one
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    println!("{} runs in {:.0} s", rows.len(), started.elapsed().as_secs_f64());
    if let Err(e) = write(&args, &rows) {
        eprintln!("compare: {e}");
        std::process::exit(1);
    }
    let failures: Vec<&Row> = rows.iter().filter(|r| r.outcome.status.is_failure()).collect();
    for r in &failures {
        eprintln!("compare: {} {} failed: {}", r.library.name(), r.kind, r.outcome.status.label());
    }
    let slow = rows.iter().filter(|r| r.outcome.status == Status::Timeout).count();
    if slow > 0 {
        eprintln!("compare: {slow} run(s) did not finish in their time limit (T)");
    }
    if !failures.is_empty() {
        std::process::exit(1);
    }
}

fn print_run(library: Library, kind: &str, loss: f64, delay_ms: u64, run_number: u32, outcome: &Outcome) {
    println!(
        "{:<13} {kind:<5} loss {:>4.1}%  D {delay_ms:>2} ms  run {run_number}  {:<8} {:>7.2} MB/s  {:>6.2} s  cpu {:>5.2} s  wire {:>5.2} B/B{}",
        library.name(),
        loss * 100.0,
        outcome.status.label(),
        outcome.mb_per_s(),
        outcome.elapsed.as_secs_f64(),
        outcome.cpu.as_secs_f64(),
        outcome.wire_bytes_per_byte(0).unwrap_or(f64::NAN),
        match (report::percentile(&outcome.latencies_ms, 0.5), report::percentile(&outcome.latencies_ms, 0.99)) {
            (Some(a), Some(b)) => format!("  p50 {a:.1} ms  p99 {b:.1} ms"),
            _ => String::new(),
        }
    );
}

fn write(args: &Args, rows: &[Row]) -> Result<(), String> {
    if let Some(path) = &args.csv {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(path, report::csv(rows)).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    let Some(docs) = &args.docs else { return Ok(()) };
    let doc_dir = docs.parent().map(PathBuf::from).unwrap_or_default();
    let plot_dir = args.plots.clone().unwrap_or_else(|| doc_dir.join("compare"));
    std::fs::create_dir_all(&plot_dir).map_err(|e| format!("{}: {e}", plot_dir.display()))?;
    let relative = plot_dir.strip_prefix(&doc_dir).unwrap_or(&plot_dir).to_path_buf();
    let mut plots = Vec::new();
    let mut save = |name: String, svg: String, caption: String| -> Result<(), String> {
        let path = plot_dir.join(&name);
        std::fs::write(&path, svg).map_err(|e| format!("{}: {e}", path.display()))?;
        plots.push((relative.join(name).display().to_string(), caption));
        Ok(())
    };
    for d in DELAYS {
        if rows.iter().any(|r| r.kind == "bulk" && r.delay_ms == d) {
            save(format!("goodput_d{d}.svg"), report::goodput_svg(rows, d), format!("goodput vs loss, D = {d} ms"))?;
        }
    }
    for d in DELAYS {
        for p in PACED_LOSSES {
            if rows.iter().any(|r| r.kind == "paced" && r.delay_ms == d && r.loss == p) {
                let name = format!("latency_d{d}_p{}.svg", (p * 100.0) as u32);
                let caption = format!("latency CDF, D = {d} ms, loss {}%", p * 100.0);
                save(name, report::latency_svg(rows, p, d), caption)?;
            }
        }
    }
    let text = std::fs::read_to_string(docs).map_err(|e| format!("{}: {e}", docs.display()))?;
    let generated = report::markdown(rows, &args.meta, &plots);
    std::fs::write(docs, report::splice(&text, &generated)).map_err(|e| format!("{}: {e}", docs.display()))?;
    println!("wrote {} and {}", docs.display(), plot_dir.display());
    Ok(())
}

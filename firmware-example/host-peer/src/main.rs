//! The firmware example's host peer: `seqlink-fw-host-peer [--serial]
//! [--bind ADDR] [--messages N] [--short N] [--loss FRACTION] [--seed N]
//! [--step-timeout SECONDS]`. Serves UDP on ADDR, or with `--serial` waits
//! for a serial line (QEMU's UART as a TCP client) on ADDR. Exits 0 when
//! every echo checked, 1 on the first failure, 2 on bad arguments.

use seqlink_fw_host_peer::{run, Plan, SerialHost, UdpHost};
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let (plan, serial) = match parse(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("seqlink-fw-host-peer: {message}");
            return ExitCode::from(2);
        }
    };
    let log = |line: &str| println!("{line}");
    println!(
        "host peer: {} on {}, loss {:.0}%",
        if serial { "serial line" } else { "UDP" },
        plan.bind,
        plan.loss * 100.0
    );
    let outcome = if serial {
        SerialHost::listen(&plan).and_then(|mut host| run(&mut host, &plan, log))
    } else {
        UdpHost::bind(&plan).and_then(|mut host| run(&mut host, &plan, log))
    };
    match outcome {
        Ok(_) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("host peer: FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<(Plan, bool), String> {
    let mut plan = Plan::new("127.0.0.1:7700".parse().map_err(|_| "bad default address")?);
    let mut serial = false;
    while let Some(flag) = args.next() {
        if flag == "--serial" {
            serial = true;
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |_| format!("bad value for {flag}: {value}");
        match flag.as_str() {
            "--bind" => plan.bind = value.parse().map_err(|_| format!("bad address: {value}"))?,
            "--messages" => plan.messages = value.parse().map_err(bad)?,
            "--short" => plan.short = value.parse().map_err(bad)?,
            "--loss" => plan.loss = value.parse().map_err(|_| format!("bad loss: {value}"))?,
            "--seed" => plan.seed = value.parse().map_err(bad)?,
            "--step-timeout" => {
                plan.step_timeout = Duration::from_secs(value.parse().map_err(bad)?);
            }
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok((plan, serial))
}

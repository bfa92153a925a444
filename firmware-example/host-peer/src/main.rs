//! The firmware example's host peer: `seqlink-fw-host-peer [--bind ADDR]
//! [--messages N] [--short N] [--loss FRACTION] [--seed N] [--step-timeout SECONDS]`.
//! Exits 0 when every echo checked, 1 on the first failure, 2 on bad arguments.

use seqlink_fw_host_peer::{run, Plan};
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let plan = match parse(std::env::args().skip(1)) {
        Ok(plan) => plan,
        Err(message) => {
            eprintln!("seqlink-fw-host-peer: {message}");
            return ExitCode::from(2);
        }
    };
    match run(&plan, |line| println!("{line}")) {
        Ok(_) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("host peer: FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Plan, String> {
    let mut plan = Plan::new("127.0.0.1:7700".parse().map_err(|_| "bad default address")?);
    while let Some(flag) = args.next() {
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
    Ok(plan)
}

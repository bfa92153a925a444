//! `seqlink`: send and receive files, echo, run the loopback demo, and
//! inspect captures, over seqlink (see `seqlink --help` and cli/README.md).
//!
//! Exit codes: 0 success, 1 the run failed (no connection, a failed
//! connection, a damaged file), 2 bad arguments or input.

mod args;
mod capture;
mod commands;
mod decode;
mod demo;
mod inspect;
mod peers;
mod report;
mod settings;
mod transfer;
mod watch;

use args::{Cli, Command};
use clap::Parser;
use commands::Failure;
use std::net::SocketAddr;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Send { addr, file, net } => commands::send(addr, file.as_deref(), net),
        Command::Recv { bind, port, output, wait, net } => {
            commands::recv(SocketAddr::new(*bind, *port), output.as_deref(), *wait, net)
        }
        Command::Echo { bind, port, once, net } => commands::echo(SocketAddr::new(*bind, *port), *once, net),
        Command::Demo { size, net } => demo::run(*size, net),
        Command::Inspect { input, format, json } => inspect::run(input, *format, *json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("seqlink: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Run(message)) => {
            eprintln!("seqlink: {message}");
            ExitCode::from(1)
        }
    }
}

//! `fanout`: measures how fast the connector backend delivers one event to many local
//! webhooks, beside the rate that wrk reaches against the same webhook sink.

mod backend;
mod bench;
mod child;
mod database;
mod event;
mod fanout;
mod proc_stats;
mod report;
mod sink;
mod store_cycles;
mod wrk;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Measures the card delivery rate of connector-backend on local webhooks.
#[derive(Parser)]
#[command(name = "fanout", about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    bench: bench::BenchArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Runs only the webhook sink, which the benchmark starts as its own process. It
    /// prints its port on the first line of standard output and stops when standard
    /// input closes.
    Sink,
    /// Measures the database work of a fan-out alone: the worker's store cycles claim
    /// every delivery of one event and record it as delivered, without sending anything.
    StoreCycles(store_cycles::StoreCyclesArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();

    let result = match cli.command {
        Some(Command::Sink) => sink::run(),
        Some(Command::StoreCycles(args)) => store_cycles::run(&args),
        None => bench::run(&cli.bench),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

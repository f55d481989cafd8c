#![forbid(unsafe_code)]
//! The `tufwatch` binary: parse arguments, run the library, exit with the report's code.

use clap::Parser;
use tufwatch::cli::{run, Cli};

fn main() {
    let cli = Cli::parse();
    let filter = match cli.verbose {
        0 => "warn",
        1 => "info,tough=info",
        _ => "debug,tough=debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TUFWATCH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter)),
        )
        .with_writer(std::io::stderr)
        .init();
    // The TUF client's protocol knows two exit codes, 0 and 1: a panic (a bug) must still say 1.
    // It runs on one thread: it fetches one file at a time anyway, and a clock faked with
    // LD_PRELOAD (the conformance suite's faketime) is safest without threads.
    let client = matches!(cli.command, tufwatch::cli::Command::Client(_));
    if client {
        std::panic::set_hook(Box::new(|info| {
            eprintln!("tufwatch client: internal error: {info}");
            std::process::exit(1);
        }));
    }
    let runtime = if client {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    };
    let code = match runtime {
        Ok(rt) => rt.block_on(run(cli)),
        Err(e) => {
            eprintln!("tufwatch: error: cannot start the async runtime: {e}");
            tufwatch::report::EXIT_COULD_NOT_RUN
        }
    };
    std::process::exit(code);
}

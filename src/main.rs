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
    let code = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(run(cli)),
        Err(e) => {
            eprintln!("tufwatch: error: cannot start the async runtime: {e}");
            tufwatch::report::EXIT_COULD_NOT_RUN
        }
    };
    std::process::exit(code);
}

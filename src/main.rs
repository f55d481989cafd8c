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
        Ok(rt) => {
            // SIGTERM (systemd, Kubernetes on a timeout), SIGINT and SIGHUP end the run here:
            // its futures are dropped, which removes its temporary files (tough's datastore,
            // partial targets, an unfinished bundle); then the writers on blocking threads get
            // a moment to finish removing theirs.
            let code = rt.block_on(async {
                tokio::select! {
                    code = run(cli) => code,
                    signal = stopped() => {
                        eprintln!("tufwatch: stopped by {signal}: no verdict; the run's temporary files are removed");
                        tufwatch::report::EXIT_COULD_NOT_RUN
                    }
                }
            });
            rt.shutdown_timeout(std::time::Duration::from_secs(5));
            code
        }
        Err(e) => {
            eprintln!("tufwatch: error: cannot start the async runtime: {e}");
            tufwatch::report::EXIT_COULD_NOT_RUN
        }
    };
    std::process::exit(code);
}

/// The first of SIGTERM, SIGINT and SIGHUP to arrive, by name; never, where they cannot be
/// listened for.
#[cfg(unix)]
async fn stopped() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let listen = |kind: SignalKind, name: &'static str| async move {
        match signal(kind) {
            Ok(mut s) => {
                s.recv().await;
                name
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        name = listen(SignalKind::terminate(), "SIGTERM") => name,
        name = listen(SignalKind::interrupt(), "SIGINT") => name,
        name = listen(SignalKind::hangup(), "SIGHUP") => name,
    }
}

/// Ctrl-C, where there are no Unix signals.
#[cfg(not(unix))]
async fn stopped() -> &'static str {
    match tokio::signal::ctrl_c().await {
        Ok(()) => "Ctrl-C",
        Err(_) => std::future::pending().await,
    }
}

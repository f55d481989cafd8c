#![forbid(unsafe_code)]
//! The `tufwatch` binary: parse arguments, run the library, exit with the report's code.

use clap::Parser;
use tufwatch::cli::{run, Cli};

fn main() {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    // The TUF client's protocol knows two exit codes, 0 and 1: a panic (a bug) must still say 1.
    // It runs on one thread: it fetches one file at a time anyway, and a clock faked with
    // LD_PRELOAD (the conformance suite's faketime) is safest without threads.
    let client = matches!(cli.command, tufwatch::cli::Command::Client(_));
    if client {
        std::panic::set_hook(Box::new(|info| {
            tufwatch::cli::output::note(format_args!("tufwatch client: internal error: {info}"));
            std::process::exit(1);
        }));
    }
    let code = match runtime(client) {
        Ok(rt) => run_on(rt, cli, client),
        Err(e) => {
            tufwatch::cli::output::note(format_args!(
                "tufwatch: error: cannot start the async runtime: {e}"
            ));
            tufwatch::report::EXIT_COULD_NOT_RUN
        }
    };
    std::process::exit(code);
}

/// Log on stderr, as `-v` asks, or as `TUFWATCH_LOG` says.
fn init_logging(verbose: u8) {
    let filter = match verbose {
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
}

/// The async runtime: on one thread for the TUF client, on several otherwise.
fn runtime(client: bool) -> std::io::Result<tokio::runtime::Runtime> {
    // tokio panics where it cannot make its signal pipe or its threads (no file descriptor
    // left, a process limit): that is this machine's fault, exit 2, not a panic.
    without_panic(|| {
        if client {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        } else {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
        }
    })
    .unwrap_or_else(|why| Err(std::io::Error::other(why)))
}

/// Run the command line on `rt` until it ends, or a signal stops it; the exit code.
fn run_on(rt: tokio::runtime::Runtime, cli: Cli, client: bool) -> i32 {
    // SIGTERM (systemd, Kubernetes on a timeout) and SIGINT end the run here: its
    // futures are dropped, which removes its temporary files (tough's datastore,
    // partial targets, an unfinished bundle); then the writers on blocking threads get
    // a moment to finish removing theirs. The signal is awaited on a task of its own, so
    // that a run stuck in a blocking read (a FIFO, a hung file system) still ends: then
    // after a grace period, without its cleanup.
    let stopped_code = if client {
        1 // the client protocol's only failure code
    } else {
        tufwatch::report::EXIT_COULD_NOT_RUN
    };
    let told = watch_signals(&rt, stopped_code);
    let code = rt.block_on(async {
        tokio::select! {
            code = run(cli) => code,
            Ok(signal) = told => {
                tufwatch::cli::output::note(format_args!("tufwatch: stopped by {signal}: no verdict; the run's temporary files are removed"));
                stopped_code
            }
        }
    });
    rt.shutdown_timeout(std::time::Duration::from_secs(5));
    code
}

/// Listen for SIGTERM and SIGINT on a task of `rt`: the receiver hears the first, and the
/// process ends with `stopped_code` when the run has not stopped within [`GRACE`].
fn watch_signals(
    rt: &tokio::runtime::Runtime,
    stopped_code: i32,
) -> tokio::sync::oneshot::Receiver<&'static str> {
    let (tell, told) = tokio::sync::oneshot::channel();
    let stop = {
        let _in_runtime = rt.enter();
        // Where the signal handlers cannot be made, the run goes on without them.
        without_panic(stopped).ok()
    };
    rt.spawn(async move {
        let Some(stop) = stop else {
            return std::future::pending().await;
        };
        let signal = stop.await;
        let _ = tell.send(signal);
        tokio::time::sleep(GRACE).await;
        tufwatch::cli::output::note(format_args!("tufwatch: stopped by {signal}: the run did not stop within {} s; its temporary files may remain (a later run removes them)", GRACE.as_secs()));
        std::process::exit(stopped_code);
    });
    told
}

/// `make()`, or the message it panicked with (silently: the caller says what failed).
fn without_panic<T>(make: impl FnOnce() -> T + std::panic::UnwindSafe) -> Result<T, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let made = std::panic::catch_unwind(make);
    std::panic::set_hook(hook);
    made.map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "no file descriptor or thread left".to_owned())
    })
}

/// How long a stopped run has to drop what it holds before the process ends anyway.
const GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// The first of SIGTERM and SIGINT to arrive, by name; never, where they cannot be listened for.
/// (SIGHUP keeps its default: a run under `nohup` must not start to listen for it.) The
/// handlers are installed when this is called (inside the runtime, before the run starts), so
/// that a signal early in the run is not the default's sudden death.
#[cfg(unix)]
fn stopped() -> impl std::future::Future<Output = &'static str> {
    use tokio::signal::unix::{signal, SignalKind};
    let listening: Vec<_> = [
        (SignalKind::terminate(), "SIGTERM"),
        (SignalKind::interrupt(), "SIGINT"),
    ]
    .into_iter()
    .filter_map(|(kind, name)| signal(kind).ok().map(|s| (s, name)))
    .collect();
    async move {
        if listening.is_empty() {
            return std::future::pending().await;
        }
        let waits = listening.into_iter().map(|(mut s, name)| {
            Box::pin(async move {
                s.recv().await;
                name
            })
        });
        futures::future::select_all(waits).await.0
    }
}

/// Ctrl-C, where there are no Unix signals.
#[cfg(not(unix))]
fn stopped() -> impl std::future::Future<Output = &'static str> {
    async {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            Err(_) => std::future::pending().await,
        }
    }
}

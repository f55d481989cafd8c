//! Load a repository with tough and its HTTP transport, then save the named targets (checked by
//! tough) into a directory: what Bottlerocket's updater does, without tufwatch.
//!
//!     plain-tough ROOT METADATA_URL TARGETS_URL OUT_DIR [TARGET...]

use std::process::ExitCode;
use tough::{HttpTransportBuilder, Prefix, RepositoryLoader, TargetName};
use url::Url;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        eprintln!("usage: plain-tough ROOT METADATA_URL TARGETS_URL OUT_DIR [TARGET...]");
        return ExitCode::from(2);
    }
    let run = async {
        let root = tokio::fs::read(&args[0]).await?;
        let repo = RepositoryLoader::new(&root, Url::parse(&args[1])?, Url::parse(&args[2])?)
            .transport(HttpTransportBuilder::new().build())
            .load()
            .await?;
        tokio::fs::create_dir_all(&args[3]).await?;
        for name in &args[4..] {
            repo.save_target(&TargetName::new(name.as_str())?, &args[3], Prefix::None)
                .await?;
        }
        Ok::<(), Box<dyn std::error::Error>>(())
    };
    match run.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("plain-tough: {e}");
            ExitCode::from(1)
        }
    }
}

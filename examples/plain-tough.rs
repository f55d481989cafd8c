//! tough alone, for comparison in `scripts/measure_verify.py`: load a repository from
//! local directories with tough's own file transport and default settings, print the number of
//! targets. Run: `cargo run --release --example plain-tough -- ROOT METADATA-DIR TARGETS-DIR`

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [root, metadata, targets] = args.as_slice() else {
        return Err("usage: plain-tough ROOT METADATA-DIR TARGETS-DIR".into());
    };
    let dir_url = |p: &str| -> Result<url::Url, Box<dyn std::error::Error>> {
        url::Url::from_directory_path(std::fs::canonicalize(p)?)
            .map_err(|()| "not a directory".into())
    };
    let root = std::fs::read(root)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let repo = rt.block_on(
        tough::RepositoryLoader::new(&root, dir_url(metadata)?, dir_url(targets)?)
            .transport(tough::FilesystemTransport)
            .load(),
    )?;
    println!("{}", repo.targets().signed.targets_iter().count());
    Ok(())
}

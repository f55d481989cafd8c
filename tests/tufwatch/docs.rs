//! The documentation names tests that exist: every `file::function` that docs/threat-model.md
//! cites as the proof of a defence is a test function in `tests/tufwatch/<file>.rs`.

use crate::common::project;

#[test]
fn the_threat_model_cites_tests_that_exist() {
    let text = std::fs::read_to_string(project().join("docs/threat-model.md")).unwrap();
    let mut cited = 0;
    for part in text.split('`').skip(1).step_by(2) {
        let Some((file, function)) = part.split_once("::") else {
            continue;
        };
        if file == "file"
            || !file.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            || !function
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            continue;
        }
        let source = std::fs::read_to_string(project().join(format!("tests/tufwatch/{file}.rs")))
            .unwrap_or_else(|e| panic!("docs/threat-model.md cites tests/tufwatch/{file}.rs: {e}"));
        assert!(
            source.contains(&format!("fn {function}()")),
            "docs/threat-model.md cites {file}::{function}, which tests/tufwatch/{file}.rs does not define"
        );
        cited += 1;
    }
    assert!(cited > 30, "only {cited} tests cited");
}

/// The suite passes on a clone made anywhere: nothing the tests, benchmarks, scripts or fuzz
/// targets run reads the data folder that exists only beside this checkout.
#[test]
fn nothing_reads_data_from_outside_the_repository() {
    // Built from parts, so that this file does not match itself.
    let needles = [["..", "/shared"].concat(), ["shared", "/data/"].concat()];
    let mut offenders = Vec::new();
    let mut stack: Vec<std::path::PathBuf> = ["src", "tests", "benches", "scripts", "fuzz", ".ci"]
        .iter()
        .map(|d| project().join(d))
        .collect();
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if ["target", "corpus", "artifacts"].contains(&name) {
                continue;
            }
            stack.extend(
                std::fs::read_dir(&path)
                    .unwrap()
                    .flatten()
                    .map(|e| e.path()),
            );
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            if needles.iter().any(|n| text.contains(n.as_str())) {
                offenders.push(path.display().to_string());
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "these name {needles:?} (read fixtures/ instead): {offenders:?}"
    );
}

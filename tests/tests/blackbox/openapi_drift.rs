//! The OpenAPI documents in `api_docs/` match the code. On drift the test
//! rewrites the file (review and commit it) and fails, so CI on a clean
//! checkout catches a spec that was not committed.

use std::path::PathBuf;

#[test]
fn api_docs_match_the_code() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../api_docs");
    let mut drifted = Vec::new();
    for (name, spec) in [("train", train::openapi()), ("infer", infer::openapi()), ("monitor", monitor::openapi())] {
        let path = root.join(format!("{name}.json"));
        let current = spec.to_pretty_json().expect("spec serializes") + "\n";
        if std::fs::read_to_string(&path).ok().as_deref() != Some(current.as_str()) {
            std::fs::write(&path, current).expect("api_docs is writable");
            drifted.push(path.display().to_string());
        }
    }
    assert!(drifted.is_empty(), "rewritten from the code, review and commit: {drifted:?}");
}

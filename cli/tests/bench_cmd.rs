//! `metisvm bench`: a small real workload timed on both engines after they agree, the JSON
//! shape, and bad input rejected with a one-line error and exit code 2.

mod common;

use common::{metisvm, stderr, stdout};

/// The benchmark folder the CLI reads by default.
fn benchmarks() -> String {
    std::env::var("METISVM_BENCHMARKS")
        .unwrap_or_else(|_| format!("{}/../../shared/benchmarks", env!("CARGO_MANIFEST_DIR")))
}

#[test]
fn signextend_on_every_engine_as_json() {
    let path = format!("{}/evm-benchmarks/micro/signextend.json", benchmarks());
    let out = metisvm(&["bench", &path, "--rounds", "1", "--min-time", "0", "--json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("stdout is one JSON object");
    let results = json["results"].as_array().expect("a results array");
    assert!(json["mismatches"].as_array().is_some_and(Vec::is_empty), "{json}");
    // Two labelled inputs (zero, one), four engines each.
    assert_eq!(results.len(), 8, "{json}");
    for workload in ["signextend/zero", "signextend/one"] {
        for engine in ["interp", "jit", "jit-nocache", "revm"] {
            let entry = results
                .iter()
                .find(|r| r["workload"] == workload && r["engine"] == engine)
                .unwrap_or_else(|| panic!("{workload} on {engine} missing: {json}"));
            for key in ["median_ns", "min_ns", "max_ns", "gas_used", "runs"] {
                assert!(entry[key].as_u64().is_some(), "{key} of {workload}/{engine}: {entry}");
            }
            assert_eq!(entry["runs"], 1);
            assert!(entry["gas_used"].as_u64().unwrap() > 21_000);
            assert!(entry["ratio_vs_revm"].as_f64().is_some_and(|r| r > 0.0), "{entry}");
        }
        let gas: Vec<_> =
            results.iter().filter(|r| r["workload"] == workload).map(|r| &r["gas_used"]).collect();
        assert!(gas.iter().all(|g| *g == gas[0]), "every engine used the same gas");
    }
}

#[test]
fn paths_under_the_benchmark_folder_and_one_engine() {
    let out = metisvm(&[
        "bench",
        "--benchmarks",
        &benchmarks(),
        "evm-benchmarks/micro/signextend.json",
        "--engines",
        "interp",
        "--rounds",
        "1",
        "--filter",
        "zero",
    ]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let table = stdout(&out);
    assert!(table.contains("micro/signextend/zero") && !table.contains("signextend/one"), "{table}");
    assert!(table.contains("geometric mean"), "{table}");
}

#[test]
fn bad_input_exits_with_code_2() {
    for (args, needle) in [
        (vec!["bench", "no/such/file.json"], "no/such/file.json: no such file or folder"),
        (vec!["bench", "--engines", "evmone", "x"], "unknown engine \"evmone\""),
        (vec!["bench", "--rounds", "0", "x"], "--rounds"),
        (vec!["bench", "--calldata", "0xzz", "x"], "--calldata"),
        (vec!["bench", "--fork", "Nope", "x"], "--fork"),
    ] {
        let out = metisvm(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert!(err.starts_with("error: ") && err.contains(needle), "{args:?}: {err}");
    }
    let file = common::TempFile::new("bench.json", r#"{"t": {"env": {}, "pre": {}, "transaction": [{}]}}"#);
    let out = metisvm(&["bench", file.path()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(file.path()) && err.contains("field \"env.currentNumber\": missing"), "{err}");
}

#[test]
fn state_bench_reports_commits_reads_reopening_and_compaction() {
    // 21 versions with 16 retained: compaction has five versions' records to drop.
    let out =
        metisvm(&["bench", "state", "--accounts", "2000", "--batch", "100", "--rounds", "20", "--json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("stdout is one JSON object");
    assert_eq!(json["accounts"], 2000);
    for key in [
        "updates_per_second",
        "hot_account_read_ns",
        "cold_account_read_ns",
        "open_seconds",
        "compact_seconds",
    ] {
        assert!(json[key].as_f64().is_some_and(|v| v > 0.0), "{key}: {json}");
    }
    let before = json["file_bytes"].as_u64().expect("file_bytes");
    let after = json["compacted_file_bytes"].as_u64().expect("compacted_file_bytes");
    assert!(0 < after && after < before, "{json}");
}

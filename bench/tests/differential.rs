//! Differential check behind every benchmark: MetisVM and revm must agree on each workload
//! (status, gas used, return data, logs and the final world) before their timings mean anything.

use metisvm_bench::load::{load_file, LoadOptions};
use metisvm_bench::{benchmarks_dir, check_agreement, EngineKind};

#[test]
fn snailtracer_metisvm_matches_revm() {
    let path = benchmarks_dir().join("revm/snailtracer.hex");
    let workloads = load_file(&path, &LoadOptions::default())
        .unwrap_or_else(|err| panic!("snailtracer input (set METISVM_BENCHMARKS): {err}"));
    let agreed = check_agreement(&workloads[0], &EngineKind::ALL).unwrap_or_else(|err| panic!("{err}"));
    assert!(!agreed.result.txs[0].output.is_empty(), "snailtracer returns the rendered image");
}

//! Differential check behind every benchmark: MetisVM and revm must agree on each workload
//! (success, output bytes, gas used) before their timings mean anything.

use metisvm_bench::{check_agreement, Workload};

#[test]
fn snailtracer_metisvm_matches_revm() {
    let workload = Workload::snailtracer().expect("snailtracer input (set METISVM_BENCHMARKS)");
    let outcome = check_agreement(&workload).unwrap_or_else(|err| panic!("{err:#}"));
    assert!(!outcome.output.is_empty(), "snailtracer returns the rendered image");
}

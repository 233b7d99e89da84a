//! Reports of a benchmark run: a table for the terminal, one JSON object, and a folder with a
//! Markdown report and an SVG chart of the ratios.
//!
//! The ratio is revm's median over MetisVM's, measured in the same interleaved run: above 1
//! means MetisVM is faster. The summary is the geometric mean of the ratios, the mean that
//! treats "twice as fast" and "half as fast" symmetrically.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::engines::EngineKind;
use crate::machine::Machine;
use crate::timing::Stats;
use crate::WorkloadReport;

/// The geometric mean of `ratios`; `None` when there are none or one is not positive.
pub fn geomean(ratios: impl IntoIterator<Item = f64>) -> Option<f64> {
    let (mut sum, mut count) = (0.0, 0usize);
    for ratio in ratios {
        if ratio.is_nan() || ratio <= 0.0 {
            return None;
        }
        sum += ratio.ln();
        count += 1;
    }
    (count > 0).then(|| (sum / count as f64).exp())
}

/// The geometric mean of the ratios of every timed workload of `reports`.
pub fn geomean_of(reports: &[WorkloadReport]) -> Option<f64> {
    geomean(reports.iter().filter_map(WorkloadReport::ratio))
}

/// The geometric mean of revm/`engine` over the workloads `engine` was timed on, if any.
pub fn engine_geomean_of(reports: &[WorkloadReport], engine: EngineKind) -> Option<f64> {
    geomean(reports.iter().filter_map(|r| r.ratio_of(engine)))
}

/// MetisVM's engines besides the interpreter, whose ratios get their own column.
const COMPILED: [EngineKind; 2] = [EngineKind::Jit, EngineKind::JitNoCache];

/// A duration in the unit that suits it: `812.3 µs`, `12.41 ms`, `1.204 s`.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 1e-3 {
        format!("{:.1} µs", secs * 1e6)
    } else if secs < 1.0 {
        format!("{:.2} ms", secs * 1e3)
    } else {
        format!("{secs:.3} s")
    }
}

/// Gas per second in `Mgas/s` (or `Ggas/s` from a billion on).
pub fn format_rate(gas_per_second: f64) -> String {
    if gas_per_second >= 1e9 {
        format!("{:.2} Ggas/s", gas_per_second / 1e9)
    } else {
        format!("{:.1} Mgas/s", gas_per_second / 1e6)
    }
}

fn median_cell(stats: Option<&Stats>) -> String {
    match stats {
        Some(s) => format!(
            "{} [{} .. {}]",
            format_duration(s.median),
            format_duration(s.min),
            format_duration(s.max)
        ),
        None => "-".to_string(),
    }
}

fn rate_cell(report: &WorkloadReport, engine: EngineKind) -> String {
    report.stats(engine).map_or_else(|| "-".to_string(), |s| format_rate(s.gas_per_second(report.gas_used)))
}

fn ratio_cell(report: &WorkloadReport) -> String {
    report.ratio().map_or_else(|| "-".to_string(), |r| format!("{r:.2}x"))
}

/// The rows of the table: workload, per engine the median [min .. max] and gas/s, the ratio.
fn rows(reports: &[WorkloadReport], engines: &[EngineKind]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header = vec!["workload".to_string()];
    header.extend(engines.iter().map(|e| format!("{e} median [min .. max]")));
    header.push("revm/interp".to_string());
    let compiled: Vec<EngineKind> = if engines.contains(&EngineKind::Revm) {
        COMPILED.into_iter().filter(|e| engines.contains(e)).collect()
    } else {
        Vec::new()
    };
    header.extend(compiled.iter().map(|e| format!("revm/{e}")));
    header.extend(engines.iter().map(|e| format!("{e} gas/s")));
    let rows = reports
        .iter()
        .map(|r| {
            let mut row = vec![r.id()];
            if let Err(err) = &r.verdict {
                let what = match err {
                    crate::CheckError::Mismatch(_) => "MISMATCH (not timed)",
                    crate::CheckError::Failed(_) => "FAILED (not timed)",
                };
                row.push(what.to_string());
                return row;
            }
            row.extend(engines.iter().map(|e| median_cell(r.stats(*e))));
            row.push(ratio_cell(r));
            for &engine in &compiled {
                row.push(r.ratio_of(engine).map_or_else(|| "-".to_string(), |x| format!("{x:.2}x")));
            }
            row.extend(engines.iter().map(|e| rate_cell(r, *e)));
            row
        })
        .collect();
    (header, rows)
}

/// The terminal table, with the geometric mean underneath.
pub fn text_table(reports: &[WorkloadReport], engines: &[EngineKind]) -> String {
    let (header, rows) = rows(reports, engines);
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        // A failure's single note spans the remaining columns; it does not widen them.
        if row.len() == header.len() {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        } else {
            widths[0] = widths[0].max(row[0].chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let width = widths.get(i).copied().unwrap_or(0);
            let pad = width.saturating_sub(cell.chars().count());
            if i == 0 || cells.len() < header.len() {
                let _ = write!(out, "{cell}{}  ", " ".repeat(pad));
            } else {
                let _ = write!(out, "{}{cell}  ", " ".repeat(pad));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = line(&header);
    out.push('\n');
    out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1)));
    out.push('\n');
    for row in &rows {
        out.push_str(&line(row));
        out.push('\n');
    }
    out.push_str(&summary_line(reports));
    out.push('\n');
    out
}

/// `geometric mean of revm/interp over N workloads: 1.23x (>1: MetisVM faster)`.
pub fn summary_line(reports: &[WorkloadReport]) -> String {
    let count = reports.iter().filter(|r| r.ratio().is_some()).count();
    let line = match geomean_of(reports) {
        Some(g) => {
            format!("geometric mean of revm/interp over {count} workloads: {g:.3}x (>1: MetisVM faster)")
        }
        None => "geometric mean of revm/interp: - (no workload timed on both engines)".to_string(),
    };
    COMPILED.into_iter().fold(line, |line, engine| match engine_geomean_of(reports, engine) {
        Some(g) => format!("{line}; of revm/{engine}: {g:.3}x"),
        None => line,
    })
}

/// One JSON object: `results` (one entry per workload and engine), `mismatches`, the geometric
/// mean and the machine.
pub fn json_report(reports: &[WorkloadReport], machine: &Machine) -> Value {
    let mut results = Vec::new();
    let mut failures = Vec::new();
    for r in reports {
        match &r.verdict {
            Ok(stats) => {
                for s in stats {
                    results.push(json!({
                        "workload": r.workload,
                        "suite": r.suite,
                        "engine": s.engine.name(),
                        "median_ns": s.median.as_nanos() as u64,
                        "min_ns": s.min.as_nanos() as u64,
                        "max_ns": s.max.as_nanos() as u64,
                        "gas_used": r.gas_used,
                        "runs": s.runs,
                        "txs": r.txs,
                        "success": r.succeeded,
                        "gas_per_sec": s.gas_per_second(r.gas_used),
                        "ratio_vs_revm": ratio_vs_revm(r, s),
                    }));
                }
            }
            Err(err) => {
                let (kind, details) = match err {
                    crate::CheckError::Mismatch(lines) => ("mismatch", lines.clone()),
                    crate::CheckError::Failed(message) => ("failed", vec![message.clone()]),
                };
                failures.push(
                    json!({"workload": r.workload, "suite": r.suite, "kind": kind, "details": details}),
                );
            }
        }
    }
    json!({
        "results": results,
        "mismatches": failures,
        "geomean_ratio_vs_revm": geomean_of(reports),
        "geomean_jit_ratio_vs_revm": engine_geomean_of(reports, EngineKind::Jit),
        "geomean_jit_nocache_ratio_vs_revm": engine_geomean_of(reports, EngineKind::JitNoCache),
        "machine": machine_json(machine),
    })
}

/// revm's median over this engine's (1 for revm itself); `null` without a revm time.
fn ratio_vs_revm(report: &WorkloadReport, stats: &Stats) -> Option<f64> {
    let revm = report.stats(EngineKind::Revm)?.median.as_secs_f64();
    let ours = stats.median.as_secs_f64();
    (ours > 0.0).then(|| revm / ours)
}

fn machine_json(machine: &Machine) -> Value {
    json!({"nproc": machine.nproc, "cpu_model": machine.cpu_model, "os": machine.os, "date": machine.date})
}

/// The Markdown report: machine, settings, table, geometric mean, failures, chart.
pub fn markdown(
    reports: &[WorkloadReport],
    engines: &[EngineKind],
    machine: &Machine,
    settings: &str,
) -> String {
    let mut out = String::from("# MetisVM benchmark report\n\n");
    let _ = writeln!(out, "- date: {}", machine.date);
    let _ =
        writeln!(out, "- machine: {} ({} logical CPUs, {})", machine.cpu_model, machine.nproc, machine.os);
    let _ = writeln!(out, "- settings: {settings}");
    let _ =
        writeln!(out, "- ratio: revm median / interp median, same interleaved run (>1: MetisVM faster)\n");
    let (header, rows) = rows(reports, engines);
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", " --- |".repeat(header.len()));
    for mut row in rows {
        row.resize(header.len(), String::new());
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    let _ = writeln!(out, "\n**{}**\n", summary_line(reports));
    let failed: Vec<_> = reports.iter().filter_map(|r| r.verdict.as_ref().err().map(|e| (r, e))).collect();
    if !failed.is_empty() {
        out.push_str("## Not timed\n\n");
        for (r, err) in failed {
            let _ = writeln!(out, "- `{}`: {err}", r.id());
        }
        out.push('\n');
    }
    out.push_str("![revm/interp ratio per workload](ratios.svg)\n");
    out
}

/// Writes `report.md` and `ratios.svg` into `dir`, creating it.
pub fn write_report_dir(
    dir: &Path,
    reports: &[WorkloadReport],
    engines: &[EngineKind],
    machine: &Machine,
    settings: &str,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("report.md"), markdown(reports, engines, machine, settings))?;
    let bars: Vec<(String, f64)> = reports.iter().filter_map(|r| Some((r.id(), r.ratio()?))).collect();
    std::fs::write(dir.join("ratios.svg"), crate::svg::ratio_chart(&bars, geomean_of(reports)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CheckError;

    fn report(name: &str, interp_ms: u64, revm_ms: u64) -> WorkloadReport {
        let stats = |engine, ms| Stats {
            engine,
            median: Duration::from_millis(ms),
            min: Duration::from_millis(ms - 1),
            max: Duration::from_millis(ms + 1),
            runs: 3,
        };
        WorkloadReport {
            workload: name.to_string(),
            suite: "s".to_string(),
            txs: 1,
            gas_used: 1_000_000,
            succeeded: true,
            verdict: Ok(vec![stats(EngineKind::Interp, interp_ms), stats(EngineKind::Revm, revm_ms)]),
        }
    }

    fn sample() -> Vec<WorkloadReport> {
        let mut bad = report("bad", 2, 2);
        bad.verdict = Err(CheckError::Mismatch(vec!["tx 0: gas used revm 1 vs interp 2 (+1)".into()]));
        vec![report("fast", 5, 10), report("slow", 8, 4), bad]
    }

    #[test]
    fn geometric_mean() {
        assert!((geomean([2.0, 0.5]).unwrap() - 1.0).abs() < 1e-12);
        assert!((geomean([4.0, 1.0]).unwrap() - 2.0).abs() < 1e-12);
        assert_eq!(geomean([]), None);
        assert_eq!(geomean([1.0, 0.0]), None);
        assert!((geomean_of(&sample()).unwrap() - 1.0).abs() < 1e-12, "2x and 0.5x, the mismatch left out");
    }

    #[test]
    fn jit_ratios_get_their_column_and_mean() {
        let mut with_jit = report("jitted", 6, 12);
        if let Ok(stats) = &mut with_jit.verdict {
            let mut jit = stats[0];
            jit.engine = EngineKind::Jit;
            jit.median = Duration::from_millis(3);
            stats.push(jit);
        }
        assert_eq!(with_jit.ratio_of(EngineKind::Jit), Some(4.0));
        let table = text_table(&[with_jit], &EngineKind::ALL);
        assert!(table.contains("revm/jit") && table.contains("4.00x"), "{table}");
        assert!(table.contains("of revm/jit: 4.000x"), "{table}");
    }

    #[test]
    fn units() {
        assert_eq!(format_duration(Duration::from_micros(812)), "812.0 µs");
        assert_eq!(format_duration(Duration::from_micros(12_410)), "12.41 ms");
        assert_eq!(format_duration(Duration::from_millis(1_204)), "1.204 s");
        assert_eq!(format_rate(2.5e8), "250.0 Mgas/s");
        assert_eq!(format_rate(1.25e9), "1.25 Ggas/s");
    }

    #[test]
    fn table_lists_ratios_and_mismatches() {
        let table = text_table(&sample(), &EngineKind::ALL);
        assert!(table.contains("s/fast") && table.contains("2.00x") && table.contains("0.50x"), "{table}");
        assert!(table.contains("s/bad") && table.contains("MISMATCH"), "{table}");
        assert!(table.contains("geometric mean of revm/interp over 2 workloads: 1.000x"), "{table}");
        assert!(table.contains("200.0 Mgas/s"), "1e6 gas in 5 ms:\n{table}");
    }

    #[test]
    fn json_shape() {
        let machine = Machine { nproc: 2, cpu_model: "cpu".into(), os: "linux".into(), date: "d".into() };
        let value = json_report(&sample(), &machine);
        let results = value["results"].as_array().unwrap();
        assert_eq!(results.len(), 4);
        let first = &results[0];
        for key in ["workload", "engine", "median_ns", "min_ns", "max_ns", "gas_used", "runs"] {
            assert!(!first[key].is_null(), "{key} missing: {first}");
        }
        assert_eq!(first["engine"], "interp");
        assert_eq!(first["median_ns"], 5_000_000);
        assert_eq!(first["ratio_vs_revm"], 2.0);
        assert_eq!(value["mismatches"][0]["workload"], "bad");
        assert_eq!(value["machine"]["nproc"], 2);
    }

    #[test]
    fn report_folder() {
        let dir = std::env::temp_dir().join(format!("metisvm-bench-report-{}", std::process::id()));
        let machine = Machine { nproc: 2, cpu_model: "cpu".into(), os: "linux".into(), date: "d".into() };
        write_report_dir(&dir, &sample(), &EngineKind::ALL, &machine, "5 rounds").unwrap();
        let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
        assert!(
            md.contains("| s/fast |") && md.contains("2 logical CPUs") && md.contains("## Not timed"),
            "{md}"
        );
        let svg = std::fs::read_to_string(dir.join("ratios.svg")).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("s/slow"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! Interleaved timing of several engines on one workload.
//!
//! Engines take turns, A B A B ..., one run each per round, so that drift in the machine
//! (frequency scaling, a neighbour's build) lands on all of them alike instead of on whichever
//! ran last. Each engine first gets untimed warm-up runs. Only [`Runner::run`] is inside the
//! timer; its [`Runner::prepare`] runs just before, untimed. Each timed run's gas is checked
//! against the gas the differential check agreed on, so a run that silently did something else
//! is an error rather than a fast number.

use std::time::{Duration, Instant};

use crate::engines::{EngineError, EngineKind, Runner};

/// How long and how often to measure.
#[derive(Debug, Clone, Copy)]
pub struct TimingOptions {
    /// Untimed runs of each engine before measuring.
    pub warmup: usize,
    /// Timed runs of each engine (at least).
    pub rounds: usize,
    /// Keep adding rounds until they have taken at least this long per engine, counted over
    /// all engines with set-up included (so an engine that compiles before every run, like
    /// `jit-nocache`, cuts the rounds short instead of making them endless).
    pub min_time: Option<Duration>,
    /// How the `jit` engine compiles: every optimisation by default; turned off one at a
    /// time to measure what each is worth.
    pub jit_options: metisvm_jit::CompileOptions,
}

impl Default for TimingOptions {
    fn default() -> Self {
        TimingOptions {
            warmup: 1,
            rounds: 10,
            min_time: None,
            jit_options: metisvm_jit::CompileOptions::default(),
        }
    }
}

/// Summary statistics of one engine's timed runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// The engine.
    pub engine: EngineKind,
    /// Median run time (the mean of the middle two for an even count).
    pub median: Duration,
    /// Fastest run.
    pub min: Duration,
    /// Slowest run.
    pub max: Duration,
    /// Number of timed runs.
    pub runs: usize,
}

impl Stats {
    /// Statistics of `times`; `None` when there are none.
    pub fn of(engine: EngineKind, times: &[Duration]) -> Option<Stats> {
        let mut sorted = times.to_vec();
        sorted.sort_unstable();
        let (&min, &max) = (sorted.first()?, sorted.last()?);
        let mid = sorted.len() / 2;
        let median =
            if sorted.len().is_multiple_of(2) { (sorted[mid - 1] + sorted[mid]) / 2 } else { sorted[mid] };
        Some(Stats { engine, median, min, max, runs: sorted.len() })
    }

    /// Gas per second at the median time.
    pub fn gas_per_second(&self, gas: u64) -> f64 {
        let secs = self.median.as_secs_f64();
        if secs > 0.0 {
            gas as f64 / secs
        } else {
            0.0
        }
    }
}

/// Measures `runners` interleaved; every timed run must use `expected_gas`.
pub fn measure(
    runners: &mut [Box<dyn Runner>],
    expected_gas: u64,
    options: &TimingOptions,
) -> Result<Vec<Stats>, EngineError> {
    for runner in runners.iter_mut() {
        for _ in 0..options.warmup {
            runner.prepare();
            runner.run()?;
        }
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(options.rounds); runners.len()];
    // Time spent in rounds so far (set-up and timed run), per runner.
    let mut totals = vec![Duration::ZERO; runners.len()];
    let mut round = 0;
    loop {
        let enough_rounds = round >= options.rounds.max(1);
        // Time is counted over all engines together: waiting for each engine to reach it
        // would run a microsecond workload's interpreter for thousands of rounds, each with
        // `jit-nocache` compiling before its run.
        let spent: Duration = totals.iter().sum();
        let enough_time = options.min_time.is_none_or(|min| spent >= min * runners.len() as u32);
        if enough_rounds && enough_time {
            break;
        }
        for ((runner, samples), total) in runners.iter_mut().zip(&mut times).zip(&mut totals) {
            let set_up = Instant::now();
            runner.prepare();
            let start = Instant::now();
            let gas = runner.run();
            let elapsed = start.elapsed();
            let spent = set_up.elapsed();
            let gas = gas?;
            if gas != expected_gas {
                let message = format!("a timed run used {gas} gas, the checked run {expected_gas}");
                return Err(EngineError { engine: runner.kind(), message });
            }
            samples.push(elapsed);
            *total += spent;
        }
        round += 1;
    }
    Ok(runners.iter().zip(&times).filter_map(|(runner, t)| Stats::of(runner.kind(), t)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::RunResult;

    /// The order runners were called in, shared by all of them.
    type CallLog = std::rc::Rc<std::cell::RefCell<Vec<&'static str>>>;

    /// A runner that records the order it was called in.
    struct Fake {
        kind: EngineKind,
        gas: u64,
        log: CallLog,
        /// Untimed set-up before every run (as `jit-nocache` compiles).
        set_up: Duration,
    }

    impl Runner for Fake {
        fn kind(&self) -> EngineKind {
            self.kind
        }
        fn execute(&mut self) -> Result<RunResult, EngineError> {
            Ok(RunResult::default())
        }
        fn prepare(&mut self) {
            std::thread::sleep(self.set_up);
        }
        fn run(&mut self) -> Result<u64, EngineError> {
            self.log.borrow_mut().push(self.kind.name());
            Ok(self.gas)
        }
    }

    fn fakes(gas: [u64; 2]) -> (Vec<Box<dyn Runner>>, CallLog) {
        let log = CallLog::default();
        let runners: Vec<Box<dyn Runner>> = [EngineKind::Interp, EngineKind::Revm]
            .into_iter()
            .zip(gas)
            .map(|(kind, gas)| {
                let set_up = if kind == EngineKind::Revm { Duration::from_millis(5) } else { Duration::ZERO };
                Box::new(Fake { kind, gas, log: std::rc::Rc::clone(&log), set_up }) as Box<dyn Runner>
            })
            .collect();
        (runners, log)
    }

    #[test]
    fn engines_are_interleaved_after_warm_up() {
        let (mut runners, log) = fakes([7, 7]);
        let options = TimingOptions { warmup: 1, rounds: 2, ..TimingOptions::default() };
        let stats = measure(&mut runners, 7, &options).unwrap();
        assert_eq!(*log.borrow(), ["interp", "revm", "interp", "revm", "interp", "revm"]);
        assert_eq!(stats.len(), 2);
        assert!(stats.iter().all(|s| s.runs == 2 && s.min <= s.median && s.median <= s.max));
    }

    #[test]
    fn min_time_counts_set_up_so_slow_set_ups_get_fewer_rounds() {
        // The fake revm spends 5 ms setting up each run and nothing running it; the fake
        // interp spends (almost) nothing in either. 20 ms per engine, 40 ms for the two: about
        // eight rounds, where waiting for the fake interp's own 20 ms would take thousands.
        let (mut runners, log) = fakes([7, 7]);
        let options = TimingOptions {
            warmup: 0,
            rounds: 1,
            min_time: Some(Duration::from_millis(20)),
            ..TimingOptions::default()
        };
        let stats = measure(&mut runners, 7, &options).unwrap();
        let revm_runs = log.borrow().iter().filter(|name| **name == "revm").count();
        assert!((6..=8).contains(&revm_runs), "{revm_runs} rounds");
        assert!(stats.iter().all(|s| s.runs == revm_runs), "engines stay interleaved round by round");
    }

    #[test]
    fn a_timed_run_with_other_gas_is_an_error() {
        let (mut runners, _) = fakes([7, 8]);
        let err = measure(&mut runners, 7, &TimingOptions::default()).unwrap_err();
        assert_eq!(err.engine, EngineKind::Revm);
        assert!(err.message.contains("8 gas"));
    }

    #[test]
    fn median_min_max() {
        let ms = Duration::from_millis;
        let stats = Stats::of(EngineKind::Interp, &[ms(5), ms(1), ms(3), ms(9)]).unwrap();
        assert_eq!((stats.median, stats.min, stats.max, stats.runs), (ms(4), ms(1), ms(9), 4));
        assert_eq!(Stats::of(EngineKind::Interp, &[ms(2), ms(1), ms(3)]).unwrap().median, ms(2));
        assert!(Stats::of(EngineKind::Revm, &[]).is_none());
        assert_eq!(stats.gas_per_second(4_000), 1e6);
    }
}

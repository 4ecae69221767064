//! Bootstrap uncertainty for the scores of `nerprep eval` (issue 19): a 95% percentile
//! interval for a micro or macro F1, and the paired-bootstrap p-value of the difference
//! between two prediction files on the same gold.
//!
//! Data enters as per-sample counts ([`SampleCounts`]: one [`Tally`] per type, for one
//! sample) and leaves as [`Interval`]s and [`PairedTest`]s. A resample draws as many samples
//! as there are, with replacement, and recomputes the F1 from their pooled counts. Resample
//! `b` draws from its own generator, seeded by `(seed, "resample#b")`
//! ([`crate::rng::Rng::for_sample`]), so the result does not depend on how rayon spreads the
//! resamples over threads: same counts and seed, same interval, at any thread count. Every
//! scope (all samples, one dataset, a second prediction file) uses the same draws, so two
//! scopes holding the same samples get the same interval, and a paired test draws the same
//! samples for both files.

use super::metrics::Tally;
use crate::rng::Rng;
use rayon::prelude::*;
use serde::Serialize;

/// The confidence level of every interval.
pub const LEVEL: f64 = 0.95;

/// How many resamples, from which seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bootstrap {
    /// Resamples per interval or test (at least 1).
    pub resamples: usize,
    /// Seed of every draw.
    pub seed: u64,
}

/// A two-sided percentile interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// The 2.5th percentile of the resampled values.
    pub low: f64,
    /// The 97.5th percentile of the resampled values.
    pub high: f64,
}

impl Interval {
    /// Whether `x` lies in the interval (ends included).
    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }
}

/// The counts of one scored sample, by type index (a scorer without types uses index 0).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SampleCounts {
    /// The sample id (pairs the samples of two prediction files).
    pub sample: String,
    /// The sample's dataset (scopes per-dataset intervals).
    pub dataset: String,
    /// `(type index, counts)`, each type at most once.
    pub tallies: Vec<(usize, Tally)>,
}

/// Per-sample counts of one scorer, with how many type indices they use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountTable {
    /// Type indices are `0..types`.
    pub types: usize,
    /// One entry per scored sample, in scoring order.
    pub samples: Vec<SampleCounts>,
}

impl CountTable {
    /// The samples of `dataset`, or all of them.
    pub fn scope(&self, dataset: Option<&str>) -> Vec<&SampleCounts> {
        self.samples.iter().filter(|s| dataset.is_none_or(|d| s.dataset == d)).collect()
    }

    /// [`intervals`] of the samples of `dataset` (or all).
    pub fn intervals(&self, dataset: Option<&str>, boot: Bootstrap) -> Option<(Interval, Interval)> {
        intervals(&self.scope(dataset), self.types, boot)
    }
}

/// Micro and macro F1 of pooled counts: micro from the sum over types, macro the mean F1 of
/// the types with any count (the point estimates' convention, see [`super::metrics`]).
fn micro_macro(by_type: &[Tally]) -> (f64, f64) {
    let mut pooled = Tally::default();
    let (mut f1_sum, mut types) = (0.0, 0usize);
    for t in by_type.iter().filter(|t| t.tp + t.fp + t.fn_ > 0) {
        pooled.add(*t);
        f1_sum += t.scores().f1;
        types += 1;
    }
    (pooled.scores().f1, if types == 0 { 0.0 } else { f1_sum / types as f64 })
}

/// Micro and macro F1 of the samples at `picks`.
fn scores_of(samples: &[&SampleCounts], picks: &[usize], types: usize) -> (f64, f64) {
    let mut by_type = vec![Tally::default(); types];
    for &i in picks {
        for (t, tally) in &samples[i].tallies {
            by_type[*t].add(*tally);
        }
    }
    micro_macro(&by_type)
}

/// Micro and macro F1 of all of `samples` (the point estimates a paired test starts from).
pub fn point_f1(samples: &[&SampleCounts], types: usize) -> (f64, f64) {
    let all: Vec<usize> = (0..samples.len()).collect();
    scores_of(samples, &all, types)
}

/// The sample positions of resample `b`: `n` draws with replacement.
fn draw(boot: Bootstrap, b: usize, n: usize) -> Vec<usize> {
    let mut rng = Rng::for_sample(boot.seed, &format!("resample#{b}"));
    (0..n).map(|_| rng.below(n)).collect()
}

/// The `q`-quantile of sorted values, interpolating linearly between neighbours (NumPy's
/// default `percentile`).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let h = q * (sorted.len() - 1) as f64;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The percentile interval of `values` at [`LEVEL`].
fn percentile_interval(mut values: Vec<f64>) -> Interval {
    values.sort_by(f64::total_cmp);
    let tail = (1.0 - LEVEL) / 2.0;
    Interval { low: quantile(&values, tail), high: quantile(&values, 1.0 - tail) }
}

/// 95% intervals of the micro and macro F1 of `samples` (`types` type indices), resampling
/// samples. `None` without samples.
pub fn intervals(samples: &[&SampleCounts], types: usize, boot: Bootstrap) -> Option<(Interval, Interval)> {
    if samples.is_empty() || boot.resamples == 0 {
        return None;
    }
    let values: Vec<(f64, f64)> =
        (0..boot.resamples).into_par_iter().map(|b| scores_of(samples, &draw(boot, b, samples.len()), types)).collect();
    let micro = percentile_interval(values.iter().map(|v| v.0).collect());
    let macro_ = percentile_interval(values.iter().map(|v| v.1).collect());
    Some((micro, macro_))
}

/// Which F1 a paired test compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Average {
    /// Micro F1 (pooled counts).
    Micro,
    /// Macro F1 (mean over types).
    Macro,
}

/// The paired-bootstrap comparison of one F1 between prediction files A and B.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairedTest {
    /// Which F1.
    pub average: Average,
    /// A's F1 on the paired samples.
    pub a: f64,
    /// B's F1 on the paired samples.
    pub b: f64,
    /// `b - a`.
    pub difference: f64,
    /// 95% interval of the difference.
    pub interval: Interval,
    /// Two-sided p-value of "no difference" (see [`paired_tests`]).
    pub p_value: f64,
}

/// Paired-bootstrap tests of the micro and macro F1 of two scorings of the same samples
/// (`a[i]` and `b[i]` are one sample). Every resample draws the same samples for both; the
/// differences, centred on the observed one, stand for the null distribution, and the
/// p-value is `(1 + #{|δ* − δ| ≥ |δ|}) / (N + 1)` (the shift method, with the usual +1 so
/// that it is never 0). `None` without samples.
pub fn paired_tests(
    a: &[&SampleCounts],
    a_types: usize,
    b: &[&SampleCounts],
    b_types: usize,
    boot: Bootstrap,
) -> Option<[PairedTest; 2]> {
    assert_eq!(a.len(), b.len(), "paired samples");
    if a.is_empty() || boot.resamples == 0 {
        return None;
    }
    let observed_a = point_f1(a, a_types);
    let observed_b = point_f1(b, b_types);
    let resampled: Vec<((f64, f64), (f64, f64))> = (0..boot.resamples)
        .into_par_iter()
        .map(|k| {
            let picks = draw(boot, k, a.len());
            (scores_of(a, &picks, a_types), scores_of(b, &picks, b_types))
        })
        .collect();
    let test = |average: Average, pick: fn(&(f64, f64)) -> f64| {
        let (fa, fb) = (pick(&observed_a), pick(&observed_b));
        let delta = fb - fa;
        let deltas: Vec<f64> = resampled.iter().map(|(ra, rb)| pick(rb) - pick(ra)).collect();
        let extreme = deltas.iter().filter(|d| (**d - delta).abs() >= delta.abs()).count();
        let p_value = (1 + extreme) as f64 / (boot.resamples + 1) as f64;
        PairedTest { average, a: fa, b: fb, difference: delta, interval: percentile_interval(deltas), p_value }
    };
    Some([test(Average::Micro, |v| v.0), test(Average::Macro, |v| v.1)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(id: usize, tallies: &[(usize, u64, u64, u64)]) -> SampleCounts {
        SampleCounts {
            sample: format!("s{id}"),
            dataset: "d".into(),
            tallies: tallies.iter().map(|&(t, tp, fp, fn_)| (t, Tally { tp, fp, fn_ })).collect(),
        }
    }

    /// 60 samples: type 0 mostly right, type 1 often wrong, in a fixed pattern.
    fn samples() -> Vec<SampleCounts> {
        (0..60).map(|i| sample(i, &[(0, 2 + (i % 3) as u64, (i % 2) as u64, (i % 4 == 0) as u64), (1, (i % 2) as u64, 1, (i % 5) as u64)])).collect()
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        // numpy.percentile([1, 2, 3, 4], 25) == 1.75, 97.5 → 3.925
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.25), 1.75);
        assert!((quantile(&v, 0.975) - 3.925).abs() < 1e-12);
        assert_eq!(quantile(&[5.0], 0.5), 5.0);
    }

    #[test]
    fn macro_counts_only_types_that_occur() {
        // Type 0: P = R = 1 → F1 1; type 1: tp 0 → F1 0; type 2 absent. Macro = 0.5.
        // Micro: tp 2, fp 1, fn 1 → P = R = 2/3 → F1 2/3.
        let (micro, macro_) = micro_macro(&[Tally { tp: 2, fp: 0, fn_: 0 }, Tally { tp: 0, fp: 1, fn_: 1 }, Tally::default()]);
        assert!((micro - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(macro_, 0.5);
    }

    #[test]
    fn intervals_contain_the_point_estimate_and_are_seeded() {
        let owned = samples();
        let refs: Vec<&SampleCounts> = owned.iter().collect();
        let boot = Bootstrap { resamples: 500, seed: 7 };
        let (micro, macro_) = intervals(&refs, 2, boot).unwrap();
        let (point_micro, point_macro) = point_f1(&refs, 2);
        assert!(micro.contains(point_micro), "{micro:?} {point_micro}");
        assert!(macro_.contains(point_macro), "{macro_:?} {point_macro}");
        assert!(micro.low < micro.high, "resampling varies the score");
        assert_eq!(intervals(&refs, 2, boot), Some((micro, macro_)));
        assert_ne!(intervals(&refs, 2, Bootstrap { seed: 8, ..boot }), Some((micro, macro_)));
        assert_eq!(intervals(&[], 2, boot), None);
    }

    #[test]
    fn intervals_do_not_depend_on_the_thread_count() {
        let owned = samples();
        let refs: Vec<&SampleCounts> = owned.iter().collect();
        let boot = Bootstrap { resamples: 300, seed: 3 };
        let at = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| (intervals(&refs, 2, boot), paired_tests(&refs, 2, &refs[..], 2, boot)))
        };
        assert_eq!(at(1), at(2));
    }

    #[test]
    fn identical_files_do_not_differ_and_a_better_file_does() {
        let a = samples();
        let refs: Vec<&SampleCounts> = a.iter().collect();
        let boot = Bootstrap { resamples: 400, seed: 1 };
        let same = paired_tests(&refs, 2, &refs, 2, boot).unwrap();
        // δ = 0: every resampled difference is 0 and as extreme: p = (1 + 400) / 401 = 1.
        assert_eq!(same[0].difference, 0.0);
        assert_eq!(same[0].p_value, 1.0);
        // B turns every false positive and miss of type 0 into a hit: clearly better.
        let b: Vec<SampleCounts> = a
            .iter()
            .map(|s| {
                let mut s = s.clone();
                let t = &mut s.tallies[0].1;
                *t = Tally { tp: t.tp + t.fn_, fp: 0, fn_: 0 };
                s
            })
            .collect();
        let b_refs: Vec<&SampleCounts> = b.iter().collect();
        let better = paired_tests(&refs, 2, &b_refs, 2, boot).unwrap();
        assert!(better[0].difference > 0.0);
        assert!(better[0].interval.low > 0.0, "{:?}", better[0]);
        assert!(better[0].p_value < 0.01, "{:?}", better[0]);
        assert_eq!(better[0].p_value, 1.0 / 401.0, "no resample is as extreme as δ around δ");
    }
}

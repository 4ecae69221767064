//! The cosine silhouette (Rousseeuw 1987) of a clustering, exact in O(n·k·d).
//!
//! For unit vectors the cosine distance is `1 − x·y`, so the summed distance from `x` to
//! the members of cluster `C` is `|C| − x·S_C`, with `S_C` the sum of `C`'s vectors: one
//! pass builds the `k` sums, a second scores every unit, in parallel blocks, holding only
//! `k·d` values instead of distances between all pairs. This is an identity, not an
//! approximation (the brute-force O(n²) definition is checked against it in the tests,
//! and scikit-learn's `silhouette_score(metric="cosine")` in `tests/`); it leaves the
//! sampled silhouette useful only for very large n: above the sample size a seeded sample
//! of units is scored, each against all units. As scikit-learn, a unit alone in its
//! cluster scores 0 and counts in the mean.

use super::kmeans::{Matrix, BLOCK};
use crate::rng::Rng;
use rayon::prelude::*;

/// Per-cluster sums of the rows (`f64`) and member counts.
fn cluster_sums(m: &Matrix, labels: &[u32], k: usize) -> (Vec<f64>, Vec<u64>) {
    let d = m.dim();
    let mut sums = vec![0f64; k * d];
    let mut counts = vec![0u64; k];
    for (i, &l) in labels.iter().enumerate() {
        let l = l as usize;
        counts[l] += 1;
        for (s, &v) in sums[l * d..(l + 1) * d].iter_mut().zip(m.row(i)) {
            *s += f64::from(v);
        }
    }
    (sums, counts)
}

/// The silhouette of unit `i`, from the cluster sums.
fn unit_score(m: &Matrix, i: usize, labels: &[u32], sums: &[f64], counts: &[u64]) -> f64 {
    let d = m.dim();
    let own = labels[i] as usize;
    if counts[own] <= 1 {
        return 0.0;
    }
    let x = m.row(i);
    let x_dot = |c: usize| -> f64 { sums[c * d..(c + 1) * d].iter().zip(x).map(|(&s, &v)| s * f64::from(v)).sum() };
    let self_dot: f64 = x.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
    // Mean distance to the other members: (|C| − 1 − (x·S_C − x·x)) / (|C| − 1).
    let n_own = counts[own] as f64;
    let a = ((n_own - 1.0) - (x_dot(own) - self_dot)) / (n_own - 1.0);
    let b = (0..counts.len())
        .filter(|&c| c != own && counts[c] > 0)
        .map(|c| 1.0 - x_dot(c) / counts[c] as f64)
        .fold(f64::INFINITY, f64::min);
    let (a, b) = (a.max(0.0), b.max(0.0));
    if !b.is_finite() {
        return 0.0; // a single non-empty cluster: the silhouette is undefined, scored 0
    }
    let denom = a.max(b);
    if denom > 0.0 { (b - a) / denom } else { 0.0 }
}

/// The mean cosine silhouette of `labels` (clusters `0..k`) over the rows of `m`, which
/// must be unit vectors. With `sample > 0` and more rows than `sample`, the mean is over a
/// sample of `sample` rows drawn with `seed`.
///
/// # Example
/// ```
/// use nerprep::cluster::kmeans::Matrix;
/// use nerprep::cluster::silhouette::silhouette;
/// let m = Matrix::new(2, vec![1.0, 0.0, 0.995, 0.0998, 0.0, 1.0, 0.0998, 0.995]);
/// let s = silhouette(&m, &[0, 0, 1, 1], 2, 0, 0);
/// assert!(s > 0.9);
/// ```
pub fn silhouette(m: &Matrix, labels: &[u32], k: usize, sample: usize, seed: u64) -> f64 {
    let n = m.len();
    if n == 0 {
        return 0.0;
    }
    let (sums, counts) = cluster_sums(m, labels, k);
    let rows: Vec<usize> = if sample > 0 && n > sample {
        let mut rows = Rng::for_sample(seed, "silhouette/sample").sample(&(0..n).collect::<Vec<_>>(), sample);
        rows.sort_unstable();
        rows
    } else {
        (0..n).collect()
    };
    let blocks: Vec<f64> = rows
        .par_chunks(BLOCK)
        .map(|block| block.iter().map(|&i| unit_score(m, i, labels, &sums, &counts)).sum::<f64>())
        .collect();
    blocks.iter().sum::<f64>() / rows.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `1 − x·y`: the cosine distance of unit vectors (the rows are normalised in `f32`, so
    /// renormalising here would differ in the 8th digit; scikit-learn's own definition is
    /// compared in `tests/`, to 1e-6).
    fn cosine_distance(a: &[f32], b: &[f32]) -> f64 {
        1.0 - a.iter().zip(b).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum::<f64>()
    }

    /// The definition, over all pairs.
    fn brute_force(m: &Matrix, labels: &[u32], k: usize) -> f64 {
        let n = m.len();
        let mut total = 0.0;
        for i in 0..n {
            let mut sum = vec![0f64; k];
            let mut cnt = vec![0usize; k];
            for j in (0..n).filter(|&j| j != i) {
                sum[labels[j] as usize] += cosine_distance(m.row(i), m.row(j));
                cnt[labels[j] as usize] += 1;
            }
            let own = labels[i] as usize;
            if cnt[own] == 0 {
                continue;
            }
            let a = sum[own] / cnt[own] as f64;
            let b = (0..k).filter(|&c| c != own && cnt[c] > 0).map(|c| sum[c] / cnt[c] as f64).fold(f64::INFINITY, f64::min);
            total += (b - a) / a.max(b);
        }
        total / n as f64
    }

    fn unit_rows(n: usize, d: usize, seed: u64) -> Matrix {
        let mut rng = Rng::for_sample(seed, "rows");
        let mut data = Vec::new();
        for _ in 0..n {
            let mut r: Vec<f32> = (0..d).map(|_| rng.next_f64() as f32 - 0.3).collect();
            crate::embed::normalize(&mut r);
            data.extend(r);
        }
        Matrix::new(d, data)
    }

    #[test]
    fn the_identity_equals_the_pairwise_definition() {
        let m = unit_rows(60, 7, 1);
        let labels: Vec<u32> = (0..60).map(|i| (i * 7 % 4) as u32).collect();
        let fast = silhouette(&m, &labels, 4, 0, 0);
        assert!((fast - brute_force(&m, &labels, 4)).abs() < 1e-9, "{fast}");
    }

    #[test]
    fn singletons_score_zero_and_count_in_the_mean() {
        let m = unit_rows(9, 4, 2);
        let labels = [0, 0, 0, 0, 1, 1, 1, 1, 2];
        let with = silhouette(&m, &labels, 3, 0, 0);
        assert!((with - brute_force(&m, &labels, 3)).abs() < 1e-9);
        let only_singletons: Vec<u32> = (0..9).collect();
        assert_eq!(silhouette(&m, &only_singletons, 9, 0, 0), 0.0);
    }

    #[test]
    fn a_sample_is_seeded_and_close_to_the_exact_mean() {
        let m = unit_rows(3000, 5, 3);
        let labels: Vec<u32> = (0..3000).map(|i| u32::from(m.row(i)[0] > m.row(i)[1])).collect();
        let exact = silhouette(&m, &labels, 2, 0, 0);
        let a = silhouette(&m, &labels, 2, 1000, 9);
        assert_eq!(a, silhouette(&m, &labels, 2, 1000, 9));
        assert_ne!(a, silhouette(&m, &labels, 2, 1000, 10));
        assert!((a - exact).abs() < 0.05, "{a} vs {exact}");
        assert_eq!(exact, silhouette(&m, &labels, 2, 3000, 9), "no sampling at n <= sample");
    }
}

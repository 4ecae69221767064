//! The gap statistic (Tibshirani, Walther & Hastie 2001) and the k choices read from it.
//!
//! `W_k` is the pooled within-cluster sum of squares of the k-means fit (its inertia; the
//! paper's `Σ_r D_r / 2n_r` is the same quantity). Each of `B` reference sets has as many
//! rows as the data, drawn uniformly over the data's bounding box ([`RefsBox::Uniform`],
//! the paper's method (a)) or over the box of its principal components, rotated back
//! ([`RefsBox::Pca`], method (b)); each is clustered like the data. Then
//! `Gap(k) = mean_b ln W*_kb − ln W_k`, `sd_k` is the standard deviation over `b` (divided
//! by `B`, as the paper defines it) and `s_k = sd_k·sqrt(1 + 1/B)`. The paper's choice is
//! the smallest k with `Gap(k) ≥ Gap(k+1) − s_{k+1}` ([`one_se_choice`]).
//!
//! Reference sets are drawn row by row from generators seeded by (seed, set, row), so they
//! do not depend on the thread count, and only one set is held in memory at a time.

use super::kmeans::Matrix;
use super::params::RefsBox;
use crate::rng::Rng;
use rayon::prelude::*;

/// Where reference rows are drawn: per axis, the range `[lo, hi]`, in a basis.
#[derive(Debug, Clone)]
pub struct ReferenceBox {
    lo: Vec<f64>,
    hi: Vec<f64>,
    /// For the PCA box: the data mean and the axes (`r` rows of `dim`); none for the plain box.
    rotation: Option<(Vec<f64>, Vec<Vec<f64>>)>,
    dim: usize,
}

impl ReferenceBox {
    /// The box of `kind` around the rows of `m`.
    pub fn of(m: &Matrix, kind: RefsBox) -> ReferenceBox {
        match kind {
            RefsBox::Uniform => {
                let (lo, hi) = column_ranges(m.dim(), (0..m.len()).map(|i| m.row(i).iter().map(|&v| f64::from(v)).collect()));
                ReferenceBox { lo, hi, rotation: None, dim: m.dim() }
            }
            RefsBox::Pca => pca_box(m),
        }
    }

    /// Reference set `set`: `n` rows drawn uniformly in the box with generators seeded by
    /// `(seed, set, row)`.
    pub fn draw(&self, n: usize, seed: u64, set: usize) -> Matrix {
        let rows: Vec<Vec<f32>> = (0..n)
            .into_par_iter()
            .map(|i| {
                let mut rng = Rng::for_sample(seed, &format!("gap/ref{set}/row{i}"));
                let z: Vec<f64> = self.lo.iter().zip(&self.hi).map(|(&lo, &hi)| lo + (hi - lo) * rng.next_f64()).collect();
                match &self.rotation {
                    None => z.iter().map(|&v| v as f32).collect(),
                    Some((mean, axes)) => {
                        let mut x = mean.clone();
                        for (zr, axis) in z.iter().zip(axes) {
                            x.iter_mut().zip(axis).for_each(|(xv, &a)| *xv += zr * a);
                        }
                        x.iter().map(|&v| v as f32).collect()
                    }
                }
            })
            .collect();
        Matrix::new(self.dim, rows.concat())
    }
}

/// Per-column minimum and maximum of `rows` (`dim` values each).
fn column_ranges(dim: usize, rows: impl Iterator<Item = Vec<f64>>) -> (Vec<f64>, Vec<f64>) {
    let mut lo = vec![f64::INFINITY; dim];
    let mut hi = vec![f64::NEG_INFINITY; dim];
    for r in rows {
        for (j, &v) in r.iter().enumerate() {
            lo[j] = lo[j].min(v);
            hi[j] = hi[j].max(v);
        }
    }
    (lo, hi)
}

/// The box of the data projected on its principal axes: the right singular vectors of the
/// centred data, from the eigenvectors of `XᵀX` (d×d) or, with fewer rows than features,
/// of `XXᵀ` (n×n) mapped back (only axes with non-zero variance are kept).
fn pca_box(m: &Matrix) -> ReferenceBox {
    let (n, d) = (m.len(), m.dim());
    let mut mean = vec![0f64; d];
    for i in 0..n {
        mean.iter_mut().zip(m.row(i)).for_each(|(a, &v)| *a += f64::from(v) / n as f64);
    }
    let centred: Vec<Vec<f64>> = (0..n).map(|i| m.row(i).iter().zip(&mean).map(|(&v, mu)| f64::from(v) - mu).collect()).collect();
    let axes = if n >= d {
        let gram = (0..d).into_par_iter().map(|a| (0..d).map(|b| centred.iter().map(|r| r[a] * r[b]).sum()).collect()).collect();
        let (values, vectors) = jacobi_eigen(gram);
        let top = values.iter().cloned().fold(0.0, f64::max);
        vectors.into_iter().zip(values).filter(|(_, v)| *v > top * 1e-12).map(|(e, _)| e).collect()
    } else {
        let gram = (0..n).into_par_iter().map(|a| (0..n).map(|b| dot64(&centred[a], &centred[b])).collect()).collect();
        let (values, vectors) = jacobi_eigen(gram);
        let top = values.iter().cloned().fold(0.0, f64::max);
        vectors
            .into_iter()
            .zip(values)
            .filter(|(_, v)| *v > top * 1e-12)
            .map(|(u, v)| {
                // v_j = Xᵀu_j / sqrt(λ_j)
                let scale = v.sqrt();
                (0..d).map(|c| centred.iter().zip(&u).map(|(r, &w)| r[c] * w).sum::<f64>() / scale).collect()
            })
            .collect::<Vec<Vec<f64>>>()
    };
    let projected: Vec<Vec<f64>> = centred.par_iter().map(|r| axes.iter().map(|a| dot64(r, a)).collect()).collect();
    let projected = projected.into_iter();
    let (lo, hi) = column_ranges(axes.len(), projected);
    ReferenceBox { lo, hi, rotation: Some((mean, axes)), dim: d }
}

fn dot64(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Eigenvalues and eigenvectors (as rows) of a symmetric matrix, by cyclic Jacobi rotations.
fn jacobi_eigen(mut a: Vec<Vec<f64>>) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = a.len();
    let mut v: Vec<Vec<f64>> = (0..n).map(|i| (0..n).map(|j| f64::from(u8::from(i == j))).collect()).collect();
    for _sweep in 0..60 {
        let off: f64 = (0..n).flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j))).map(|(i, j)| a[i][j] * a[i][j]).sum();
        let scale: f64 = (0..n).map(|i| a[i][i] * a[i][i]).sum::<f64>().max(f64::MIN_POSITIVE);
        if off <= scale * 1e-24 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q].abs() <= f64::MIN_POSITIVE {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k][p], a[k][q]);
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p][k], a[q][k]);
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for row in v.iter_mut() {
                    let (vp, vq) = (row[p], row[q]);
                    row[p] = c * vp - s * vq;
                    row[q] = s * vp + c * vq;
                }
            }
        }
    }
    let values = (0..n).map(|i| a[i][i]).collect();
    // Columns of v are the eigenvectors.
    let vectors = (0..n).map(|j| (0..n).map(|i| v[i][j]).collect()).collect();
    (values, vectors)
}

/// The gap of one k, from the data's and the reference sets' dispersions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gap {
    /// `mean_b ln W*_kb − ln W_k`.
    pub gap: f64,
    /// `sd_k · sqrt(1 + 1/B)`.
    pub s_k: f64,
    /// `mean_b ln W*_kb`.
    pub reference_log_w: f64,
}

/// The gap of one k from the data's inertia `w` and the reference sets' inertias.
pub fn gap_of(w: f64, references: &[f64]) -> Gap {
    let b = references.len() as f64;
    let logs: Vec<f64> = references.iter().map(|&r| r.max(f64::MIN_POSITIVE).ln()).collect();
    let mean = logs.iter().sum::<f64>() / b;
    let sd = (logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / b).sqrt();
    Gap { gap: mean - w.max(f64::MIN_POSITIVE).ln(), s_k: sd * (1.0 + 1.0 / b).sqrt(), reference_log_w: mean }
}

/// Tibshirani's rule: the smallest k (of consecutive `ks`) with `Gap(k) ≥ Gap(k+1) − s_{k+1}`;
/// `None` when no k of the range passes (the largest k has no successor to compare with).
pub fn one_se_choice(ks: &[usize], gaps: &[Gap]) -> Option<usize> {
    (0..ks.len().saturating_sub(1)).find(|&i| gaps[i].gap >= gaps[i + 1].gap - gaps[i + 1].s_k).map(|i| ks[i])
}

/// The k with the largest gap (the smallest such k on ties).
pub fn max_gap_choice(ks: &[usize], gaps: &[Gap]) -> Option<usize> {
    argmax(ks, gaps.iter().map(|g| g.gap))
}

/// The k with the largest of `values` (the first on ties, NaN never).
pub fn argmax(ks: &[usize], values: impl Iterator<Item = f64>) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (&k, v) in ks.iter().zip(values) {
        if !v.is_nan() && best.is_none_or(|(_, b)| v > b) {
            best = Some((k, v));
        }
    }
    best.map(|(k, _)| k)
}

/// The ks whose value is higher than both neighbours' (an end of the range counts when it
/// is higher than its one neighbour), as in "a prominent local peak at k = 14".
pub fn local_peaks(ks: &[usize], values: &[f64]) -> Vec<usize> {
    let n = values.len();
    (0..n)
        .filter(|&i| {
            let left = i == 0 || values[i] > values[i - 1];
            let right = i + 1 == n || values[i] > values[i + 1];
            n > 1 && left && right
        })
        .map(|i| ks[i])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(gap: f64, s_k: f64) -> Gap {
        Gap { gap, s_k, reference_log_w: 0.0 }
    }

    #[test]
    fn the_one_se_rule_takes_the_first_k_within_a_standard_error_of_the_next() {
        let ks = [2, 3, 4, 5];
        let gaps = [g(0.1, 0.01), g(0.5, 0.01), g(0.52, 0.05), g(0.6, 0.01)];
        // 2: 0.1 >= 0.5 - 0.01? no. 3: 0.5 >= 0.52 - 0.05? yes.
        assert_eq!(one_se_choice(&ks, &gaps), Some(3));
        assert_eq!(max_gap_choice(&ks, &gaps), Some(5));
        let rising = [g(0.1, 0.0), g(0.2, 0.0), g(0.3, 0.0), g(0.4, 0.0)];
        assert_eq!(one_se_choice(&ks, &rising), None);
    }

    #[test]
    fn gap_and_s_k_follow_the_paper() {
        let refs = [std::f64::consts::E, std::f64::consts::E.powi(3)];
        let out = gap_of(1.0, &refs);
        assert!((out.gap - 2.0).abs() < 1e-12);
        // sd over b with 1/B: logs 1 and 3 → sd 1; s_k = sqrt(1.5).
        assert!((out.s_k - 1.5f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn peaks_are_higher_than_their_neighbours() {
        assert_eq!(local_peaks(&[2, 3, 4, 5, 6], &[0.1, 0.3, 0.2, 0.2, 0.4]), vec![3, 6]);
        assert_eq!(local_peaks(&[2], &[0.5]), Vec::<usize>::new());
    }

    #[test]
    fn the_pca_box_spans_the_data_and_references_are_seeded() {
        // Points on a tilted line: the PCA box is thin across it, the plain box is not.
        let data: Vec<f32> = (0..40).flat_map(|i| [i as f32 * 0.1, i as f32 * 0.1 + 0.01 * (i % 2) as f32, 1.0]).collect();
        let m = Matrix::new(3, data);
        let pca = ReferenceBox::of(&m, RefsBox::Pca);
        let plain = ReferenceBox::of(&m, RefsBox::Uniform);
        let spread = |r: &Matrix| (0..r.len()).map(|i| (r.row(i)[0] - r.row(i)[1]).abs()).fold(0f32, f32::max);
        let (a, b) = (pca.draw(200, 1, 0), plain.draw(200, 1, 0));
        assert!(spread(&a) < 0.05, "pca box: {}", spread(&a));
        assert!(spread(&b) > 1.0, "plain box: {}", spread(&b));
        assert!((0..a.len()).all(|i| (a.row(i)[2] - 1.0).abs() < 1e-4), "constant column stays constant");
        assert_eq!(a, pca.draw(200, 1, 0));
        assert_ne!(a, pca.draw(200, 1, 1));
        // Fewer rows than features goes through the n×n Gram matrix.
        let wide = Matrix::new(6, (0..18).map(|i| (i * i % 7) as f32).collect());
        let r = ReferenceBox::of(&wide, RefsBox::Pca).draw(5, 0, 0);
        assert_eq!((r.len(), r.dim()), (5, 6));
    }

    #[test]
    fn jacobi_diagonalises_a_symmetric_matrix() {
        let (values, vectors) = jacobi_eigen(vec![vec![2.0, 1.0], vec![1.0, 2.0]]);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        assert!((sorted[0] - 1.0).abs() < 1e-12 && (sorted[1] - 3.0).abs() < 1e-12);
        for (v, l) in vectors.iter().zip(&values) {
            let av = [2.0 * v[0] + v[1], v[0] + 2.0 * v[1]];
            assert!((av[0] - l * v[0]).abs() < 1e-9 && (av[1] - l * v[1]).abs() < 1e-9);
        }
    }
}

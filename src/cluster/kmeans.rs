//! k-means: greedy k-means++ seeding and Lloyd iterations over contiguous `f32` rows.
//!
//! Our own rather than `linfa-clustering` (issue 14 allows either): linfa 0.8 pins another
//! ndarray and rand than the crate builds with, a large extra build for ~200 lines.
//! Determinism is the design constraint: rows are processed in fixed blocks of
//! [`BLOCK`] rows whatever the thread count, each block yields its partial sums, and
//! blocks are reduced in order, so the same seed gives bit-identical centroids, labels and
//! inertia on 1 or N threads. Seeding follows scikit-learn's greedy k-means++ (2 + ⌊ln k⌋
//! candidates per centre, the one lowering the potential most wins); convergence follows
//! its Lloyd loop (stop when no label changes or the centroids move less than `tol` times
//! the mean feature variance, then one last assignment); an empty cluster is re-seeded
//! with the row farthest from its centroid.

use super::tile;
use crate::rng::Rng;
use rayon::prelude::*;

/// Rows per block of parallel work (fixed, so that results do not depend on threads).
pub const BLOCK: usize = 512;

/// `n` rows of `dim` floats, row-major, with their squared norms.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    dim: usize,
    data: Vec<f32>,
    norms: Vec<f32>,
}

impl Matrix {
    /// Rows of `dim` values from `data` (`data.len()` must be a multiple of `dim`, `dim > 0`).
    pub fn new(dim: usize, data: Vec<f32>) -> Matrix {
        assert!(
            dim > 0 && data.len().is_multiple_of(dim),
            "a matrix of {} values is not rows of {dim}",
            data.len()
        );
        let norms = data.chunks_exact(dim).map(|r| dot(r, r)).collect();
        Matrix { dim, data, norms }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.norms.len()
    }

    /// True without rows.
    pub fn is_empty(&self) -> bool {
        self.norms.is_empty()
    }

    /// Values per row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// All values, row-major.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// The mean over features of each feature's variance (scales the tolerance).
    pub fn mean_variance(&self) -> f64 {
        let (n, d) = (self.len() as f64, self.dim);
        let mut sum = vec![0f64; d];
        let mut sq = vec![0f64; d];
        for r in self.data.chunks_exact(d) {
            for (j, &v) in r.iter().enumerate() {
                sum[j] += f64::from(v);
                sq[j] += f64::from(v) * f64::from(v);
            }
        }
        let var: f64 = (0..d)
            .map(|j| (sq[j] / n - (sum[j] / n).powi(2)).max(0.0))
            .sum();
        var / d as f64
    }
}

/// Dot product in a fixed summation order (eight lanes, then pairwise), so that it
/// vectorises and gives the same bits everywhere (SSE2 or AVX2: the same lane-wise adds).
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    for (l, (x, y)) in ra.iter().zip(rb).enumerate() {
        acc[l] += x * y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// The squared distance of two vectors from their squared norms and their dot product
/// (the one expression every distance here goes through, so tiled and single products
/// give the same bits).
#[inline(always)]
fn dist2_of(xn: f32, cn: f32, product: f32) -> f32 {
    (xn + cn - 2.0 * product).max(0.0)
}

/// How one k-means fit runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KMeansConfig {
    /// Clusters, at least 1 and at most the number of rows.
    pub k: usize,
    /// Runs from different seedings; the least inertia wins.
    pub restarts: usize,
    /// Most Lloyd iterations per run.
    pub max_iter: usize,
    /// Tolerance relative to the mean feature variance.
    pub tol: f64,
}

/// The result of a k-means fit.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansFit {
    /// `k` centroids of `dim` values, row-major.
    pub centroids: Vec<f32>,
    /// The cluster of each row.
    pub labels: Vec<u32>,
    /// Sum of squared distances of the rows to their centroids (summed in `f64`).
    pub inertia: f64,
    /// Lloyd iterations of the winning run.
    pub iterations: usize,
}

/// Fits k-means to `m`: `config.restarts` runs, each seeded by k-means++ from its own
/// generator (`seed` mixed with the run number), the run with the least inertia kept
/// (the first on ties).
///
/// # Example
/// ```
/// use nerprep::cluster::kmeans::{fit, KMeansConfig, Matrix};
/// let m = Matrix::new(2, vec![0.0, 0.0, 0.1, 0.0, 10.0, 10.0, 10.1, 10.0]);
/// let config = KMeansConfig { k: 2, restarts: 3, max_iter: 100, tol: 1e-4 };
/// let f = fit(&m, &config, 7);
/// assert_eq!(f.labels[0], f.labels[1]);
/// assert_ne!(f.labels[0], f.labels[2]);
/// assert!((f.inertia - 0.01).abs() < 1e-4);
/// ```
pub fn fit(m: &Matrix, config: &KMeansConfig, seed: u64) -> KMeansFit {
    assert!(
        config.k >= 1 && config.k <= m.len(),
        "k = {} for {} rows",
        config.k,
        m.len()
    );
    let tol = config.tol * m.mean_variance();
    let mut best: Option<KMeansFit> = None;
    for run in 0..config.restarts.max(1) {
        let mut rng = Rng::for_sample(seed, &format!("kmeans/run{run}"));
        let centroids = kmeans_pp(m, config.k, &mut rng);
        let f = lloyd(m, centroids, config.max_iter, tol);
        if best.as_ref().is_none_or(|b| f.inertia < b.inertia) {
            best = Some(f);
        }
    }
    best.expect("at least one run")
}

/// Greedy k-means++ (Arthur & Vassilvitskii 2007; scikit-learn's variant with
/// 2 + ⌊ln k⌋ candidates per centre). The candidates of a centre are drawn first and their
/// distances to every row computed in one tiled pass (the draws do not depend on those
/// distances, so the choices are those of drawing and scoring them one by one).
fn kmeans_pp(m: &Matrix, k: usize, rng: &mut Rng) -> Vec<f32> {
    let (n, d) = (m.len(), m.dim());
    let trials = 2 + (k as f64).ln().floor() as usize;
    let mut centroids = Vec::with_capacity(k * d);
    let first = rng.below(n);
    centroids.extend_from_slice(m.row(first));
    let mut closest = distances_to(m, &[first]).pop().expect("one candidate");
    for _ in 1..k {
        let potential: f64 = closest.iter().map(|&v| f64::from(v)).sum();
        let mut cumulative = Vec::with_capacity(n);
        let mut acc = 0f64;
        for &v in &closest {
            acc += f64::from(v);
            cumulative.push(acc);
        }
        let candidates: Vec<usize> = (0..trials)
            .map(|_| {
                if potential > 0.0 {
                    let u = rng.next_f64() * potential;
                    cumulative.partition_point(|&c| c <= u).min(n - 1)
                } else {
                    rng.below(n) // every row sits on a centre already
                }
            })
            .collect();
        let mut chosen: Option<(f64, usize, Vec<f32>)> = None;
        for (&candidate, to_candidate) in candidates.iter().zip(distances_to(m, &candidates)) {
            let merged: Vec<f32> = closest
                .iter()
                .zip(&to_candidate)
                .map(|(&a, &b)| a.min(b))
                .collect();
            let value: f64 = merged.iter().map(|&v| f64::from(v)).sum();
            if chosen.as_ref().is_none_or(|c| value < c.0) {
                chosen = Some((value, candidate, merged));
            }
        }
        let (_, candidate, merged) = chosen.expect("at least two trials");
        centroids.extend_from_slice(m.row(candidate));
        closest = merged;
    }
    centroids
}

/// The squared distance of every row to each of the rows `centres` (one vector per
/// centre), computed in tiled blocks in parallel.
fn distances_to(m: &Matrix, centres: &[usize]) -> Vec<Vec<f32>> {
    let (d, c) = (m.dim(), centres.len());
    let gathered: Vec<f32> = centres
        .iter()
        .flat_map(|&j| m.row(j).iter().copied())
        .collect();
    let blocks: Vec<Vec<f32>> = (0..m.len().div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let rows = b * BLOCK..((b + 1) * BLOCK).min(m.len());
            let mut products = Vec::new();
            tile::dots(
                &rows.clone().map(|i| m.row(i)).collect::<Vec<_>>(),
                &gathered,
                d,
                &mut products,
            );
            rows.zip(products.chunks_exact(c))
                .flat_map(|(i, p)| {
                    p.iter()
                        .zip(centres)
                        .map(move |(&p, &j)| dist2_of(m.norms[i], m.norms[j], p))
                })
                .collect()
        })
        .collect();
    (0..c)
        .map(|t| {
            blocks
                .iter()
                .flat_map(|b| b.iter().skip(t).step_by(c).copied())
                .collect()
        })
        .collect()
}

/// What one block of rows contributes to an iteration.
struct BlockStep {
    labels: Vec<u32>,
    /// The squared distance of each row to its centroid.
    dist: Vec<f32>,
    sums: Vec<f64>,
    counts: Vec<u64>,
}

/// Assigns the rows of block `b` to their nearest centroid (the first on ties) and sums
/// them per cluster; the products come from the tiled kernel ([`tile::dots`]).
fn assign_block(m: &Matrix, centroids: &[f32], cnorms: &[f32], b: usize) -> BlockStep {
    let (d, k) = (m.dim(), cnorms.len());
    let rows = b * BLOCK..((b + 1) * BLOCK).min(m.len());
    let mut step = BlockStep {
        labels: Vec::with_capacity(rows.len()),
        dist: Vec::with_capacity(rows.len()),
        sums: vec![0f64; k * d],
        counts: vec![0; k],
    };
    let mut products = Vec::new();
    tile::dots(
        &rows.clone().map(|i| m.row(i)).collect::<Vec<_>>(),
        centroids,
        d,
        &mut products,
    );
    for (i, p) in rows.zip(products.chunks_exact(k)) {
        let (best, best_d, _) = nearest_two(m.norms[i], p, cnorms);
        step.labels.push(best as u32);
        step.dist.push(best_d);
        step.counts[best] += 1;
        let sum = &mut step.sums[best * d..(best + 1) * d];
        for (s, &v) in sum.iter_mut().zip(m.row(i)) {
            *s += f64::from(v);
        }
    }
    step
}

/// From a row's squared norm and its products with the centroids: the nearest centroid
/// (the first on ties), its squared distance and the second smallest squared distance.
#[inline(always)]
fn nearest_two(xn: f32, products: &[f32], cnorms: &[f32]) -> (usize, f32, f32) {
    let (mut best, mut d1, mut d2) = (0usize, f32::INFINITY, f32::INFINITY);
    for (j, (&p, &cn)) in products.iter().zip(cnorms).enumerate() {
        let dd = dist2_of(xn, cn, p);
        if dd < d1 {
            d2 = d1;
            d1 = dd;
            best = j;
        } else if dd < d2 {
            d2 = dd;
        }
    }
    (best, d1, d2)
}

/// One assignment pass over all rows: labels, distances, and per-cluster sums and counts
/// reduced in block order.
fn assign_all(m: &Matrix, centroids: &[f32]) -> (Vec<u32>, Vec<f32>, Vec<f64>, Vec<u64>) {
    let (d, k) = (m.dim(), centroids.len() / m.dim());
    let cnorms: Vec<f32> = centroids.chunks_exact(d).map(|c| dot(c, c)).collect();
    let steps: Vec<BlockStep> = (0..m.len().div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| assign_block(m, centroids, &cnorms, b))
        .collect();
    let mut labels = Vec::with_capacity(m.len());
    let mut dist = Vec::with_capacity(m.len());
    let mut sums = vec![0f64; k * d];
    let mut counts = vec![0u64; k];
    for s in steps {
        labels.extend(s.labels);
        dist.extend(s.dist);
        sums.iter_mut().zip(&s.sums).for_each(|(a, b)| *a += b);
        counts.iter_mut().zip(&s.counts).for_each(|(a, b)| *a += b);
    }
    (labels, dist, sums, counts)
}

/// New centroids from the sums; empty clusters take the rows farthest from their
/// centroids (as scikit-learn relocates them). Returns the centroids and their total
/// squared shift.
fn update(m: &Matrix, old: &[f32], sums: &[f64], counts: &[u64], dist: &[f32]) -> (Vec<f32>, f64) {
    let d = m.dim();
    let mut new = vec![0f32; old.len()];
    let empty: Vec<usize> = (0..counts.len()).filter(|&j| counts[j] == 0).collect();
    if !empty.is_empty() {
        let mut far: Vec<usize> = (0..m.len()).collect();
        far.sort_by(|&a, &b| dist[b].total_cmp(&dist[a]).then(a.cmp(&b)));
        for (&j, &i) in empty.iter().zip(&far) {
            new[j * d..(j + 1) * d].copy_from_slice(m.row(i));
        }
    }
    for j in (0..counts.len()).filter(|&j| counts[j] > 0) {
        let n = counts[j] as f64;
        for (c, s) in new[j * d..(j + 1) * d]
            .iter_mut()
            .zip(&sums[j * d..(j + 1) * d])
        {
            *c = (s / n) as f32;
        }
    }
    let shift = new
        .iter()
        .zip(old)
        .map(|(&a, &b)| f64::from(a - b).powi(2))
        .sum();
    (new, shift)
}

/// Per-row state of Elkan's algorithm: the label, an upper bound on the distance to its
/// centroid and, for every centroid, a lower bound on the distance to it (`n × k`).
struct Bounds {
    labels: Vec<u32>,
    upper: Vec<f32>,
    lower: Vec<f32>,
}

/// What one iteration's assignment knows about the centroids: their squared norms, half
/// the distance between every two (`k × k`) and, for each, half the distance to its
/// nearest other centroid. A row closer than `half[a][j]` to its centroid `a` cannot be
/// closer to `j`; closer than `nearest[a]`, to any other.
struct Separations {
    cnorms: Vec<f32>,
    half: Vec<f32>,
    nearest: Vec<f32>,
}

impl Separations {
    fn of(centroids: &[f32], d: usize) -> Separations {
        let k = centroids.len() / d;
        let cnorms: Vec<f32> = centroids.chunks_exact(d).map(|c| dot(c, c)).collect();
        let mut products = Vec::new();
        tile::dots(
            &centroids.chunks_exact(d).collect::<Vec<_>>(),
            centroids,
            d,
            &mut products,
        );
        let half: Vec<f32> = (0..k * k)
            .map(|ij| 0.5 * dist2_of(cnorms[ij / k], cnorms[ij % k], products[ij]).sqrt())
            .collect();
        let nearest = (0..k)
            .map(|a| {
                (0..k)
                    .filter(|&j| j != a)
                    .map(|j| half[a * k + j])
                    .fold(f32::INFINITY, f32::min)
            })
            .collect();
        Separations {
            cnorms,
            half,
            nearest,
        }
    }
}

/// A row that changed cluster in an assignment step: `(row, from, to)`.
type Move = (u32, u32, u32);

crate::vector::avx2_dispatch! {
    /// One Elkan step over the rows of a block from row `start` (their slices of the
    /// state): a row whose bounds prove its label is skipped; otherwise its distance to its
    /// centroid is computed and only the centroids its bounds cannot rule out are tried, in
    /// one tiled pass. The nearest of those (the first on ties, as a plain Lloyd step)
    /// becomes its label. Returns the rows that changed cluster, in row order.
    #[allow(clippy::too_many_arguments)]
    fn elkan_block(
        m: &Matrix,
        centroids: &[f32],
        sep: &Separations,
        start: usize,
        labels: &mut [u32],
        upper: &mut [f32],
        lower: &mut [f32],
    ) -> Vec<Move> = elkan_rows
}

/// The body of [`elkan_block`], for the rows from `start` on.
#[inline(always)]
fn elkan_rows(
    m: &Matrix,
    centroids: &[f32],
    sep: &Separations,
    start: usize,
    labels: &mut [u32],
    upper: &mut [f32],
    lower: &mut [f32],
) -> Vec<Move> {
    let (d, k) = (m.dim(), sep.cnorms.len());
    let (mut moves, mut open, mut products) = (Vec::new(), vec![0usize; k], Vec::with_capacity(k));
    let mut open_centroids: Vec<&[f32]> = Vec::with_capacity(k);
    // The rows whose bounds do not settle their label, and their distances to their own
    // centroids, computed side by side (one product alone waits on its own additions).
    let unsettled: Vec<usize> = (0..labels.len()).filter(|&o| upper[o] > sep.nearest[labels[o] as usize]).collect();
    let own_rows: Vec<&[f32]> = unsettled.iter().map(|&o| m.row(start + o)).collect();
    let own_centroids: Vec<&[f32]> = unsettled.iter().map(|&o| &centroids[labels[o] as usize * d..(labels[o] as usize + 1) * d]).collect();
    let mut own_products = Vec::with_capacity(unsettled.len());
    tile::pair_dots(&own_rows, &own_centroids, &mut own_products);
    for (&o, &own_product) in unsettled.iter().zip(&own_products) {
        let a = labels[o] as usize;
        let i = start + o;
        let own = dist2_of(m.norms[i], sep.cnorms[a], own_product);
        let u = own.sqrt();
        let lo = &mut lower[o * k..(o + 1) * k];
        lo[a] = u;
        upper[o] = u;
        // The centroids the bounds cannot rule out, compacted without branches (the test
        // is true for about half of them, so a branch per centroid is mispredicted often).
        let half = &sep.half[a * k..(a + 1) * k];
        let mut n_open = 0;
        for j in 0..k {
            open[n_open] = j;
            n_open += usize::from((j != a) & (u > lo[j]) & (u > half[j]));
        }
        if n_open == 0 {
            continue;
        }
        open_centroids.clear();
        open_centroids.extend(open[..n_open].iter().map(|&j| &centroids[j * d..(j + 1) * d]));
        tile::dots_of(&[m.row(i)], &open_centroids, &mut products);
        let (mut best, mut best_d) = (a, own);
        for (&j, &p) in open[..n_open].iter().zip(&products) {
            let dd = dist2_of(m.norms[i], sep.cnorms[j], p);
            lo[j] = dd.sqrt();
            if dd < best_d || (dd == best_d && j < best) {
                best = j;
                best_d = dd;
            }
        }
        if best != a {
            moves.push((i as u32, a as u32, best as u32));
            labels[o] = best as u32;
            upper[o] = best_d.sqrt();
        }
    }
    moves
}

/// Moves the rows of `moves` between the per-cluster sums and counts, in order: after a
/// step that moved few rows this costs their vectors only, where [`sums_of`] reads every
/// row.
fn apply_moves(m: &Matrix, moves: &[Vec<Move>], sums: &mut [f64], counts: &mut [u64]) {
    let d = m.dim();
    for &(i, from, to) in moves.iter().flatten() {
        let (i, from, to) = (i as usize, from as usize, to as usize);
        counts[from] -= 1;
        counts[to] += 1;
        let row = m.row(i);
        sums[from * d..(from + 1) * d].iter_mut().zip(row).for_each(|(s, &v)| *s -= f64::from(v));
        sums[to * d..(to + 1) * d].iter_mut().zip(row).for_each(|(s, &v)| *s += f64::from(v));
    }
}

/// Per-cluster sums and counts of the rows under `labels`, reduced in block order.
fn sums_of(m: &Matrix, labels: &[u32], k: usize) -> (Vec<f64>, Vec<u64>) {
    let d = m.dim();
    let blocks: Vec<(Vec<f64>, Vec<u64>)> = (0..m.len().div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let (mut sums, mut counts) = (vec![0f64; k * d], vec![0u64; k]);
            for i in b * BLOCK..((b + 1) * BLOCK).min(m.len()) {
                let l = labels[i] as usize;
                counts[l] += 1;
                sums[l * d..(l + 1) * d]
                    .iter_mut()
                    .zip(m.row(i))
                    .for_each(|(s, &v)| *s += f64::from(v));
            }
            (sums, counts)
        })
        .collect();
    let (mut sums, mut counts) = (vec![0f64; k * d], vec![0u64; k]);
    for (s, c) in blocks {
        sums.iter_mut().zip(&s).for_each(|(a, b)| *a += b);
        counts.iter_mut().zip(&c).for_each(|(a, b)| *a += b);
    }
    (sums, counts)
}

/// A step that moves at most one row in this many updates the cluster sums by its moves
/// instead of summing every row again.
const INCREMENTAL_SHARE: usize = 8;

/// Lloyd's iterations from `centroids` until no label changes, the centroids move at most
/// `tol` (absolute, squared), or `max_iter`; each assignment is Elkan's (2003), which skips
/// the distances that the triangle inequality proves useless, and so gives Lloyd's result
/// with far fewer distances once the centroids settle. Elkan rather than Hamerly's single
/// lower bound: with 384 dimensions and up to 30 centroids, one bound per centroid is what
/// still prunes once every centroid moves a little (issue 14's bench).
fn lloyd(m: &Matrix, mut centroids: Vec<f32>, max_iter: usize, tol: f64) -> KMeansFit {
    let (n, d) = (m.len(), m.dim());
    let k = centroids.len() / d;
    let mut state = Bounds {
        labels: vec![0; n],
        upper: vec![f32::INFINITY; n],
        lower: vec![0.0; n * k],
    };
    let mut totals: Option<(Vec<f64>, Vec<u64>)> = None;
    let mut iterations = 0;
    while iterations < max_iter {
        iterations += 1;
        let sep = Separations::of(&centroids, d);
        let Bounds {
            labels,
            upper,
            lower,
        } = &mut state;
        let moved: Vec<Vec<Move>> = labels
            .par_chunks_mut(BLOCK)
            .zip(upper.par_chunks_mut(BLOCK))
            .zip(lower.par_chunks_mut(BLOCK * k))
            .enumerate()
            .map(|(b, ((l, u), lo))| elkan_block(m, &centroids, &sep, b * BLOCK, l, u, lo))
            .collect();
        let changed: usize = moved.iter().map(Vec::len).sum();
        if changed == 0 && iterations > 1 {
            break;
        }
        // The first step (and any that moves many rows) sums every row afresh; later steps
        // move the few rows that changed.
        let (sums, counts) = match &mut totals {
            Some((sums, counts)) if changed <= n / INCREMENTAL_SHARE => {
                apply_moves(m, &moved, sums, counts);
                (&*sums, &*counts)
            }
            _ => {
                let (sums, counts) = totals.insert(sums_of(m, &state.labels, k));
                (&*sums, &*counts)
            }
        };
        let (next, shift) = update(m, &centroids, sums, counts, &state.upper);
        let moves: Vec<f32> = next
            .chunks_exact(d)
            .zip(centroids.chunks_exact(d))
            .map(|(a, b)| {
                a.iter()
                    .zip(b)
                    .map(|(x, y)| f64::from(x - y).powi(2))
                    .sum::<f64>()
                    .sqrt() as f32
            })
            .collect();
        shift_bounds(&mut state, &moves);
        centroids = next;
        if shift <= tol {
            state.labels = assign_all(m, &centroids).0;
            break;
        }
    }
    let inertia = inertia(m, &centroids, &state.labels);
    KMeansFit {
        centroids,
        labels: state.labels,
        inertia,
        iterations,
    }
}

/// After the centroids moved by `moves`: each row's upper bound grows by its centroid's
/// move, its lower bound to each centroid shrinks by that centroid's move.
fn shift_bounds(state: &mut Bounds, moves: &[f32]) {
    let k = moves.len();
    state
        .labels
        .par_chunks(BLOCK)
        .zip(state.upper.par_chunks_mut(BLOCK))
        .zip(state.lower.par_chunks_mut(BLOCK * k))
        .for_each(|((labels, upper), lower)| {
            for ((l, u), lo) in labels.iter().zip(upper.iter_mut()).zip(lower.chunks_exact_mut(k)) {
                *u += moves[*l as usize];
                lo.iter_mut().zip(moves).for_each(|(b, &p)| *b -= p);
            }
        });
}

/// Plain Lloyd iterations (the oracle [`lloyd`] is tested against): from `centroids` until no label changes, the centroids move at most
/// `tol` (absolute, squared), or `max_iter`.
#[cfg(test)]
fn lloyd_plain(m: &Matrix, mut centroids: Vec<f32>, max_iter: usize, tol: f64) -> KMeansFit {
    let mut labels: Vec<u32> = Vec::new();
    let mut iterations = 0;
    while iterations < max_iter {
        iterations += 1;
        let (new_labels, dist, sums, counts) = assign_all(m, &centroids);
        let unchanged = new_labels == labels;
        labels = new_labels;
        if unchanged {
            break;
        }
        let (next, shift) = update(m, &centroids, &sums, &counts, &dist);
        centroids = next;
        if shift <= tol {
            labels = assign_all(m, &centroids).0;
            break;
        }
    }
    let inertia = inertia(m, &centroids, &labels);
    KMeansFit {
        centroids,
        labels,
        inertia,
        iterations,
    }
}

/// Sum of squared distances of the rows to their centroids, from the differences (not the
/// norm expansion) in `f64`, reduced in block order.
pub fn inertia(m: &Matrix, centroids: &[f32], labels: &[u32]) -> f64 {
    let d = m.dim();
    let blocks: Vec<f64> = (0..m.len().div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            (b * BLOCK..((b + 1) * BLOCK).min(m.len()))
                .map(|i| {
                    let c = &centroids[labels[i] as usize * d..(labels[i] as usize + 1) * d];
                    m.row(i)
                        .iter()
                        .zip(c)
                        .map(|(&x, &y)| f64::from(x - y).powi(2))
                        .sum::<f64>()
                })
                .sum()
        })
        .collect();
    blocks.iter().sum()
}

/// The Euclidean distance of every row to its centroid.
pub fn distances(m: &Matrix, centroids: &[f32], labels: &[u32]) -> Vec<f32> {
    let d = m.dim();
    (0..m.len())
        .map(|i| {
            let c = &centroids[labels[i] as usize * d..(labels[i] as usize + 1) * d];
            m.row(i)
                .iter()
                .zip(c)
                .map(|(&x, &y)| f64::from(x - y).powi(2))
                .sum::<f64>()
                .sqrt() as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `per` points around each of `centres` (unit spread `spread`), from a seeded generator.
    pub(crate) fn blobs(centres: &[Vec<f32>], per: usize, spread: f32, seed: u64) -> Matrix {
        let mut rng = Rng::for_sample(seed, "blobs");
        let d = centres[0].len();
        let mut data = Vec::new();
        for c in centres {
            for _ in 0..per {
                data.extend(
                    c.iter()
                        .map(|&v| v + spread * (rng.next_f64() as f32 - 0.5)),
                );
            }
        }
        Matrix::new(d, data)
    }

    #[test]
    fn well_separated_blobs_are_recovered() {
        let centres = vec![
            vec![0.0, 0.0, 0.0],
            vec![5.0, 0.0, 0.0],
            vec![0.0, 5.0, 0.0],
            vec![0.0, 0.0, 5.0],
        ];
        let m = blobs(&centres, 30, 1.0, 1);
        let f = fit(
            &m,
            &KMeansConfig {
                k: 4,
                restarts: 3,
                max_iter: 100,
                tol: 1e-4,
            },
            0,
        );
        for b in 0..4 {
            let first = f.labels[b * 30];
            assert!(
                f.labels[b * 30..(b + 1) * 30].iter().all(|&l| l == first),
                "blob {b} split"
            );
        }
        let distinct: std::collections::BTreeSet<u32> = f.labels.iter().copied().collect();
        assert_eq!(distinct.len(), 4);
        assert!((f.inertia - inertia(&m, &f.centroids, &f.labels)).abs() < 1e-9);
    }

    #[test]
    fn every_row_goes_to_its_nearest_centroid() {
        // Oracle: the fast assignment (norm expansion, blocks) against a direct search.
        let m = blobs(&[vec![0.0; 5], vec![1.0; 5]], 700, 3.0, 2);
        let f = fit(
            &m,
            &KMeansConfig {
                k: 6,
                restarts: 1,
                max_iter: 300,
                tol: 0.0,
            },
            3,
        );
        for i in 0..m.len() {
            let direct = (0..6)
                .map(|j| {
                    (
                        j,
                        m.row(i)
                            .iter()
                            .zip(&f.centroids[j * 5..(j + 1) * 5])
                            .map(|(a, b)| (a - b).powi(2))
                            .sum::<f32>(),
                    )
                })
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap();
            let own: f32 = m
                .row(i)
                .iter()
                .zip(&f.centroids[f.labels[i] as usize * 5..])
                .map(|(a, b)| (a - b).powi(2))
                .sum();
            assert!(own <= direct.1 + 1e-4, "row {i}: {own} > {}", direct.1);
        }
    }

    #[test]
    fn identical_rows_and_k_equal_to_n_do_not_break_seeding() {
        let m = Matrix::new(2, vec![1.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
        let f = fit(
            &m,
            &KMeansConfig {
                k: 3,
                restarts: 2,
                max_iter: 10,
                tol: 1e-4,
            },
            0,
        );
        assert_eq!(f.inertia, 0.0);
        let m = Matrix::new(1, vec![0.0, 1.0, 2.0]);
        let f = fit(
            &m,
            &KMeansConfig {
                k: 3,
                restarts: 1,
                max_iter: 10,
                tol: 0.0,
            },
            0,
        );
        assert_eq!(f.inertia, 0.0);
    }

    #[test]
    fn elkan_gives_what_plain_lloyd_gives() {
        for (seed, k) in [(5, 3), (6, 8), (7, 12)] {
            let m = blobs(
                &[
                    vec![0.0; 9],
                    vec![1.0; 9],
                    vec![2.0, 0.0, 1.0, 0.0, 2.0, 0.0, 1.0, 0.0, 2.0],
                ],
                400,
                2.5,
                seed,
            );
            let start = kmeans_pp(&m, k, &mut Rng::for_sample(seed, "start"));
            let (fast, plain) = (
                lloyd(&m, start.clone(), 300, 0.0),
                lloyd_plain(&m, start, 300, 0.0),
            );
            assert_eq!(fast.labels, plain.labels, "k = {k}");
            assert!(
                (fast.inertia - plain.inertia).abs() <= 1e-9 * plain.inertia,
                "k = {k}"
            );
        }
    }

    #[test]
    fn dot_matches_a_plain_sum() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.25).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-3);
    }
}

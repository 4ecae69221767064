//! The pruning algorithm over samples already reduced to what it needs: an id, a dataset, the
//! labels of its entities and a unit vector.
//!
//! Per dataset, samples are visited in the
//! order of a seeded hash of their id. For each sample with entities, each of its labels
//! whose (dataset, label) pool still has room decides on its own:
//! - `diversity`: accept with probability clamp(1 − max cosine(x, pool) + b, 0, 1), i.e.
//!   accept iff the draw u(seed, id, pool) ∈ [0, 1) is below it; an empty pool accepts;
//! - `threshold`: accept iff the pool is empty or 1 − max cosine ≥ τ;
//! - `random-per-type`: accept (the first k samples of each type in the visiting order).
//!
//! A sample accepted by at least one pool is kept with all its mentions, and its vector
//! joins exactly the pools that accepted it (the paper adds x to the pool whose draw it
//! passed; a pool that rejected it or was already full does not count it, so a kept sample
//! can carry a label whose pool never took it). Samples without entities then go, in the
//! same order, against one negatives pool per dataset of capacity floor(k · ratio), decided
//! the same way. `random` keeps the `total` samples with the smallest order hash over all
//! datasets, ignoring types and entities.
//!
//! Every draw is a function of (seed, sample id, pool) only, and each pool's decisions are
//! made in the visiting order, so the result does not depend on threads or input order.
//! A pool's decisions never depend on another pool's, so datasets and, within them, pools
//! run in parallel (rayon); a sample's decision combines its pools' verdicts.

use super::params::{Rule, ValidPruneParams};
use crate::progress::Progress;
use crate::vector::{reduce, LANES};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// What a sample looks like to the algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The sample id (the key of every draw).
    pub id: String,
    /// The dataset, an index into [`Names`].
    pub dataset: u32,
    /// The distinct labels of its entities, indices into [`Names`]; empty for a negative.
    pub labels: Vec<u32>,
    /// Its row in [`Vectors`]; `None` when it has no embedding (it is then dropped as
    /// `missing_embedding`).
    pub row: Option<usize>,
}

/// Dataset and label names, interned so that candidates stay small at corpus scale.
#[derive(Debug, Clone, Default)]
pub struct Names {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl Names {
    /// The index of `name`, adding it when new.
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        i
    }

    /// The name at `index`.
    pub fn get(&self, index: u32) -> &str {
        &self.names[index as usize]
    }
}

/// Unit vectors, row after row, contiguous (the pools copy rows of it).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Vectors {
    dim: usize,
    data: Vec<f32>,
}

/// The length of `v` (summed in f64), or why `v` cannot be scaled to unit length: a
/// non-finite value or only zeros.
#[inline(always)]
fn unit_norm(v: &[f32]) -> Result<f64, String> {
    let norm = sum_of_squares(v).sqrt();
    if !norm.is_finite()
        && let Some(pos) = v.iter().position(|x| !x.is_finite()) {
            return Err(format!("holds {} at position {pos}", v[pos]));
        }
    if norm == 0.0 || !norm.is_finite() {
        return Err("is all zeros".into());
    }
    Ok(norm)
}

/// Writes `v` scaled to unit length into `out` (each value divided by [`unit_norm`] in
/// f64); false (and `out` untouched) when `v` cannot be scaled. Meant for vectors on their
/// way from a decoded page into memory ([`crate::table::vectors::read_float_vectors_with`]).
pub fn scale_into(v: &[f32], out: &mut [f32]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512F, checked just above.
        return unsafe { scale_into_avx512(v, out) };
    }
    scale_into_portable(v, out)
}

/// [`scale_into`] compiled for AVX-512: eight lanes of f64 sums and divisions per
/// instruction, the same operations in the same order, so the same bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn scale_into_avx512(v: &[f32], out: &mut [f32]) -> bool {
    scale_into_portable(v, out)
}

#[inline(always)]
fn scale_into_portable(v: &[f32], out: &mut [f32]) -> bool {
    let Ok(norm) = unit_norm(v) else { return false };
    for (o, x) in out.iter_mut().zip(v) {
        *o = (f64::from(*x) / norm) as f32;
    }
    true
}

/// Σ x² in f64, in eight lanes so that the additions vectorise (a NaN or infinity makes
/// it non-finite).
fn sum_of_squares(v: &[f32]) -> f64 {
    let (chunks, tail) = v.as_chunks::<8>();
    let mut lanes = [0.0f64; 8];
    for c in chunks {
        for l in 0..8 {
            lanes[l] += f64::from(c[l]) * f64::from(c[l]);
        }
    }
    for (l, x) in tail.iter().enumerate() {
        lanes[l] += f64::from(*x) * f64::from(*x);
    }
    lanes.iter().sum()
}

/// Why a vector cannot be used, and in which row.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRow {
    /// The row (0-based).
    pub row: usize,
    /// What is wrong (`holds NaN at position 3`, `is all zeros`).
    pub problem: String,
}

impl Vectors {
    /// Wraps `data` (rows of `dim`), scaling the rows listed in `used` to unit length; a
    /// used row holding a non-finite value or only zeros is refused (the first such row in
    /// `used` order). Other rows are left as they are and must not be used. For vectors
    /// already in memory; the stage scales them as it reads them ([`Vectors::from_scaled`]).
    pub fn normalised(dim: usize, mut data: Vec<f32>, used: impl IntoIterator<Item = usize>) -> Result<Vectors, BadRow> {
        let used: Vec<usize> = used.into_iter().collect();
        let mut refused = Vec::new();
        if let Some(rows) = data.len().checked_div(dim) {
            let mut scaled = vec![false; rows];
            for &row in &used {
                if !std::mem::replace(&mut scaled[row], true) {
                    let v = &mut data[row * dim..(row + 1) * dim];
                    let raw = v.to_vec();
                    if !scale_into(&raw, v) {
                        refused.push(row);
                    }
                }
            }
        }
        refused.sort_unstable();
        Vectors::from_scaled(dim, data, &refused, &used)
    }

    /// Wraps `data` (rows of `dim`) whose rows [`scale_into`] wrote as they were read;
    /// `refused` (sorted) lists the rows it refused, which hold their values as read. A used
    /// row among them is an error (the first in `used` order); unused ones do not matter.
    pub fn from_scaled(dim: usize, data: Vec<f32>, refused: &[usize], used: &[usize]) -> Result<Vectors, BadRow> {
        if let Some(&row) = used.iter().find(|row| refused.binary_search(row).is_ok()) {
            let problem = unit_norm(&data[row * dim..(row + 1) * dim]).err().unwrap_or_else(|| "is not a unit-scalable vector".into());
            return Err(BadRow { row, problem });
        }
        Ok(Vectors { dim, data })
    }

    /// The vector length.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

/// Why a sample was kept or dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// Accepted by at least one pool (or drawn, for `random`).
    Kept,
    /// Every pool of its labels was full when it was visited.
    PoolFull,
    /// Some pool had room but its draw rejected the sample (`diversity`).
    RejectedByDraw,
    /// Some pool had room but the sample was too close to it (`threshold`).
    BelowThreshold,
    /// A sample without entities visited after its dataset's negatives pool was full.
    NegativeQuotaFull,
    /// Not among the `total` samples drawn (`random`).
    NotSampled,
    /// No embedding, and `missing` is `skip`.
    MissingEmbedding,
}

impl Reason {
    /// The reason as written in the decisions table and the counts.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Kept => "kept",
            Reason::PoolFull => "pool_full",
            Reason::RejectedByDraw => "rejected_by_draw",
            Reason::BelowThreshold => "below_threshold",
            Reason::NegativeQuotaFull => "negative_quota_full",
            Reason::NotSampled => "not_sampled",
            Reason::MissingEmbedding => "missing_embedding",
        }
    }
}

/// What happened to one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Whether the sample is in the pruned table.
    pub kept: bool,
    /// The pools that took it: label indices, by label name; [`NEGATIVES`] for the negatives pool.
    pub pools: Vec<u32>,
    /// The largest cosine between the sample and a non-empty pool it was compared with.
    pub max_similarity: Option<f32>,
    /// Why.
    pub reason: Reason,
}

/// The pool id of a dataset's negatives pool in [`Decision::pools`] and [`PoolSummary`].
pub const NEGATIVES: u32 = u32::MAX;

/// The random draws of a run. [`Hashed`] is the real one; tests can fix draws by hand.
pub trait Draws: Sync {
    /// The sample's place in the visiting order (smaller first; ties by id).
    fn order(&self, id: &str) -> u64;
    /// A uniform draw in [0, 1) for the sample's acceptance into the pool `(dataset, label)`
    /// (`label` `None`: the negatives pool).
    fn accept(&self, id: &str, dataset: &str, label: Option<&str>) -> f64;
}

/// Draws hashed from (seed, sample id, pool): FNV-1a over the bytes, finished by SplitMix64.
#[derive(Debug, Clone, Copy)]
pub struct Hashed {
    /// The run's seed.
    pub seed: u64,
}

impl Hashed {
    /// 64 random bits for (seed, `parts`), parts separated so that ("ab", "c") ≠ ("a", "bc").
    pub fn bits(&self, parts: &[&[u8]]) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for (i, part) in std::iter::once(&&self.seed.to_le_bytes()[..]).chain(parts).enumerate() {
            if i > 0 {
                h = (h ^ 0xff).wrapping_mul(0x0000_0100_0000_01B3);
            }
            for &b in *part {
                h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3);
            }
        }
        splitmix(h)
    }
}

/// The SplitMix64 finaliser: spreads every input bit over the output.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// 53 bits of `bits` as a uniform float in [0, 1).
pub fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

impl Draws for Hashed {
    fn order(&self, id: &str) -> u64 {
        self.bits(&[b"order", id.as_bytes()])
    }

    fn accept(&self, id: &str, dataset: &str, label: Option<&str>) -> f64 {
        let pool = label.map_or(&b"\0negatives"[..], str::as_bytes);
        unit(self.bits(&[b"accept", id.as_bytes(), dataset.as_bytes(), pool]))
    }
}

/// Candidates one pass over a pool serves: their vectors and four pool rows stay in the
/// L1 cache while the pool streams from the outer caches once per block instead of once
/// per candidate.
const BLOCK: usize = 8;

/// For each `xs[k]`, the largest dot product with the rows (of `dim`) of `rows`, into
/// `best[k]` (−∞ with no rows).
#[inline(always)]
fn max_dots_portable(rows: &[f32], dim: usize, xs: &[&[f32]], best: &mut [f32]) {
    // Four rows per pass share each load of `x`; every row is still summed exactly as
    // `dot` sums it. Plain loops, no closures: a closure would not inherit the caller's
    // target features.
    best.fill(f32::NEG_INFINITY);
    if dim == 0 {
        return;
    }
    let quads = rows.chunks_exact(4 * dim);
    let rest = quads.remainder();
    for q in quads {
        quad_maxima(four_rows(q, dim), xs, best);
    }
    rest_maxima(rest, dim, xs, best);
}

/// A block of four rows as the four rows.
#[inline(always)]
fn four_rows(q: &[f32], dim: usize) -> [&[f32]; 4] {
    [&q[..dim], &q[dim..2 * dim], &q[2 * dim..3 * dim], &q[3 * dim..]]
}

/// Each `best[k]` raised to the largest dot product of `xs[k]` with the four rows.
#[inline(always)]
fn quad_maxima(four: [&[f32]; 4], xs: &[&[f32]], best: &mut [f32]) {
    for (x, best) in xs.iter().zip(best.iter_mut()) {
        raise(best, dot4(four[0], four[1], four[2], four[3], x));
    }
}

/// `best` raised to the largest of four products, taken in row order.
#[inline(always)]
fn raise(best: &mut f32, s: [f32; 4]) {
    *best = best.max(s[0]).max(s[1]).max(s[2]).max(s[3]);
}

/// Each `best[k]` raised to the dot products of `xs[k]` with the rows (fewer than four) of
/// `rest`.
#[inline(always)]
fn rest_maxima(rest: &[f32], dim: usize, xs: &[&[f32]], best: &mut [f32]) {
    for r in rest.chunks_exact(dim) {
        for (x, best) in xs.iter().zip(best.iter_mut()) {
            *best = best.max(dot(r, x));
        }
    }
}

/// The dot products of four rows with `x`, each summed in the lanes and order of [`dot`].
#[inline(always)]
fn dot4(a: &[f32], b: &[f32], c: &[f32], d: &[f32], x: &[f32]) -> [f32; 4] {
    let (cx, tx) = x.as_chunks::<LANES>();
    let (ca, ta) = a.as_chunks::<LANES>();
    let (cb, tb) = b.as_chunks::<LANES>();
    let (cc, tc) = c.as_chunks::<LANES>();
    let (cd, td) = d.as_chunks::<LANES>();
    let (mut s0, mut s1, mut s2, mut s3) = ([0.0f32; LANES], [0.0f32; LANES], [0.0f32; LANES], [0.0f32; LANES]);
    for ((((xv, av), bv), cv), dv) in cx.iter().zip(ca).zip(cb).zip(cc).zip(cd) {
        for l in 0..LANES {
            s0[l] = av[l].mul_add(xv[l], s0[l]);
            s1[l] = bv[l].mul_add(xv[l], s1[l]);
            s2[l] = cv[l].mul_add(xv[l], s2[l]);
            s3[l] = dv[l].mul_add(xv[l], s3[l]);
        }
    }
    for (l, xv) in tx.iter().enumerate() {
        s0[l] = ta[l].mul_add(*xv, s0[l]);
        s1[l] = tb[l].mul_add(*xv, s1[l]);
        s2[l] = tc[l].mul_add(*xv, s2[l]);
        s3[l] = td[l].mul_add(*xv, s3[l]);
    }
    [reduce(s0), reduce(s1), reduce(s2), reduce(s3)]
}

/// The dot product of `a` and `x`: [`LANES`] lanes of fused multiply-adds in element
/// order, reduced in [`reduce`]'s tree. A fused multiply-add rounds once, so it gives the
/// same bits whether the CPU has the instruction or the C library computes it.
#[inline(always)]
fn dot(a: &[f32], x: &[f32]) -> f32 {
    let (cx, tx) = x.as_chunks::<LANES>();
    let (ca, ta) = a.as_chunks::<LANES>();
    let mut s = [0.0f32; LANES];
    for (xv, av) in cx.iter().zip(ca) {
        for l in 0..LANES {
            s[l] = av[l].mul_add(xv[l], s[l]);
        }
    }
    for (l, xv) in tx.iter().enumerate() {
        s[l] = ta[l].mul_add(*xv, s[l]);
    }
    reduce(s)
}

/// [`max_dots_portable`] compiled for AVX2 with FMA: the same operations, the same bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn max_dots_avx2(rows: &[f32], dim: usize, xs: &[&[f32]], best: &mut [f32]) {
    max_dots_portable(rows, dim, xs, best)
}

/// [`max_dots_portable`] for AVX-512: each pass over four rows serves four vectors at once
/// ([`avx512::dots_4x4`]), sixteen independent sums that keep both fused multiply-add units
/// busy where four would leave them waiting on each add's latency. Every row and vector is
/// summed with the same fused multiply-adds in the same lanes and order, so the bits are
/// those of the other builds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn max_dots_avx512(rows: &[f32], dim: usize, xs: &[&[f32]], best: &mut [f32]) {
    best.fill(f32::NEG_INFINITY);
    if dim == 0 {
        return;
    }
    let quads = rows.chunks_exact(4 * dim);
    let rest = quads.remainder();
    for q in quads {
        let four = four_rows(q, dim);
        let mut k = 0;
        while k + 4 <= xs.len() && xs[k..k + 4].iter().all(|x| x.len() == dim) {
            let group = [xs[k], xs[k + 1], xs[k + 2], xs[k + 3]];
            // SAFETY: AVX-512F is enabled here; every row and vector holds `dim` values.
            let sums = unsafe { avx512::dots_4x4(four, group, dim) };
            for (s, best) in sums.into_iter().zip(&mut best[k..k + 4]) {
                raise(best, s);
            }
            k += 4;
        }
        quad_maxima(four, &xs[k..], &mut best[k..]);
    }
    rest_maxima(rest, dim, xs, best);
}

/// The AVX-512 block of [`max_dots_avx512`], written with intrinsics: the compiler does not
/// keep sixteen arrays of lanes in registers when they are written as plain loops.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::LANES;
    use std::arch::x86_64::*;

    /// The dot products of four rows with four vectors (`sums[vector][row]`), each in the
    /// lanes, order and reduction tree of [`super::dot`]; the last `dim % 16` values go
    /// through masked loads and masked fused multiply-adds that leave the other lanes as
    /// they are, as the portable tail does.
    ///
    /// # Safety
    /// The CPU must support AVX-512F, and every row and vector must hold at least `dim`
    /// values.
    #[target_feature(enable = "avx512f,fma")]
    pub(super) unsafe fn dots_4x4(rows: [&[f32]; 4], xs: [&[f32]; 4], dim: usize) -> [[f32; 4]; 4] {
        let mut acc = [[_mm512_setzero_ps(); 4]; 4];
        let full = dim / LANES * LANES;
        let mut off = 0;
        while off < full {
            // SAFETY: `off + 16 <= dim`, within every slice.
            let r = unsafe { [0, 1, 2, 3].map(|i| _mm512_loadu_ps(rows[i].as_ptr().add(off))) };
            for (j, x) in xs.iter().enumerate() {
                // SAFETY: as above.
                let x = unsafe { _mm512_loadu_ps(x.as_ptr().add(off)) };
                for i in 0..4 {
                    acc[j][i] = _mm512_fmadd_ps(r[i], x, acc[j][i]);
                }
            }
            off += LANES;
        }
        if full < dim {
            let mask: __mmask16 = (1u16 << (dim - full)) - 1;
            // SAFETY: masked-off lanes are not read; the others lie below `dim`.
            let r = unsafe { [0, 1, 2, 3].map(|i| _mm512_maskz_loadu_ps(mask, rows[i].as_ptr().add(full))) };
            for (j, x) in xs.iter().enumerate() {
                // SAFETY: as above.
                let x = unsafe { _mm512_maskz_loadu_ps(mask, x.as_ptr().add(full)) };
                for i in 0..4 {
                    acc[j][i] = _mm512_mask3_fmadd_ps(r[i], x, acc[j][i], mask);
                }
            }
        }
        reduce_4x4(acc)
    }

    /// [`super::reduce`] of each of sixteen registers, all at once: every step of the tree
    /// (lane `l` plus lane `l + 8`, then `+ 4`, `+ 2`, `+ 1`) adds the same lanes as the
    /// scalar tree, only gathered from two registers into one so that each addition serves
    /// two or more sums. Sixteen scalar trees cost as much as the products of a short row.
    #[target_feature(enable = "avx512f")]
    fn reduce_4x4(acc: [[__m512; 4]; 4]) -> [[f32; 4]; 4] {
        // v[4j + i]: vector j against row i.
        let v: [__m512; 16] = std::array::from_fn(|k| acc[k / 4][k % 4]);
        // Lanes 0–7 plus lanes 8–15: register k holds v[2k] then v[2k + 1], eight lanes each.
        let s1: [__m512; 8] = std::array::from_fn(|k| {
            let (a, b) = (v[2 * k], v[2 * k + 1]);
            _mm512_add_ps(_mm512_shuffle_f32x4::<0x44>(a, b), _mm512_shuffle_f32x4::<0xEE>(a, b))
        });
        // Lanes 0–3 plus 4–7: register m holds v[4m .. 4m + 4], four lanes each.
        let s2: [__m512; 4] = std::array::from_fn(|m| {
            let (p, q) = (s1[2 * m], s1[2 * m + 1]);
            _mm512_add_ps(_mm512_shuffle_f32x4::<0x88>(p, q), _mm512_shuffle_f32x4::<0xDD>(p, q))
        });
        // Lanes 0–1 plus 2–3: block i of register t holds v[8t + i], then v[8t + 4 + i].
        let s3: [__m512; 2] = std::array::from_fn(|t| {
            let (u, w) = (s2[2 * t], s2[2 * t + 1]);
            _mm512_add_ps(_mm512_shuffle_ps::<0x44>(u, w), _mm512_shuffle_ps::<0xEE>(u, w))
        });
        // Lane 0 plus lane 1: lane 4i + k holds v[4k + i], vector k against row i.
        let s4 = _mm512_add_ps(_mm512_shuffle_ps::<0x88>(s3[0], s3[1]), _mm512_shuffle_ps::<0xDD>(s3[0], s3[1]));
        let mut lanes = [0.0f32; LANES];
        // SAFETY: `lanes` holds sixteen floats.
        unsafe { _mm512_storeu_ps(lanes.as_mut_ptr(), s4) };
        std::array::from_fn(|j| std::array::from_fn(|i| lanes[4 * i + j]))
    }
}

/// For each `xs[k]`, the largest dot product with the rows (of `dim`) of `rows` into
/// `best[k]`; −∞ when there are none.
///
/// The widest vector unit the CPU has is picked at run time (the build targets generic
/// x86-64); every choice sums each row with the same fused multiply-adds in the same lanes
/// and order, so the result is the same on any machine, and the same whatever else is in
/// `xs`. A CPU without FMA (x86 before 2013) gets the same bits from the C library's
/// `fmaf`, many times slower.
pub fn max_dots(rows: &[f32], dim: usize, xs: &[&[f32]], best: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX-512F and FMA, checked just above.
        return unsafe { max_dots_avx512(rows, dim, xs, best) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        return unsafe { max_dots_avx2(rows, dim, xs, best) };
    }
    max_dots_portable(rows, dim, xs, best)
}

/// The largest dot product of `x` with the rows of `rows`; −∞ when there are none.
pub fn max_dot(rows: &[f32], x: &[f32]) -> f32 {
    let mut best = [f32::NEG_INFINITY];
    max_dots(rows, x.len(), &[x], &mut best);
    best[0]
}

/// One pool: up to `capacity` unit vectors, contiguous, and the candidates they belong to.
#[derive(Debug, Clone)]
struct Pool {
    capacity: usize,
    vectors: Vec<f32>,
    members: Vec<usize>,
}

impl Pool {
    fn new(capacity: usize) -> Pool {
        Pool { capacity, vectors: Vec::new(), members: Vec::new() }
    }

    fn is_full(&self) -> bool {
        self.members.len() >= self.capacity
    }

    fn push(&mut self, candidate: usize, x: &[f32]) {
        self.vectors.extend_from_slice(x);
        self.members.push(candidate);
    }
}

/// A pool's verdict on one sample.
struct Verdict {
    accepted: bool,
    similarity: Option<f32>,
}

/// Everything one dataset's pass needs to read.
struct Context<'a, D: Draws> {
    candidates: &'a [Candidate],
    names: &'a Names,
    vectors: &'a Vectors,
    params: &'a ValidPruneParams,
    draws: &'a D,
}

impl<D: Draws> Context<'_, D> {
    /// Whether the pool of `dataset` for `label` takes candidate `i`, whose largest cosine
    /// with the pool is `similarity` (`None`: the pool is empty, or the rule needs none).
    fn judge(&self, similarity: Option<f32>, i: usize, dataset: u32, label: Option<u32>) -> Verdict {
        let accepted = match (self.params.rule, similarity) {
            (Rule::RandomPerType | Rule::Random { .. }, _) | (_, None) => true,
            (Rule::Threshold { tau }, Some(s)) => 1.0 - s >= tau,
            (Rule::Diversity { offset }, Some(s)) => {
                let p = f64::from((1.0 - s + offset).clamp(0.0, 1.0));
                let label = label.map(|l| self.names.get(l));
                self.draws.accept(&self.candidates[i].id, self.names.get(dataset), label) < p
            }
        };
        Verdict { accepted, similarity }
    }

    /// The reason of a sample no pool took, given whether any pool had room.
    fn refusal(&self, any_room: bool, full: Reason) -> Reason {
        match (any_room, self.params.rule) {
            (false, _) => full,
            (true, Rule::Threshold { .. }) => Reason::BelowThreshold,
            (true, _) => Reason::RejectedByDraw,
        }
    }

    /// Runs the pools of one dataset over its candidates (already in visiting order).
    ///
    /// A pool's decisions depend only on the samples it saw before, never on another
    /// pool's, so the pools run in parallel, each one sequentially in the visiting order;
    /// then each sample's verdicts are combined. This is exactly the sample-by-sample
    /// loop of the paper, and balances big datasets over the threads.
    fn run_dataset(&self, dataset: u32, order: &[usize]) -> DatasetResult {
        // Each pool's candidates, as positions in `order`.
        let mut lists: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        let mut negatives_list = Vec::new();
        for (k, &i) in order.iter().enumerate() {
            let labels = &self.candidates[i].labels;
            if labels.is_empty() {
                negatives_list.push(k);
            }
            for &l in labels {
                lists.entry(l).or_default().push(k);
            }
        }
        let jobs: Vec<(u32, Vec<usize>)> = lists.into_iter().chain(std::iter::once((NEGATIVES, negatives_list))).collect();
        let runs: Vec<(u32, Pool, Vec<usize>, Vec<Seen>)> = jobs
            .into_par_iter()
            .map(|(label, positions)| {
                let members: Vec<usize> = positions.iter().map(|&k| order[k]).collect();
                let (label, pool, verdicts) = self.run_pool(dataset, label, &members);
                (label, pool, positions, verdicts)
            })
            .collect();
        let mut pools = BTreeMap::new();
        let mut negatives = Pool::new(self.params.negatives);
        let mut seen: Vec<Vec<(u32, Seen)>> = (0..order.len()).map(|_| Vec::new()).collect();
        for (label, pool, positions, verdicts) in runs {
            for (k, v) in positions.into_iter().zip(verdicts) {
                seen[k].push((label, v));
            }
            if label == NEGATIVES { negatives = pool } else { pools.insert(label, pool); }
        }
        let decisions = order.iter().zip(seen).map(|(&i, verdicts)| (i, self.combine(verdicts))).collect();
        DatasetResult { dataset, decisions, pools, negatives }
    }

    /// One pool over its candidates in visiting order: each one's verdict.
    ///
    /// Candidates come in blocks of [`BLOCK`]: one pass over the pool as the block found it
    /// gives each its largest cosine with those members, and the few members the block
    /// itself adds are compared one by one. A maximum does not depend on the order its
    /// terms come in, so this is the sample-by-sample loop, bit for bit.
    fn run_pool(&self, dataset: u32, label: u32, members: &[usize]) -> (u32, Pool, Vec<Seen>) {
        let capacity = if label == NEGATIVES { self.params.negatives } else { self.params.per_type };
        let needs_similarity = !matches!(self.params.rule, Rule::RandomPerType | Rule::Random { .. });
        let dim = self.vectors.dim();
        let label_of = (label != NEGATIVES).then_some(label);
        let mut pool = Pool::new(capacity);
        pool.vectors.reserve(capacity.min(members.len()) * dim);
        let mut verdicts = Vec::with_capacity(members.len());
        let mut before = [f32::NEG_INFINITY; BLOCK];
        for block in members.chunks(BLOCK) {
            if pool.is_full() {
                verdicts.extend(block.iter().map(|_| Seen::Full));
                continue;
            }
            let rows: Vec<Option<&[f32]>> = block.iter().map(|&i| self.candidates[i].row.map(|r| self.vectors.row(r))).collect();
            let known = pool.members.len();
            if needs_similarity && known > 0 {
                let xs: Vec<&[f32]> = rows.iter().map(|r| r.unwrap_or(&[])).collect();
                max_dots(&pool.vectors, dim, &xs, &mut before[..xs.len()]);
            }
            for (k, (&i, row)) in block.iter().zip(&rows).enumerate() {
                if pool.is_full() {
                    verdicts.push(Seen::Full);
                    continue;
                }
                let similarity = match row {
                    Some(x) if needs_similarity && !pool.members.is_empty() => {
                        let added = max_dot(&pool.vectors[known * dim..], x);
                        Some(if known > 0 { before[k].max(added) } else { added })
                    }
                    _ => None,
                };
                let verdict = self.judge(similarity, i, dataset, label_of);
                if let (true, Some(x)) = (verdict.accepted, row) {
                    pool.push(i, x);
                }
                verdicts.push(Seen::Judged(verdict));
            }
        }
        (label, pool, verdicts)
    }

    /// A sample's decision from the verdicts of its pools.
    fn combine(&self, verdicts: Vec<(u32, Seen)>) -> Decision {
        let negative = verdicts.iter().any(|(l, _)| *l == NEGATIVES);
        let mut taken = Vec::new();
        let mut max_similarity: Option<f32> = None;
        let mut any_room = false;
        for (label, seen) in verdicts {
            if let Seen::Judged(v) = seen {
                any_room = true;
                max_similarity = max_opt(max_similarity, v.similarity);
                if v.accepted {
                    taken.push(label);
                }
            }
        }
        // By name, not by interned index: the index depends on the input order.
        taken.sort_by(|a, b| self.pool_name(*a).cmp(self.pool_name(*b)));
        let full = if negative { Reason::NegativeQuotaFull } else { Reason::PoolFull };
        let reason = if taken.is_empty() { self.refusal(any_room, full) } else { Reason::Kept };
        Decision { kept: !taken.is_empty(), pools: taken, max_similarity, reason }
    }

    fn pool_name(&self, label: u32) -> &str {
        if label == NEGATIVES { "" } else { self.names.get(label) }
    }
}

/// What a pool made of one candidate.
enum Seen {
    /// The pool was full when the candidate came.
    Full,
    /// The pool judged it.
    Judged(Verdict),
}

fn max_opt(a: Option<f32>, b: Option<f32>) -> Option<f32> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// One dataset's decisions and final pools.
struct DatasetResult {
    dataset: u32,
    decisions: Vec<(usize, Decision)>,
    pools: BTreeMap<u32, Pool>,
    negatives: Pool,
}

/// One pool's outcome, for the summary.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolSummary {
    /// The dataset.
    pub dataset: u32,
    /// The label; [`NEGATIVES`] for samples without entities.
    pub label: u32,
    /// Samples of the dataset with this label (or without entities) in the input.
    pub raw: usize,
    /// Of those, how many are kept (by this pool or another).
    pub kept: usize,
    /// How many the pool itself took.
    pub pool: usize,
    /// Mean pairwise cosine of the pool's vectors (`None` under two vectors).
    pub pool_similarity: Option<f64>,
    /// Mean pairwise cosine of a seeded random pick of as many of the raw samples.
    pub random_similarity: Option<f64>,
}

/// What [`prune`] decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Pruning {
    /// One decision per candidate, in candidate order.
    pub decisions: Vec<Decision>,
    /// One row per (dataset, label) pool and per dataset's negatives pool, sorted by
    /// dataset name then label name (negatives last).
    pub summary: Vec<PoolSummary>,
}

/// Decides every candidate; see the module docs.
///
/// # Example
/// ```
/// use nerprep::params::StageParams;
/// use nerprep::progress::NoProgress;
/// use nerprep::prune::{algorithm::prune, Candidate, Hashed, Names, PruneParams, Reason, Vectors};
/// let mut names = Names::default();
/// let (d, city) = (names.intern("news"), names.intern("city"));
/// let candidates: Vec<Candidate> = (0..3)
///     .map(|i| Candidate { id: format!("news/train/f:{i}"), dataset: d, labels: vec![city], row: Some(i) })
///     .collect();
/// // Two identical vectors and an orthogonal one; pools of one sample.
/// let vectors = Vectors::normalised(2, vec![1.0, 0.0, 1.0, 0.0, 0.0, 1.0], 0..3).unwrap();
/// let params = PruneParams { per_type: 1, ..Default::default() }.check().unwrap();
/// let p = prune(&candidates, &names, &vectors, &params, &Hashed { seed: 0 }, &NoProgress);
/// assert_eq!(p.decisions.iter().filter(|d| d.kept).count(), 1);
/// assert!(p.decisions.iter().all(|d| d.kept || d.reason == Reason::PoolFull));
/// assert_eq!(p.summary[0].pool, 1);
/// ```
pub fn prune<D: Draws>(
    candidates: &[Candidate],
    names: &Names,
    vectors: &Vectors,
    params: &ValidPruneParams,
    draws: &D,
    progress: &dyn Progress,
) -> Pruning {
    progress.start(Some(candidates.len() as u64), crate::progress::Unit::Items);
    let mut decisions: Vec<Option<Decision>> = vec![None; candidates.len()];
    let missing = Decision { kept: false, pools: Vec::new(), max_similarity: None, reason: Reason::MissingEmbedding };
    for (i, c) in candidates.iter().enumerate() {
        if c.row.is_none() {
            decisions[i] = Some(missing.clone());
        }
    }
    let ctx = Context { candidates, names, vectors, params, draws };
    let mut summary = Vec::new();
    if let Rule::Random { total } = params.rule {
        let order = visiting_order(candidates, draws, (0..candidates.len()).filter(|&i| candidates[i].row.is_some()));
        for (rank, &i) in order.iter().enumerate() {
            let kept = rank < total;
            let reason = if kept { Reason::Kept } else { Reason::NotSampled };
            decisions[i] = Some(Decision { kept, pools: Vec::new(), max_similarity: None, reason });
        }
        progress.advance(candidates.len() as u64);
    } else {
        let mut by_dataset: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for (i, c) in candidates.iter().enumerate().filter(|(_, c)| c.row.is_some()) {
            by_dataset.entry(c.dataset).or_default().push(i);
        }
        let results: Vec<(DatasetResult, Vec<PoolSummary>)> = by_dataset
            .into_par_iter()
            .map(|(dataset, members)| {
                let order = visiting_order(candidates, draws, members);
                let mut result = ctx.run_dataset(dataset, &order);
                progress.advance(order.len() as u64);
                let rows = summarise(&ctx, &result);
                // The pools' copies of their vectors served the scans and the summary; at
                // corpus scale they would add up to most of the vectors again.
                result.pools.values_mut().chain([&mut result.negatives]).for_each(|p| p.vectors = Vec::new());
                (result, rows)
            })
            .collect();
        for (result, rows) in results {
            for (i, d) in result.decisions {
                decisions[i] = Some(d);
            }
            summary.extend(rows);
        }
    }
    progress.finish();
    let decisions = decisions.into_iter().map(|d| d.expect("every candidate is decided")).collect();
    // By dataset name, then label name, the negatives pool last.
    summary.sort_by(|a, b| summary_key(names, a).cmp(&summary_key(names, b)));
    Pruning { decisions, summary }
}

fn summary_key<'a>(names: &'a Names, s: &PoolSummary) -> (&'a str, bool, &'a str) {
    let negatives = s.label == NEGATIVES;
    (names.get(s.dataset), negatives, if negatives { "" } else { names.get(s.label) })
}

/// `members` sorted by their order draw, ties by id: the same order whatever the input order.
fn visiting_order<D: Draws>(candidates: &[Candidate], draws: &D, members: impl IntoIterator<Item = usize>) -> Vec<usize> {
    let mut keyed: Vec<(u64, usize)> = members.into_iter().map(|i| (draws.order(&candidates[i].id), i)).collect();
    keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| candidates[a.1].id.cmp(&candidates[b.1].id)));
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// Summary rows of one dataset's pools.
fn summarise<D: Draws>(ctx: &Context<'_, D>, result: &DatasetResult) -> Vec<PoolSummary> {
    let mut raw: BTreeMap<u32, (Vec<usize>, usize)> = BTreeMap::new();
    for (i, d) in &result.decisions {
        let labels = &ctx.candidates[*i].labels;
        let negative = labels.is_empty().then_some(NEGATIVES);
        for l in labels.iter().copied().chain(negative) {
            let (members, kept) = raw.entry(l).or_default();
            members.push(*i);
            *kept += usize::from(d.kept);
        }
    }
    let seed = Hashed { seed: ctx.params.seed };
    let dataset_name = ctx.names.get(result.dataset);
    raw.into_iter()
        .map(|(label, (members, kept))| {
            let pool = if label == NEGATIVES { &result.negatives } else { &result.pools[&label] };
            let label_name = if label == NEGATIVES { "\0negatives" } else { ctx.names.get(label) };
            let baseline = random_pick(ctx.candidates, &members, pool.members.len(), |id| {
                seed.bits(&[b"baseline", id.as_bytes(), dataset_name.as_bytes(), label_name.as_bytes()])
            });
            PoolSummary {
                dataset: result.dataset,
                label,
                raw: members.len(),
                kept,
                pool: pool.members.len(),
                pool_similarity: mean_pairwise(pool.vectors.chunks_exact(ctx.vectors.dim())),
                random_similarity: mean_pairwise(baseline.iter().filter_map(|&i| ctx.candidates[i].row).map(|r| ctx.vectors.row(r))),
            }
        })
        .collect()
}

/// The `n` members with the smallest `key` of their id (ties by id).
fn random_pick(candidates: &[Candidate], members: &[usize], n: usize, key: impl Fn(&str) -> u64) -> Vec<usize> {
    let mut keyed: Vec<(u64, usize)> = members.iter().map(|&i| (key(&candidates[i].id), i)).collect();
    keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| candidates[a.1].id.cmp(&candidates[b.1].id)));
    keyed.into_iter().take(n).map(|(_, i)| i).collect()
}

/// Mean cosine over all pairs of unit vectors, (‖Σx‖² − Σ‖x‖²) / (n(n − 1)): linear in n
/// instead of quadratic. `None` under two vectors. A pool's vectors come from its own
/// contiguous copy, the random pick's from rows scattered over the whole table, each a
/// wait on memory unless it is asked for a few rows ahead.
pub fn mean_pairwise<'a>(rows: impl Iterator<Item = &'a [f32]>) -> Option<f64> {
    /// Rows asked for ahead of the one being summed.
    const AHEAD: usize = 4;
    let rows: Vec<&[f32]> = rows.collect();
    let n = rows.len();
    if n < 2 {
        return None;
    }
    let mut sum = vec![0.0f64; rows[0].len()];
    let mut norms = 0.0f64;
    for (k, v) in rows.iter().enumerate() {
        if let Some(next) = rows.get(k + AHEAD) {
            prefetch(next);
        }
        norms += sum_of_squares(v);
        sum.iter_mut().zip(v.iter()).for_each(|(s, &x)| *s += f64::from(x));
    }
    let total: f64 = sum.iter().map(|s| s * s).sum();
    Some((total - norms) / (n as f64 * (n as f64 - 1.0)))
}

/// Asks the CPU to bring `v` into its caches; only a hint, never a fault.
fn prefetch(v: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    for line in v.chunks(16) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch reads nothing the program sees and cannot fault.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::StageParams;
    use crate::progress::NoProgress;
    use crate::prune::params::{PruneParams, Strategy};

    /// Draws fixed by hand: the visiting order and each (sample, pool) acceptance draw.
    struct Fixed {
        order: HashMap<&'static str, u64>,
        accept: HashMap<(&'static str, &'static str), f64>,
    }

    impl Draws for Fixed {
        fn order(&self, id: &str) -> u64 {
            self.order[id]
        }
        fn accept(&self, id: &str, _dataset: &str, label: Option<&str>) -> f64 {
            let label = label.unwrap_or("-");
            *self.accept.iter().find(|((i, l), _)| *i == id && *l == label).map(|(_, u)| u).unwrap_or(&0.5)
        }
    }

    /// (id, labels, vector): ten samples, three labels, 2-d vectors whose cosines are easy
    /// to compute by hand; listed in the reverse of their visiting order s0, s1, …
    const SAMPLES: [(&str, &[&str], [f32; 2]); 10] = [
        ("s9", &["C"], [0.0, 1.0]),
        ("s8", &[], [0.0, 1.0]),
        ("s7", &[], [1.0, 0.0]),
        ("s6", &["C"], [1.0, 0.0]),
        ("s5", &["B", "C"], [0.6, 0.8]),
        ("s4", &["B"], [0.8, 0.6]),
        ("s3", &["A"], [0.6, 0.8]),
        ("s2", &["A"], [0.0, 1.0]),
        ("s1", &["A", "B"], [0.8, 0.6]),
        ("s0", &["A"], [1.0, 0.0]),
    ];

    fn hand_case() -> (Vec<Candidate>, Names, Vectors, Fixed) {
        let mut names = Names::default();
        let mut data = Vec::new();
        let candidates = SAMPLES
            .iter()
            .enumerate()
            .map(|(row, (id, labels, v))| {
                data.extend_from_slice(v);
                let mut labels: Vec<u32> = labels.iter().map(|l| names.intern(l)).collect();
                labels.sort_unstable();
                Candidate { id: id.to_string(), dataset: names.intern("d"), labels, row: Some(row) }
            })
            .collect();
        let vectors = Vectors::normalised(2, data, 0..10).unwrap();
        let order = SAMPLES.iter().map(|(id, _, _)| (*id, id[1..].parse::<u64>().unwrap())).collect();
        let accept = HashMap::from([
            (("s1", "A"), 0.5),
            (("s2", "A"), 0.99),
            (("s4", "B"), 0.0),
            (("s5", "B"), 0.03),
            (("s6", "C"), 0.7),
            (("s9", "C"), 0.1),
        ]);
        (candidates, names, vectors, Fixed { order, accept })
    }

    fn run(strategy: Strategy, offset: f64, threshold: Option<f64>) -> (Vec<Candidate>, Names, Pruning) {
        let (candidates, names, vectors, draws) = hand_case();
        let params = PruneParams { per_type: 2, negatives_ratio: 0.5, strategy, offset, threshold, ..Default::default() };
        let pruning = prune(&candidates, &names, &vectors, &params.check().unwrap(), &draws, &NoProgress);
        (candidates, names, pruning)
    }

    /// The decision of `id` as (reason, pools taken, max similarity).
    fn of<'a>(c: &[Candidate], names: &'a Names, p: &Pruning, id: &str) -> (&'static str, Vec<&'a str>, Option<f32>) {
        let i = c.iter().position(|c| c.id == id).unwrap();
        let d = &p.decisions[i];
        assert_eq!(d.kept, d.reason == Reason::Kept);
        let pools = d.pools.iter().map(|&l| if l == NEGATIVES { "-" } else { names.get(l) }).collect();
        (d.reason.as_str(), pools, d.max_similarity.map(|s| (s * 1000.0).round() / 1000.0))
    }

    #[test]
    fn diversity_decisions_match_the_hand_computation() {
        let (c, n, p) = run(Strategy::Diversity, 0.0, None);
        // k = 2, negatives quota floor(2 · 0.5) = 1; p = 1 − max cos, accept iff u < p.
        let want: [(&str, &str, &[&str], Option<f32>); 10] = [
            ("s0", "kept", &["A"], None),                  // A empty
            ("s1", "kept", &["B"], Some(0.8)),             // A: cos 0.8, p 0.2, u 0.5 no; B empty
            ("s2", "kept", &["A"], Some(0.0)),             // A: cos 0, p 1; A now full
            ("s3", "pool_full", &[], None),                // A full
            ("s4", "rejected_by_draw", &[], Some(1.0)),    // B: cos 1, p 0
            ("s5", "kept", &["B", "C"], Some(0.96)),       // B: cos .96, p .04, u .03 yes; C empty
            ("s6", "rejected_by_draw", &[], Some(0.6)),    // C: cos .6, p .4, u .7 no
            ("s7", "kept", &["-"], None),                  // negatives pool empty
            ("s8", "negative_quota_full", &[], None),      // quota 1 reached
            ("s9", "kept", &["C"], Some(0.8)),             // C: cos .8, p .2, u .1 yes
        ];
        for (id, reason, pools, sim) in want {
            assert_eq!(of(&c, &n, &p, id), (reason, pools.to_vec(), sim), "{id}");
        }
        let rows: Vec<(&str, usize, usize, usize, Option<f64>)> = p
            .summary
            .iter()
            .map(|s| (if s.label == NEGATIVES { "-" } else { n.get(s.label) }, s.raw, s.kept, s.pool, s.pool_similarity.map(|x| (x * 1000.0).round() / 1000.0)))
            .collect();
        // A: raw s0-s3, kept s0 s1 s2, pool {s0, s2}: cos 0. B: pool {s1, s5}: .96. C: {s5, s9}: .8.
        assert_eq!(rows, vec![
            ("A", 4, 3, 2, Some(0.0)),
            ("B", 3, 2, 2, Some(0.96)),
            ("C", 3, 2, 2, Some(0.8)),
            ("-", 2, 1, 1, None),
        ]);
    }

    #[test]
    fn the_offset_raises_the_acceptance_probability() {
        // b = 0.5: s6 has p = 1 − 0.6 + 0.5 = 0.9 > u = 0.7 and joins C, filling it, so s9
        // finds C full; s1 has p = 0.7 > 0.5 and joins A, so s2 finds A full.
        let (c, n, p) = run(Strategy::Diversity, 0.5, None);
        assert_eq!(of(&c, &n, &p, "s6").0, "kept");
        assert_eq!(of(&c, &n, &p, "s9"), ("pool_full", vec![], None));
        assert_eq!(of(&c, &n, &p, "s1").1, vec!["A", "B"]);
        assert_eq!(of(&c, &n, &p, "s2").0, "pool_full");
    }

    #[test]
    fn threshold_and_random_per_type_follow_their_rules() {
        // τ = 0.3: accept iff 1 − cos ≥ 0.3. s1 → A: 0.2 no, B empty yes; s2 → A: 1 yes;
        // s4 → B: 0 no; s5 → B: 0.04 no, C empty yes; s6 → C: 0.4 yes (C full); s9: C full.
        let (c, n, p) = run(Strategy::Threshold, 0.0, Some(0.3));
        let reasons: Vec<&str> = ["s1", "s2", "s4", "s5", "s6", "s9"].iter().map(|id| of(&c, &n, &p, id).0).collect();
        assert_eq!(reasons, ["kept", "kept", "below_threshold", "kept", "kept", "pool_full"]);
        assert_eq!(of(&c, &n, &p, "s5").1, vec!["C"]);
        // First two per pool in the visiting order: A {s0, s1}, B {s1, s4}, C {s5, s6}.
        let (c, n, p) = run(Strategy::RandomPerType, 0.0, None);
        let kept: Vec<&str> = ["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s9"].iter().map(|id| of(&c, &n, &p, id).0).collect();
        assert_eq!(kept, ["kept", "kept", "pool_full", "pool_full", "kept", "kept", "kept", "pool_full"]);
        assert_eq!(of(&c, &n, &p, "s1").1, vec!["A", "B"]);
    }

    #[test]
    fn random_keeps_the_first_total_in_the_visiting_order() {
        let (candidates, names, vectors, draws) = hand_case();
        let params = PruneParams { strategy: Strategy::Random, total: Some(3), ..Default::default() }.check().unwrap();
        let p = prune(&candidates, &names, &vectors, &params, &draws, &NoProgress);
        let kept: Vec<&str> = candidates.iter().zip(&p.decisions).filter(|(_, d)| d.kept).map(|(c, _)| c.id.as_str()).collect();
        assert_eq!(kept, ["s2", "s1", "s0"]);
        assert!(p.decisions.iter().all(|d| d.kept || d.reason == Reason::NotSampled));
    }

    #[test]
    fn max_dot_matches_a_plain_loop_at_every_length() {
        let draws = Hashed { seed: 3 };
        for dim in [1usize, 7, 16, 33, 384] {
            let v = |k: usize| -> Vec<f32> { (0..dim).map(|j| unit(draws.bits(&[&k.to_le_bytes(), &j.to_le_bytes()])) as f32 - 0.5).collect() };
            let x = v(0);
            let rows: Vec<f32> = (1..6).flat_map(v).collect();
            let plain = rows.chunks(dim).map(|r| r.iter().zip(&x).map(|(a, b)| f64::from(a * b)).sum::<f64>()).fold(f64::MIN, f64::max);
            assert!((f64::from(max_dot(&rows, &x)) - plain).abs() < 1e-4, "dim {dim}");
            let portable = |xs: &[&[f32]]| {
                let mut best = vec![0.0; xs.len()];
                max_dots_portable(&rows, dim, xs, &mut best);
                best
            };
            assert_eq!(max_dot(&rows, &x), portable(&[&x])[0], "the SIMD build gives the same bits");
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                let mut best = [0.0];
                // SAFETY: checked just above.
                unsafe { max_dots_avx2(&rows, dim, &[&x], &mut best) };
                assert_eq!(best[0], portable(&[&x])[0], "AVX2 gives the same bits");
            }
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("fma") {
                let five = [v(7), v(8), v(9), v(10), v(11)];
                let five: Vec<&[f32]> = five.iter().map(Vec::as_slice).collect();
                let mut best = [0.0; 5];
                // SAFETY: checked just above.
                unsafe { max_dots_avx512(&rows, dim, &five, &mut best) };
                assert_eq!(best.to_vec(), portable(&five), "AVX-512 gives the same bits, four vectors at a time and one alone");
            }
            let single = rows.chunks(dim).map(|r| dot(r, &x)).fold(f32::NEG_INFINITY, f32::max);
            assert_eq!(max_dot(&rows, &x), single, "four rows at a time sum each row like one");
            let (y, z) = (v(7), v(8));
            let mut block = [0.0; 3];
            max_dots(&rows, dim, &[&y, &x, &z], &mut block);
            assert_eq!(block, [max_dot(&rows, &y), single, max_dot(&rows, &z)], "a block gives each its own bits");
        }
        assert_eq!(max_dot(&[], &[1.0]), f32::NEG_INFINITY);
    }

    #[test]
    fn bad_vectors_are_refused_with_their_row() {
        let bad = Vectors::normalised(2, vec![1.0, 0.0, f32::NAN, 1.0], 0..2).unwrap_err();
        assert_eq!(bad, BadRow { row: 1, problem: "holds NaN at position 0".into() });
        let zero = Vectors::normalised(2, vec![0.0, 0.0], 0..1).unwrap_err();
        assert_eq!(zero.problem, "is all zeros");
        assert!(Vectors::normalised(2, vec![f32::NAN, 0.0, 3.0, 4.0], [1]).unwrap().row(1) == [0.6, 0.8]);
    }

    #[test]
    fn the_first_bad_row_in_used_order_is_named_and_unused_rows_are_left_alone() {
        // Rows 0 (NaN) and 2 (zeros) are both bad; row 2 comes first in `used`.
        let bad = Vectors::normalised(1, vec![f32::NAN, 1.0, 0.0], [2, 1, 0]).unwrap_err();
        assert_eq!(bad, BadRow { row: 2, problem: "is all zeros".into() });
        // Every other row unused (and left as is).
        let draws = Hashed { seed: 5 };
        let data: Vec<f32> = (0..3 * 5000u64).map(|j| unit(draws.bits(&[&j.to_le_bytes()])) as f32 + 0.01).collect();
        let v = Vectors::normalised(3, data.clone(), (0..5000).step_by(2)).unwrap();
        for row in 0..5000 {
            let raw = &data[row * 3..row * 3 + 3];
            let norm = raw.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
            let want: Vec<f32> = if row % 2 == 0 { raw.iter().map(|&x| (f64::from(x) / norm) as f32).collect() } else { raw.to_vec() };
            assert_eq!(v.row(row), want.as_slice(), "row {row}");
        }
    }

    #[test]
    fn hashed_draws_depend_on_seed_id_and_pool_only() {
        let a = Hashed { seed: 1 };
        assert_eq!(a.accept("x", "d", Some("L")), Hashed { seed: 1 }.accept("x", "d", Some("L")));
        assert_ne!(a.accept("x", "d", Some("L")), a.accept("x", "d", Some("M")));
        assert_ne!(a.accept("x", "d", Some("L")), a.accept("x", "d", None));
        assert_ne!(a.order("x"), Hashed { seed: 2 }.order("x"));
        assert_ne!(a.bits(&[b"ab", b"c"]), a.bits(&[b"a", b"bc"]));
        let mean = (0..4000).map(|i| a.accept(&i.to_string(), "d", None)).sum::<f64>() / 4000.0;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
    }
}

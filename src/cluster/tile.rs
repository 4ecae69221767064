//! Many dot products at once: rows against centroids (or candidate centres) in register
//! tiles, the kernel under every distance k-means computes (issue 14's bench).
//!
//! [`super::kmeans::dot`] keeps one 8-lane accumulator, so each multiply-add waits for the
//! previous add of its lane, and it loads both operands for every product. A tile of
//! [`ROWS`] rows × [`COLS`] centroids keeps `ROWS·COLS` accumulators in flight and loads each
//! operand once per tile, which is several times faster. Every accumulator performs the same
//! lane-wise multiply and add in the same order as `dot`, and is reduced the same way, so
//! each product has exactly `dot`'s bits: the tiling changes the speed, never a result
//! (tested below), and like `dot` it has no fused multiply-add, so the AVX2 build and the
//! portable one agree.

/// Rows per tile.
const ROWS: usize = 4;
/// Centroids per tile.
const COLS: usize = 2;

/// Writes `x·c` for every row `x` of `rows` and every `c` of `centroids` (`dim` values each,
/// row-major) into `out`, row-major (`rows.len()` × `centroids.len() / dim`); `out` is
/// cleared first. Every row must hold `dim` values.
pub(crate) fn dots(rows: &[&[f32]], centroids: &[f32], dim: usize, out: &mut Vec<f32>) {
    assert!(
        dim > 0 && centroids.len().is_multiple_of(dim),
        "centroids of {dim} values"
    );
    let cents: Vec<&[f32]> = centroids.chunks_exact(dim).collect();
    dots_of(rows, &cents, out)
}

/// [`dots`] for centroids given one slice each (any subset, in any order).
pub(crate) fn dots_of(rows: &[&[f32]], cents: &[&[f32]], out: &mut Vec<f32>) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked on the line above.
            return unsafe { dots_avx2(rows, cents, out) };
        }
    }
    dots_with::<Portable>(rows, cents, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dots_avx2(rows: &[&[f32]], cents: &[&[f32]], out: &mut Vec<f32>) {
    dots_with::<Avx2>(rows, cents, out)
}

/// A tile kernel: `R × C` products, each in `dot`'s order.
trait Kernel {
    fn tile<const R: usize, const C: usize>(xs: &[&[f32]; R], cs: &[&[f32]; C]) -> [[f32; C]; R];
    fn pairs<const P: usize>(xs: &[&[f32]; P], cs: &[&[f32]; P]) -> [f32; P];
}

/// Plain Rust, for any CPU.
struct Portable;

impl Kernel for Portable {
    #[inline(always)]
    fn tile<const R: usize, const C: usize>(xs: &[&[f32]; R], cs: &[&[f32]; C]) -> [[f32; C]; R] {
        tile(xs, cs)
    }

    #[inline(always)]
    fn pairs<const P: usize>(xs: &[&[f32]; P], cs: &[&[f32]; P]) -> [f32; P] {
        pairs(xs, cs)
    }
}

/// AVX2 intrinsics: the accumulators are named registers (the compiler spilled the plain
/// version's array of lanes to the stack); the same multiplies and adds per lane.
#[cfg(target_arch = "x86_64")]
struct Avx2;

#[cfg(target_arch = "x86_64")]
impl Kernel for Avx2 {
    #[inline(always)]
    fn tile<const R: usize, const C: usize>(xs: &[&[f32]; R], cs: &[&[f32]; C]) -> [[f32; C]; R] {
        // SAFETY: only reached from `dots_avx2`, which runs on CPUs with AVX2.
        unsafe { tile_avx2(xs, cs) }
    }

    #[inline(always)]
    fn pairs<const P: usize>(xs: &[&[f32]; P], cs: &[&[f32]; P]) -> [f32; P] {
        // SAFETY: only reached from `pair_dots_avx2`, which runs on CPUs with AVX2.
        unsafe { pairs_avx2(xs, cs) }
    }
}

#[inline(always)]
fn dots_with<K: Kernel>(rows: &[&[f32]], cents: &[&[f32]], out: &mut Vec<f32>) {
    let k = cents.len();
    out.clear();
    out.resize(rows.len() * k, 0.0);
    if k == 0 {
        return;
    }
    let dim = cents[0].len();
    assert!(
        rows.iter().chain(cents).all(|r| r.len() == dim),
        "rows and centroids of {dim} values"
    );
    let mut r = 0;
    while r + ROWS <= rows.len() {
        let xs: [&[f32]; ROWS] = std::array::from_fn(|i| rows[r + i]);
        row_group::<K, ROWS, COLS>(&xs, cents, &mut out[r * k..(r + ROWS) * k]);
        r += ROWS;
    }
    // A lone row has no other rows to share centroid loads with: it takes more centroids
    // per tile instead, enough accumulators to hide the latency of the adds.
    for (i, x) in rows[r..].iter().enumerate() {
        row_group::<K, 1, { ROWS * COLS }>(
            &[*x],
            cents,
            &mut out[(r + i) * k..(r + i + 1) * k],
        );
    }
}

/// Products computed side by side by [`pair_dots`].
const PAIRS: usize = 4;

/// Writes `rows[i]·cents[i]` for every `i` into `out` (cleared first), each with `dot`'s
/// bits. One product alone waits on its own additions; [`PAIRS`] of them interleaved keep
/// the adder busy.
pub(crate) fn pair_dots(rows: &[&[f32]], cents: &[&[f32]], out: &mut Vec<f32>) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked on the line above.
            return unsafe { pair_dots_avx2(rows, cents, out) };
        }
    }
    pair_dots_with::<Portable>(rows, cents, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn pair_dots_avx2(rows: &[&[f32]], cents: &[&[f32]], out: &mut Vec<f32>) {
    pair_dots_with::<Avx2>(rows, cents, out)
}

#[inline(always)]
fn pair_dots_with<K: Kernel>(rows: &[&[f32]], cents: &[&[f32]], out: &mut Vec<f32>) {
    assert_eq!(rows.len(), cents.len(), "one centroid per row");
    out.clear();
    let Some(d) = rows.first().map(|r| r.len()) else { return };
    assert!(rows.iter().chain(cents).all(|v| v.len() == d), "pairs of {d} values");
    let (row_groups, row_rest) = rows.as_chunks::<PAIRS>();
    let (cent_groups, cent_rest) = cents.as_chunks::<PAIRS>();
    for (xs, cs) in row_groups.iter().zip(cent_groups) {
        out.extend(K::pairs(xs, cs));
    }
    for (x, c) in row_rest.iter().zip(cent_rest) {
        out.extend(K::pairs(&[*x], &[*c]));
    }
}

/// `xs[p]·cs[p]` for each `p`, in `dot`'s summation order.
#[inline(always)]
fn pairs<const P: usize>(xs: &[&[f32]; P], cs: &[&[f32]; P]) -> [f32; P] {
    let d = xs[0].len();
    let full = d - d % 8;
    let mut acc = [[0f32; 8]; P];
    let mut o = 0;
    while o < full {
        for p in 0..P {
            let (x, y) = (&xs[p][o..o + 8], &cs[p][o..o + 8]);
            for l in 0..8 {
                acc[p][l] += x[l] * y[l];
            }
        }
        o += 8;
    }
    finish_pairs(xs, cs, full, acc)
}

/// Adds the last `d % 8` products of each pair into lanes `0..` and reduces them as `dot`.
#[inline(always)]
fn finish_pairs<const P: usize>(xs: &[&[f32]; P], cs: &[&[f32]; P], full: usize, mut acc: [[f32; 8]; P]) -> [f32; P] {
    for p in 0..P {
        for l in 0..xs[p].len() - full {
            acc[p][l] += xs[p][full + l] * cs[p][full + l];
        }
    }
    acc.map(reduce)
}

/// [`pairs`] with AVX2 registers, lane by lane what `pairs` does.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn pairs_avx2<const P: usize>(xs: &[&[f32]; P], cs: &[&[f32]; P]) -> [f32; P] {
    use std::arch::x86_64::{_mm256_add_ps, _mm256_loadu_ps, _mm256_mul_ps, _mm256_setzero_ps, _mm256_storeu_ps};
    let d = xs[0].len();
    let full = d - d % 8;
    let mut acc = [_mm256_setzero_ps(); P];
    let mut o = 0;
    while o < full {
        for p in 0..P {
            // SAFETY: both vectors of every pair hold `d >= o + 8` values (checked by the caller).
            let (x, y) = unsafe { (_mm256_loadu_ps(xs[p].as_ptr().add(o)), _mm256_loadu_ps(cs[p].as_ptr().add(o))) };
            acc[p] = _mm256_add_ps(acc[p], _mm256_mul_ps(x, y));
        }
        o += 8;
    }
    let mut lanes = [[0f32; 8]; P];
    for p in 0..P {
        // SAFETY: `lanes[p]` holds eight floats.
        unsafe { _mm256_storeu_ps(lanes[p].as_mut_ptr(), acc[p]) };
    }
    finish_pairs(xs, cs, full, lanes)
}

/// Sums eight lanes as `dot` does.
#[inline(always)]
fn reduce(a: [f32; 8]) -> f32 {
    ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]))
}

/// The products of the rows `xs` with every centroid, `C` centroids per tile, into `out`
/// (`R` × k).
#[inline(always)]
fn row_group<K: Kernel, const R: usize, const C: usize>(
    xs: &[&[f32]; R],
    cents: &[&[f32]],
    out: &mut [f32],
) {
    let k = cents.len();
    let mut c = 0;
    while c + C <= k {
        let cs: [&[f32]; C] = std::array::from_fn(|j| cents[c + j]);
        let t = K::tile(xs, &cs);
        for (r, row) in t.iter().enumerate() {
            out[r * k + c..r * k + c + C].copy_from_slice(row);
        }
        c += C;
    }
    for c in c..k {
        let t = K::tile(xs, &[cents[c]]);
        for (r, row) in t.iter().enumerate() {
            out[r * k + c] = row[0];
        }
    }
}

/// `R × C` dot products with `dot`'s summation order (eight lanes, then pairwise).
#[inline(always)]
fn tile<const R: usize, const C: usize>(xs: &[&[f32]; R], cs: &[&[f32]; C]) -> [[f32; C]; R] {
    let d = cs[0].len();
    let full = d - d % 8;
    let mut acc = [[[0f32; 8]; C]; R];
    let mut o = 0;
    while o < full {
        let x: [&[f32; 8]; R] =
            std::array::from_fn(|r| xs[r][o..o + 8].try_into().expect("eight values"));
        let y: [&[f32; 8]; C] =
            std::array::from_fn(|c| cs[c][o..o + 8].try_into().expect("eight values"));
        for r in 0..R {
            for c in 0..C {
                for l in 0..8 {
                    acc[r][c][l] += x[r][l] * y[c][l];
                }
            }
        }
        o += 8;
    }
    finish(xs, cs, full, acc)
}

/// Adds the last `d % 8` products into lanes `0..` and reduces each accumulator as `dot`.
#[inline(always)]
fn finish<const R: usize, const C: usize>(
    xs: &[&[f32]; R],
    cs: &[&[f32]; C],
    full: usize,
    mut acc: [[[f32; 8]; C]; R],
) -> [[f32; C]; R] {
    for l in 0..cs[0].len() - full {
        for r in 0..R {
            for c in 0..C {
                acc[r][c][l] += xs[r][full + l] * cs[c][full + l];
            }
        }
    }
    acc.map(|row| row.map(reduce))
}

/// [`tile`] with AVX2 registers: `_mm256_mul_ps` then `_mm256_add_ps`, lane by lane what
/// `tile` does.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn tile_avx2<const R: usize, const C: usize>(xs: &[&[f32]; R], cs: &[&[f32]; C]) -> [[f32; C]; R] {
    use std::arch::x86_64::{
        _mm256_add_ps, _mm256_loadu_ps, _mm256_mul_ps, _mm256_setzero_ps, _mm256_storeu_ps,
    };
    let d = cs[0].len();
    let full = d - d % 8;
    let mut acc = [[_mm256_setzero_ps(); C]; R];
    let mut o = 0;
    while o < full {
        // SAFETY: every row and centroid holds `d >= o + 8` values (checked by the caller).
        let x: [_; R] = std::array::from_fn(|r| unsafe { _mm256_loadu_ps(xs[r].as_ptr().add(o)) });
        for c in 0..C {
            // SAFETY: as above.
            let y = unsafe { _mm256_loadu_ps(cs[c].as_ptr().add(o)) };
            for r in 0..R {
                acc[r][c] = _mm256_add_ps(acc[r][c], _mm256_mul_ps(x[r], y));
            }
        }
        o += 8;
    }
    let mut lanes = [[[0f32; 8]; C]; R];
    for r in 0..R {
        for c in 0..C {
            // SAFETY: `lanes[r][c]` holds eight floats.
            unsafe { _mm256_storeu_ps(lanes[r][c].as_mut_ptr(), acc[r][c]) };
        }
    }
    finish(xs, cs, full, lanes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::kmeans::dot;

    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = crate::rng::Rng::for_sample(seed, "tile");
        (0..n).map(|_| rng.next_f64() as f32 - 0.5).collect()
    }

    #[test]
    fn every_product_has_the_bits_of_dot() {
        // Row and centroid counts that leave remainders of both tile sides, and dims that
        // do (13, 385) and do not (384) leave a remainder of lanes.
        for (n, k, d) in [
            (9, 5, 13),
            (4, 2, 8),
            (1, 1, 3),
            (7, 30, 384),
            (6, 3, 385),
            (1, 7, 16),
            (3, 4, 9),
        ] {
            let x = values(n * d, 1);
            let c = values(k * d, 2);
            let rows: Vec<&[f32]> = x.chunks_exact(d).collect();
            let mut out = Vec::new();
            dots(&rows, &c, d, &mut out);
            for (i, r) in rows.iter().enumerate() {
                for (j, cj) in c.chunks_exact(d).enumerate() {
                    assert_eq!(
                        out[i * k + j].to_bits(),
                        dot(r, cj).to_bits(),
                        "n {n} k {k} d {d}: ({i}, {j})"
                    );
                }
            }
            let mut portable = Vec::new();
            dots_with::<Portable>(&rows, &c.chunks_exact(d).collect::<Vec<_>>(), &mut portable);
            assert_eq!(out, portable);
            // Each row with one centroid (cycling), as the own-centroid products.
            let paired: Vec<&[f32]> = (0..n).map(|i| c.chunks_exact(d).nth(i % k).unwrap()).collect();
            let mut pair_out = Vec::new();
            pair_dots(&rows, &paired, &mut pair_out);
            let mut pair_portable = Vec::new();
            pair_dots_with::<Portable>(&rows, &paired, &mut pair_portable);
            assert_eq!(pair_out, pair_portable);
            for (i, (r, p)) in rows.iter().zip(&paired).enumerate() {
                assert_eq!(pair_out[i].to_bits(), dot(r, p).to_bits(), "n {n} k {k} d {d}: pair {i}");
            }
        }
    }
}

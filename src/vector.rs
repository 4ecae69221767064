//! Dot products of f32 vectors that vectorise and give the same bits on every x86_64 CPU.
//!
//! The sum runs in [`LANES`] independent lanes, each added in element order, then the lanes
//! are reduced in a fixed tree. The compiler turns the lanes into SSE2 registers on a plain
//! x86_64 build and into AVX2 registers in the variant chosen at run time; both do the same
//! multiplications and additions in the same order (no fused multiply-add), so results do
//! not depend on the machine or the thread count.

/// Independent partial sums per dot product.
pub const LANES: usize = 16;

/// The dot product of two equally long slices (the cosine when both are unit vectors).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { dot_avx2(a, b) };
    }
    dot_portable(a, b)
}

/// [`dot_portable`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    dot_portable(a, b)
}

/// [`dot`] without the run-time choice, for kernels compiled for a target feature of their
/// own: it is inlined into them and takes on their instructions.
#[inline(always)]
pub fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    let (ca, ta) = a.as_chunks::<LANES>();
    let (cb, tb) = b.as_chunks::<LANES>();
    let mut acc = [0.0f32; LANES];
    for (x, y) in ca.iter().zip(cb) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    for (l, (x, y)) in ta.iter().zip(tb).enumerate() {
        acc[l] += x * y;
    }
    reduce(acc)
}

/// Sums the lanes in a fixed tree.
#[inline(always)]
pub fn reduce(mut acc: [f32; LANES]) -> f32 {
    let mut width = LANES / 2;
    while width > 0 {
        for l in 0..width {
            acc[l] += acc[l + width];
        }
        width /= 2;
    }
    acc[0]
}

/// Defines `fn $name(args) -> ret` that runs `$body` (an `#[inline(always)]` function of
/// the same arguments) compiled for AVX2 where the CPU has it, and as it is elsewhere. For
/// loops over `f32` slices whose operations are element-wise or in a fixed order (as
/// [`dot`]): both builds give the same bits and only the speed differs.
macro_rules! avx2_dispatch {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty = $body:path) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                #[allow(clippy::too_many_arguments)]
                fn avx2($($arg: $ty),*) -> $ret {
                    $body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2, checked just above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}
pub(crate) use avx2_dispatch;

/// Cosine distance of unit vectors, `1 − a·b`, for `hnsw_rs`: its own cosine distance
/// recomputes both norms in a scalar loop at every comparison, about ten times the work.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnitCosine;

impl hnsw_rs::prelude::Distance<f32> for UnitCosine {
    fn eval(&self, va: &[f32], vb: &[f32]) -> f32 {
        (1.0 - dot(va, vb)).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_a_plain_sum_and_handles_tails() {
        for n in [0, 1, 15, 16, 17, 384, 385] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let plain: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| f64::from(*x) * f64::from(*y))
                .sum();
            assert!((f64::from(dot(&a, &b)) - plain).abs() < 1e-4, "n = {n}");
        }
    }

    #[test]
    fn the_dispatched_and_portable_sums_are_the_same_bits() {
        let a: Vec<f32> = (0..389).map(|i| (i as f32 * 0.73).sin() * 1e3).collect();
        let b: Vec<f32> = (0..389).map(|i| (i as f32 * 0.29).cos() * 1e-3).collect();
        assert_eq!(dot(&a, &b).to_bits(), dot_portable(&a, &b).to_bits());
    }
}

//! A small portable PRNG for every seeded random choice: emit's label sets, dropout and
//! negatives; prune's and cluster's sampling and initialisation.
//!
//! A stage gives each unit of work its own generator seeded from `(seed, key)`
//! ([`Rng::for_sample`]; the key is a sample id, a label, a cluster name), so what a unit
//! draws does not depend on which other units came before it, nor on the thread that runs
//! it: same inputs and seed, same bytes at any thread count. A stage that draws one global
//! sequence uses [`Rng::new`]. SplitMix64 is tiny, fast and gives the same sequence on every
//! platform. (Moved here from `emit/` by issue 12; sequences are unchanged.)

/// SplitMix64 (Steele, Lea, Flood 2014).
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator for one global sequence seeded by `seed` alone.
    ///
    /// ```
    /// use nerprep::rng::Rng;
    /// let (mut a, mut b) = (Rng::new(7), Rng::new(7));
    /// assert_eq!(a.next_u64(), b.next_u64());
    /// assert_ne!(Rng::new(7).next_u64(), Rng::new(8).next_u64());
    /// ```
    pub fn new(seed: u64) -> Rng {
        let mut r = Rng { state: seed };
        r.next_u64();
        r
    }

    /// A generator for one sample (or any other keyed unit): the run seed mixed with a stable
    /// hash of the sample id.
    pub fn for_sample(seed: u64, sample_id: &str) -> Rng {
        let mut r = Rng { state: seed ^ fnv1a(sample_id.as_bytes()) };
        r.next_u64();
        r
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform float in `[0, 1)` (53 random bits).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A uniform integer in `0..n` (`n > 0`), without modulo bias (Lemire's method).
    pub fn below(&mut self, n: usize) -> usize {
        debug_assert!(n > 0);
        let n = n as u64;
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as usize;
            }
        }
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    /// `k` distinct items of `items`, in random order (partial Fisher–Yates).
    pub fn sample<T: Clone>(&mut self, items: &[T], k: usize) -> Vec<T> {
        let mut idx: Vec<usize> = (0..items.len()).collect();
        let k = k.min(items.len());
        for i in 0..k {
            let j = i + self.below(idx.len() - i);
            idx.swap(i, j);
        }
        idx[..k].iter().map(|&i| items[i].clone()).collect()
    }

    /// The number of successes in `n` trials of probability `p` (IEPile draws its negative
    /// count this way).
    pub fn binomial(&mut self, n: usize, p: f64) -> usize {
        (0..n).filter(|_| self.chance(p)).count()
    }
}

/// FNV-1a, 64 bit: a stable string hash (std's hasher is randomised per process).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_are_fixed_across_runs_and_platforms() {
        // SplitMix64 reference value for seed 0 (first output).
        let mut r = Rng { state: 0 };
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        let a: Vec<u64> = (0..4).map(|_| Rng::for_sample(7, "d/train/f:3").next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::for_sample(7, "d/train/f:3").next_u64(), Rng::for_sample(8, "d/train/f:3").next_u64());
        assert_ne!(Rng::for_sample(7, "d/train/f:3").next_u64(), Rng::for_sample(7, "d/train/f:4").next_u64());
    }

    #[test]
    fn below_and_sample_stay_in_range_and_are_roughly_uniform() {
        let mut r = Rng::for_sample(1, "x");
        let mut counts = [0usize; 5];
        for _ in 0..5000 {
            counts[r.below(5)] += 1;
        }
        assert!(counts.iter().all(|&c| (850..1150).contains(&c)), "{counts:?}");
        let picked = r.sample(&[1, 2, 3, 4, 5, 6], 4);
        assert_eq!(picked.len(), 4);
        let mut sorted = picked.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 4);
        assert_eq!(r.sample(&[1, 2], 5).len(), 2);
        let n = r.binomial(1000, 0.3);
        assert!((240..360).contains(&n), "{n}");
    }
}

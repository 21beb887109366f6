//! The seeded random source and the few distributions the generator draws from.
//!
//! Only the raw ChaCha8 stream comes from a crate; ranges, normals and choices are written here
//! with integer and basic float arithmetic (no `ln`/`cos` from the platform's libm), so the
//! same seed gives byte-identical output on every machine and across `rand` releases.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

pub(crate) struct Rng(ChaCha8Rng);

/// Independent streams: stream 0 is the shared resources, stream `i + 1` is patient `i`, so any
/// patient can be generated alone, in any order, with the same result.
impl Rng {
    pub(crate) fn stream(seed: u64, stream: u64) -> Rng {
        let mut inner = ChaCha8Rng::seed_from_u64(seed);
        inner.set_stream(stream);
        Rng(inner)
    }

    /// A child stream for one sub-task, so adding draws in one module does not shift every
    /// value drawn after it in another.
    pub(crate) fn fork(&mut self) -> Rng {
        let mut seed = [0u8; 32];
        self.0.fill_bytes(&mut seed);
        Rng(ChaCha8Rng::from_seed(seed))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `0..n` (0 when `n` is 0), without modulo bias.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let v = self.next_u64();
            if v < zone {
                return v % n;
            }
        }
    }

    /// Uniform integer in `lo..=hi`.
    pub(crate) fn int(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub(crate) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Approximately normal (Irwin-Hall sum of twelve uniforms), clamped to ±3.5 SD.
    pub(crate) fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let z: f64 = (0..12).map(|_| self.unit()).sum::<f64>() - 6.0;
        mean + sd * z.clamp(-3.5, 3.5)
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        // Callers pass non-empty constant tables; index 0 of an empty slice is never reached
        // because `below(0)` is only used with the guard below.
        let i = self.below(items.len() as u64) as usize;
        &items[i.min(items.len().saturating_sub(1))]
    }

    /// A choice from `(item, weight)` pairs.
    pub(crate) fn weighted<'a, T>(&mut self, items: &'a [(T, u32)]) -> &'a T {
        let total: u64 = items.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut roll = self.below(total);
        for (item, w) in items {
            if roll < u64::from(*w) {
                return item;
            }
            roll -= u64::from(*w);
        }
        &items[items.len().saturating_sub(1)].0
    }

    /// A random (version 4) UUID drawn from the stream.
    pub(crate) fn uuid(&mut self) -> String {
        let mut b = [0u8; 16];
        self.0.fill_bytes(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(36);
        for (i, x) in b.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                s.push('-');
            }
            s.push(char::from(HEX[usize::from(x >> 4)]));
            s.push(char::from(HEX[usize::from(x & 0x0f)]));
        }
        s
    }

    /// `n` decimal digits.
    pub(crate) fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let a: Vec<u64> = (0..4).map(|_| Rng::stream(7, 3).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::stream(7, 3).next_u64(), Rng::stream(7, 4).next_u64());
        assert_ne!(Rng::stream(7, 3).next_u64(), Rng::stream(8, 3).next_u64());
    }

    #[test]
    fn uuid_has_version_and_variant() {
        let u = Rng::stream(1, 0).uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn ranges_stay_inside() {
        let mut r = Rng::stream(1, 1);
        for _ in 0..1000 {
            let v = r.int(-2, 5);
            assert!((-2..=5).contains(&v));
            let n = r.normal(10.0, 2.0);
            assert!((3.0..=17.0).contains(&n));
        }
    }
}

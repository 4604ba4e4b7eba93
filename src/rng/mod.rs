//! Seeding: one named, portable generator, one independent stream per `(seed, index...)`,
//! and the standard normal sampler.
//!
//! Every random quantity in the crate is drawn from a [`Stream`]: [`LANES`] = 8
//! xoshiro256++ generators stepped together, all seeded by hashing the run seed with the
//! indices that name the draw (epoch, step, example, path) and the lane. A draw therefore
//! depends only on its name, never on the order in which threads run, so results are
//! identical bit for bit whatever the thread count.
//!
//! One step of the stream moves all eight lanes at once and yields a *block* of eight
//! 64-bit words (lane 0 first). Words are served from the current block in lane order
//! ([`rand::Rng::next_u64`]); normals take two fresh blocks per sixteen values
//! ([`Stream::normals`]), by the Box-Muller transform of the eight word pairs.
//!
//! ```
//! use nrnn::rng::stream;
//! use rand::Rng;
//! let a = stream(42, &[3, 7]).next_u64();
//! let b = stream(42, &[3, 7]).next_u64();
//! assert_eq!(a, b);
//! assert_ne!(a, stream(42, &[3, 8]).next_u64());
//! ```

#[cfg(all(
    target_arch = "x86_64",
    target_feature = "avx512f",
    target_feature = "avx512dq"
))]
mod avx512;

use crate::elementary::{angle, radius};
#[cfg(all(
    target_arch = "x86_64",
    target_feature = "avx512f",
    target_feature = "avx512dq"
))]
use crate::elementary::{COS_C, LN2_HI, LN2_LO, LOG_C, MANTISSA, ONE_BITS, SIN_C, SQRT_HALF_BITS};
use std::convert::Infallible;

/// Number of xoshiro256++ generators a [`Stream`] steps together (one 512-bit vector of
/// 64-bit words).
pub const LANES: usize = 8;

/// Normals produced by one call of [`Stream::normals`]: two blocks of [`LANES`] words,
/// one radius word and one angle word per pair.
pub const NORMALS_PER_CALL: usize = 2 * LANES;

/// SplitMix64 finalizer: a bijective mix of 64 bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Eight xoshiro256++ generators (Blackman and Vigna) stepped together, with a buffer
/// for serving their words one at a time.
///
/// Lane `l` has the state `s[0][l], .., s[3][l]`; a step of the stream is the xoshiro256++
/// step of every lane, and its block of output words is `rotl(s0 + s3, 23) + s0` per lane.
///
/// ```
/// use rand::Rng;
/// let mut r = nrnn::rng::stream(1, &[2]);
/// let w: Vec<u64> = (0..9).map(|_| r.next_u64()).collect(); // a block and one word more
/// assert_eq!(w.len(), 9);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct Stream {
    /// `s[k][l]`: state word `k` of lane `l` (each `s[k]` is one 512-bit row).
    s: [[u64; LANES]; 4],
    /// The current block of words for [`rand::Rng::next_u64`].
    buf: [u64; LANES],
    /// How many words of `buf` are served (`LANES`: none left).
    used: usize,
}

/// The generator for the draw named by `seed` and `indices`: lane `l` is seeded from the
/// hash of `seed`, the indices and `l`, its four state words by SplitMix64 (a bijection of
/// four distinct inputs, so never the all-zero state).
pub fn stream(seed: u64, indices: &[u64]) -> Stream {
    let mut h = mix(seed ^ 0x6E72_6E6E_0000_0001);
    for &i in indices {
        h = mix(h ^ mix(i.wrapping_add(0x1234_5678_9ABC_DEF1)));
    }
    let mut s = [[0u64; LANES]; 4];
    for l in 0..LANES {
        let hl = mix(h ^ mix(0x4C41_4E45_0000_0000 + l as u64));
        for (k, row) in s.iter_mut().enumerate() {
            row[l] = mix(hl.wrapping_add(k as u64));
        }
    }
    Stream {
        s,
        buf: [0; LANES],
        used: LANES,
    }
}

impl Stream {
    /// One step of every lane: the block `rotl(s0 + s3, 23) + s0` (per lane), then the
    /// xoshiro256++ state update `s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= s1 << 17;
    /// s3 = rotl(s3, 45)`.
    #[inline(always)]
    fn block(&mut self) -> [u64; LANES] {
        let [s0, s1, s2, s3] = &mut self.s;
        let mut out = [0u64; LANES];
        for l in 0..LANES {
            out[l] = s0[l]
                .wrapping_add(s3[l])
                .rotate_left(23)
                .wrapping_add(s0[l]);
            let t = s1[l] << 17;
            s2[l] ^= s0[l];
            s3[l] ^= s1[l];
            s1[l] ^= s2[l];
            s0[l] ^= s3[l];
            s2[l] ^= t;
            s3[l] = s3[l].rotate_left(45);
        }
        out
    }

    /// Sixteen independent standard normals from two fresh blocks `a` (radii) and `b`
    /// (angles), by the Box-Muller transform of each lane's pair:
    ///
    /// `out[l] = r_l cos(theta_l)`, `out[8 + l] = r_l sin(theta_l)`,
    /// `r_l = sqrt(-2 ln u_l)`, `u_l = (floor(a_l / 2^11) + 1) 2^-53` in `(0, 1]`,
    /// `theta_l = 2 pi v_l` with `v_l` from the 55 high bits of `b_l` (see [`angle`]).
    ///
    /// The word buffer of [`rand::Rng::next_u64`] is left alone. With AVX-512 the sixteen
    /// values are computed in two vectors, bit for bit as the scalar reference.
    ///
    /// ```
    /// let mut r = nrnn::rng::stream(3, &[]);
    /// let mut v = [0.0; nrnn::rng::NORMALS_PER_CALL];
    /// r.normals(&mut v);
    /// assert!(v.iter().all(|x| x.is_finite() && x.abs() < 8.6));
    /// ```
    #[inline]
    pub fn normals(&mut self, out: &mut [f64; NORMALS_PER_CALL]) {
        #[cfg(all(
            target_arch = "x86_64",
            target_feature = "avx512f",
            target_feature = "avx512dq"
        ))]
        // SAFETY: this is built only for targets with AVX-512F and AVX-512DQ.
        unsafe {
            avx512::normals(&mut self.s, out)
        };
        #[cfg(not(all(
            target_arch = "x86_64",
            target_feature = "avx512f",
            target_feature = "avx512dq"
        )))]
        self.normals_reference(out);
    }

    /// The scalar definition of [`Stream::normals`], lane by lane: the same values, bit for
    /// bit, on every target (the vector kernel is checked against it).
    ///
    /// ```
    /// let mut a = nrnn::rng::stream(3, &[1]);
    /// let mut b = a.clone();
    /// let (mut x, mut y) = ([0.0; 16], [0.0; 16]);
    /// a.normals(&mut x);
    /// b.normals_reference(&mut y);
    /// assert_eq!(x, y);
    /// ```
    pub fn normals_reference(&mut self, out: &mut [f64; NORMALS_PER_CALL]) {
        let a = self.block();
        let b = self.block();
        for l in 0..LANES {
            let r = radius(a[l]);
            let (c, s) = angle(b[l]);
            out[l] = r * c;
            out[LANES + l] = r * s;
        }
    }
}

impl rand::TryRng for Stream {
    type Error = Infallible;

    #[inline]
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.try_next_u64()? >> 32) as u32)
    }

    /// The next word of the current block, stepping the lanes when the block is used up.
    #[inline]
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        if self.used == LANES {
            self.buf = self.block();
            self.used = 0;
        }
        self.used += 1;
        Ok(self.buf[self.used - 1])
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let w = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
        Ok(())
    }
}

/// Fill `out` with independent standard normal draws from `rng`, sixteen at a time by
/// [`Stream::normals`] (about 1.3 ns a draw with AVX-512). A length that is not a multiple
/// of sixteen uses the first values of one more call, so a fill always starts on fresh
/// blocks: `fill_normal(r, &mut v[..20])` and two fills of 10 differ, each is reproducible.
///
/// ```
/// let mut rng = nrnn::rng::stream(1, &[2]);
/// let mut v = vec![0.0; 100_000];
/// nrnn::rng::fill_normal(&mut rng, &mut v);
/// let mean = v.iter().sum::<f64>() / v.len() as f64;
/// assert!(mean.abs() < 4.0 / (v.len() as f64).sqrt()); // 4 standard errors
/// ```
#[inline(always)]
pub fn fill_normal(rng: &mut Stream, out: &mut [f64]) {
    let mut chunks = out.chunks_exact_mut(NORMALS_PER_CALL);
    for c in &mut chunks {
        rng.normals(c.try_into().expect("chunk of NORMALS_PER_CALL"));
    }
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let mut t = [0.0; NORMALS_PER_CALL];
        rng.normals(&mut t);
        rest.copy_from_slice(&t[..rest.len()]);
    }
}

/// One standard normal draw: the first value of a [`Stream::normals`] call (see
/// [`fill_normal`]; prefer it for many draws).
///
/// ```
/// let mut r = nrnn::rng::stream(4, &[]);
/// let x = nrnn::rng::normal(&mut r);
/// assert!(x.is_finite());
/// ```
#[inline]
pub fn normal(rng: &mut Stream) -> f64 {
    let mut t = [0.0; NORMALS_PER_CALL];
    rng.normals(&mut t);
    t[0]
}

/// Fill `out` with independent uniform draws on `[0, 1)` from `rng`: `floor(w / 2^11) 2^-53`
/// for successive words `w`.
///
/// ```
/// let mut u = [0.0; 5];
/// nrnn::rng::fill_uniform(&mut nrnn::rng::stream(5, &[]), &mut u);
/// assert!(u.iter().all(|&x| (0.0..1.0).contains(&x)));
/// ```
pub fn fill_uniform<R: rand::Rng>(rng: &mut R, out: &mut [f64]) {
    use rand::RngExt;
    for x in out.iter_mut() {
        *x = rng.random::<f64>();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;
    use statrs::distribution::{ContinuousCDF, Normal};

    /// Each lane is the reference xoshiro256++ (the `rand_xoshiro` crate) on its own state,
    /// and words are served in lane order, block after block.
    #[test]
    fn lanes_are_xoshiro256plusplus() {
        use rand::SeedableRng;
        let mut r = stream(9, &[1, 2]);
        let lanes: Vec<rand_xoshiro::Xoshiro256PlusPlus> = (0..LANES)
            .map(|l| {
                let mut seed = [0u8; 32];
                for k in 0..4 {
                    seed[8 * k..8 * k + 8].copy_from_slice(&r.s[k][l].to_le_bytes());
                }
                rand_xoshiro::Xoshiro256PlusPlus::from_seed(seed)
            })
            .collect();
        let mut lanes = lanes;
        for _ in 0..5 {
            for lane in lanes.iter_mut() {
                assert_eq!(r.next_u64(), lane.next_u64());
            }
        }
    }

    /// Lanes and streams of nearby names differ (a failed hash would repeat a state).
    #[test]
    fn lanes_and_names_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..100 {
            let r = stream(1, &[i]);
            for l in 0..LANES {
                assert!(seen.insert([r.s[0][l], r.s[1][l], r.s[2][l], r.s[3][l]]));
            }
        }
    }

    /// The vector kernel (when built) gives the scalar reference's bits, on 10^5 blocks.
    #[test]
    fn normals_match_the_reference() {
        let mut fast = stream(11, &[]);
        let mut slow = fast.clone();
        let (mut x, mut y) = ([0.0; NORMALS_PER_CALL], [0.0; NORMALS_PER_CALL]);
        for _ in 0..100_000 {
            fast.normals(&mut x);
            slow.normals_reference(&mut y);
            assert_eq!(x.map(f64::to_bits), y.map(f64::to_bits));
        }
        assert_eq!(fast, slow);
    }

    /// Kolmogorov-Smirnov statistic of 10^6 draws against N(0, 1): below the 99.9% critical
    /// value 1.95/sqrt(n); moments within 5 standard errors; the two values of a pair
    /// (`out[l]`, `out[8 + l]`) uncorrelated, and their squares too, within 5 standard errors.
    #[test]
    fn normals_are_standard_normal() {
        let n = 1_000_000;
        let mut v = vec![0.0; n];
        fill_normal(&mut stream(7, &[1]), &mut v);
        let mean = v.iter().sum::<f64>() / n as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        let kurt = v.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / n as f64 / (var * var);
        let se = 1.0 / (n as f64).sqrt();
        assert!(mean.abs() < 5.0 * se, "mean {mean}");
        assert!((var - 1.0).abs() < 5.0 * 2f64.sqrt() * se, "variance {var}");
        assert!(
            (kurt - 3.0).abs() < 5.0 * 24f64.sqrt() * se,
            "kurtosis {kurt}"
        );
        let pairs = || {
            v.chunks_exact(NORMALS_PER_CALL)
                .flat_map(|c| (0..LANES).map(move |l| (c[l], c[LANES + l])))
        };
        let np = (n / 2) as f64;
        let cross = pairs().map(|(x, y)| x * y).sum::<f64>() / np;
        assert!(cross.abs() < 5.0 / np.sqrt(), "pair correlation {cross}");
        // Var(x^2 y^2) = 9 - 1 for independent standard normals.
        let sq = pairs().map(|(x, y)| x * x * y * y - 1.0).sum::<f64>() / np;
        assert!(
            sq.abs() < 5.0 * 8f64.sqrt() / np.sqrt(),
            "pair square moment {sq}"
        );
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let nd = Normal::new(0.0, 1.0).unwrap();
        let d = v
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let c = nd.cdf(x);
                (c - i as f64 / n as f64)
                    .abs()
                    .max(((i + 1) as f64 / n as f64 - c).abs())
            })
            .fold(0.0, f64::max);
        assert!(d < 1.95 / (n as f64).sqrt(), "KS statistic {d}");
    }

    /// The tails: the fraction beyond 3 and 4 standard deviations within 5 binomial
    /// standard errors of the normal tail, on 4 10^6 draws.
    #[test]
    fn tails_have_normal_weight() {
        let n = 4_000_000;
        let mut v = vec![0.0; n];
        fill_normal(&mut stream(8, &[]), &mut v);
        let nd = Normal::new(0.0, 1.0).unwrap();
        for c in [3.0, 4.0] {
            let p = 2.0 * nd.sf(c);
            let got = v.iter().filter(|x| x.abs() > c).count() as f64 / n as f64;
            let se = (p * (1.0 - p) / n as f64).sqrt();
            assert!((got - p).abs() < 5.0 * se, "beyond {c}: {got} vs {p}");
        }
    }

    /// A fill of a length that is not a multiple of sixteen takes the first values of a
    /// whole call, and leaves the word buffer alone.
    #[test]
    fn partial_fills_take_a_prefix() {
        let mut a = stream(6, &[]);
        let mut b = a.clone();
        let mut v = [0.0; 21];
        fill_normal(&mut a, &mut v);
        let mut w = [0.0; 32];
        b.normals((&mut w[..16]).try_into().unwrap());
        b.normals((&mut w[16..]).try_into().unwrap());
        assert_eq!(v[..], w[..21]);
        assert_eq!(a, b);
        assert_eq!(normal(&mut a), {
            let mut t = [0.0; 16];
            b.normals(&mut t);
            t[0]
        });
    }

    /// Value stability: the named stream and the normal sampler are fixed; a change here
    /// changes every seeded result of the toolkit (and must be announced as such).
    #[test]
    fn seeded_values_are_stable() {
        let mut rng = stream(42, &[0, 1]);
        let mut v = [0.0; NORMALS_PER_CALL];
        rng.normals(&mut v);
        let words: Vec<u64> = (0..2).map(|_| rng.next_u64()).collect();
        assert_eq!(
            format!("{:.12?} {words:x?}", [v[0], v[1], v[8]]),
            STABLE_VALUES
        );
    }
    const STABLE_VALUES: &str =
        "[-0.890492266337, 0.662545956796, 1.374037913313] [21669feab19720a7, 2a5b746f6fb2b58a]";
}

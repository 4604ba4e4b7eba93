//! Seeding: one named, portable generator, one independent stream per `(seed, index...)`.
//!
//! Every random quantity in the crate is drawn from [`Stream`], a `Xoshiro256PlusPlus`
//! seeded by hashing the run seed together with the indices that name the draw (epoch,
//! step, example, path). A draw therefore depends only on its name, never on the order in
//! which threads run, so results are identical bit for bit whatever the thread count.
//!
//! ```
//! use nrnn::rng::stream;
//! use rand::Rng;
//! let a = stream(42, &[3, 7]).next_u64();
//! let b = stream(42, &[3, 7]).next_u64();
//! assert_eq!(a, b);
//! assert_ne!(a, stream(42, &[3, 8]).next_u64());
//! ```

use rand::SeedableRng;
pub use rand_xoshiro::Xoshiro256PlusPlus as Stream;

/// SplitMix64 finalizer: a bijective mix of 64 bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The generator for the draw named by `seed` and `indices`.
pub fn stream(seed: u64, indices: &[u64]) -> Stream {
    let mut h = mix(seed ^ 0x6E72_6E6E_0000_0001);
    for &i in indices {
        h = mix(h ^ mix(i.wrapping_add(0x1234_5678_9ABC_DEF1)));
    }
    let mut bytes = [0u8; 32];
    for (j, chunk) in bytes.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&mix(h.wrapping_add(j as u64)).to_le_bytes());
    }
    Stream::from_seed(bytes)
}

/// A source of 64-bit words, moved by value into the ziggurat's cold path.
trait Words {
    fn word(&mut self) -> u64;
}

impl Words for Stream {
    #[inline(always)]
    fn word(&mut self) -> u64 {
        rand::Rng::next_u64(self)
    }
}

/// Marsaglia-Tsang ziggurat for the standard normal, 128 layers of equal area `V`:
/// `x_0 = V / f(R)`, `x_1 = R`, `x_{i+1} = f^{-1}(V / x_i + f(x_i))`, `x_128 = 0`, with the
/// unnormalized density `f(x) = exp(-x^2/2)`, `R = 3.442619855899`, `V = 9.91256303526217e-3`.
struct Ziggurat {
    x: [f64; 129],
    f: [f64; 129],
    /// The fast test as an integer bound: for the word's 53-bit integer `m`,
    /// `fl(fl(m 2^-53) x_i) < x_{i+1}` exactly when `m < k_i`. The left side is a rounded
    /// product of a fixed positive `x_i` with `m 2^-53`, so it does not decrease in `m`
    /// and the `m` that pass form a prefix `0..k_i`, found by bisection when the table is
    /// built. The test then waits only on a table load, not on a conversion and two
    /// products, so a refused draw (a mispredicted branch) is found out sooner.
    k: [u64; 128],
}

/// The fast test of layer `i` in floating point: `u x_i < x_{i+1}` with `u = m 2^-53`.
#[inline(always)]
fn zig_inside(m: u64, i: usize, x: &[f64; 129]) -> bool {
    (m as f64 * ZIG_SCALE) * x[i] < x[i + 1]
}

/// The bound `k_i` of [`Ziggurat::k`]: the least `m` in `0..=2^53` that fails the fast
/// test of layer `i` (`2^53` when every 53-bit `m` passes).
fn zig_bound(i: usize, x: &[f64; 129]) -> u64 {
    let (mut lo, mut hi) = (0u64, 1u64 << 53);
    // Invariant: every m < lo passes, every m >= hi fails (or hi = 2^53).
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if zig_inside(mid, i, x) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

const ZIG_R: f64 = 3.442_619_855_899;
const ZIG_V: f64 = 9.912_563_035_262_17e-3;

fn ziggurat() -> &'static Ziggurat {
    static TABLE: std::sync::OnceLock<Ziggurat> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let f = |x: f64| (-0.5 * x * x).exp();
        let mut x = [0.0; 129];
        x[0] = ZIG_V / f(ZIG_R);
        x[1] = ZIG_R;
        for i in 1..128 {
            let y = ZIG_V / x[i] + f(x[i]);
            x[i + 1] = if y >= 1.0 {
                0.0
            } else {
                (-2.0 * y.ln()).sqrt()
            };
        }
        x[128] = 0.0;
        let mut fx = [0.0; 129];
        for i in 0..129 {
            fx[i] = f(x[i]);
        }
        Ziggurat {
            x,
            f: fx,
            k: std::array::from_fn(|i| zig_bound(i, &x)),
        }
    })
}

const ZIG_SCALE: f64 = 1.0 / (1u64 << 53) as f64;

/// The ziggurat's fast test for the word `bits`: its candidate `u x_i` lies inside layer
/// `i` (`u x_i < x_{i+1}`, [`zig_inside`]), decided by the integer bound `k_i`.
#[inline(always)]
fn zig_fast(bits: u64, z: &Ziggurat) -> bool {
    bits >> 11 < z.k[(bits & 0x7f) as usize]
}

/// The word's draw `x = u x_i` (53-bit `u`), layer `i` and sign bit (bit 7, applied by xor:
/// a data-dependent sign branch would mispredict half the time).
#[inline(always)]
fn zig_candidate(bits: u64, z: &Ziggurat) -> (f64, usize, u64) {
    let i = (bits & 0x7f) as usize;
    let u = (bits >> 11) as f64 * ZIG_SCALE;
    (u * z.x[i], i, (bits & 0x80) << 56)
}

#[inline(always)]
fn with_sign(v: f64, sign_bit: u64) -> f64 {
    f64::from_bits(v.to_bits() ^ sign_bit)
}

/// One standard normal draw by the ziggurat: one 64-bit word for the common case
/// (7 bits choose the layer, 1 bit the sign, 53 bits the position), exact rejection
/// sampling in the wedges and Marsaglia's method in the tail beyond `R`.
///
/// The common case (about 99% of draws) is inlined; the rest lives in
/// [`normal_zig_slow`], out of line, so the hot loop keeps the generator in registers.
#[inline(always)]
fn normal_zig<R: Words + Clone>(rng: &mut R, z: &Ziggurat) -> f64 {
    let bits = rng.word();
    if zig_fast(bits, z) {
        let (x, _, s) = zig_candidate(bits, z);
        return with_sign(x, s);
    }
    let (v, r) = normal_zig_slow(rng.clone(), z, bits);
    *rng = r;
    v
}

/// The ziggurat's rare branches, entered with the word `bits` whose fast test failed:
/// the tail (layer 0) or the wedge test of layer `i`, then fresh words until one is taken.
#[cold]
#[inline(never)]
fn normal_zig_slow<R: Words>(mut rng: R, z: &Ziggurat, mut bits: u64) -> (f64, R) {
    loop {
        let (x, i, s) = zig_candidate(bits, z);
        if zig_fast(bits, z) {
            return (with_sign(x, s), rng);
        }
        if i == 0 {
            loop {
                let a = -((rng.word() >> 11) as f64 * ZIG_SCALE + ZIG_SCALE).ln() / ZIG_R;
                let b = -((rng.word() >> 11) as f64 * ZIG_SCALE + ZIG_SCALE).ln();
                if 2.0 * b > a * a {
                    return (with_sign(ZIG_R + a, s), rng);
                }
            }
        }
        let u2 = (rng.word() >> 11) as f64 * ZIG_SCALE;
        if below_curve(z.f[i + 1] + u2 * (z.f[i] - z.f[i + 1]), x, i, z) {
            return (with_sign(x, s), rng);
        }
        bits = rng.word();
    }
}

/// Largest `d = (x_i^2 - x^2) / 2` in a wedge of layers 1 to 127: `ln(f_2 / f_1)` in
/// layer 1, about 0.73; the squeeze of [`below_curve`] holds up to here.
const WEDGE_D_MAX: f64 = 0.75;

/// Relative margin of the squeeze of [`below_curve`]: above the Taylor remainder
/// `D^8 / 8! e^D < 5.3e-6` (`D` = [`WEDGE_D_MAX`]) plus the round-off of the polynomial,
/// of `d`, of `f_i` and of the exact test's own `exp` and argument (each ~1e-15).
const WEDGE_SQUEEZE: f64 = 1e-5;

/// `1 / j!` for `j = 0..=7`, the Taylor coefficients of [`below_curve`] (their own
/// rounding, ~1e-16 relative, is inside the squeeze margin).
const INV_FACTORIAL: [f64; 8] = {
    let mut c = [1.0; 8];
    let mut j = 1;
    while j < 8 {
        c[j] = c[j - 1] / j as f64;
        j += 1;
    }
    c
};

/// The wedge test of layer `i >= 1`, `y < exp(-x^2 / 2)` as computed by
/// `(-0.5 x x).exp()`, with the same verdict but mostly without `exp`: in the wedge
/// (`x_{i+1} <= x < x_i`), `exp(-x^2/2) = f_i e^d` with `d = (x_i - x)(x_i + x) / 2` in
/// `[0, 0.75]`, and `e^d` is its Taylor polynomial of degree 7 to within `5.3e-6`
/// (relative). A `y` farther than [`WEDGE_SQUEEZE`] (relative) from `f_i P(d)` is on the
/// same side of the exact value; only the rare `y` closer than that calls `exp`.
#[inline(always)]
fn below_curve(y: f64, x: f64, i: usize, z: &Ziggurat) -> bool {
    let d = 0.5 * ((z.x[i] - x) * (z.x[i] + x));
    if (0.0..=WEDGE_D_MAX).contains(&d) {
        // sum_{j <= 7} d^j / j! by Estrin's scheme: a short dependency chain, since the
        // verdict feeds a branch.
        let c = &INV_FACTORIAL;
        let (d2, d4) = (d * d, d * d * (d * d));
        let lo = c[1].mul_add(d, c[0]) + c[3].mul_add(d, c[2]) * d2;
        let hi = c[5].mul_add(d, c[4]) + c[7].mul_add(d, c[6]) * d2;
        let p = hi.mul_add(d4, lo);
        let g = z.f[i] * p;
        if y < g * (1.0 - WEDGE_SQUEEZE) {
            return true;
        }
        if y > g * (1.0 + WEDGE_SQUEEZE) {
            return false;
        }
    }
    y < (-0.5 * x * x).exp()
}

/// Fill `out` with independent standard normal draws from `rng` (ziggurat, inlined so the
/// generator state stays in registers: about 2 ns a draw).
///
/// ```
/// let mut rng = nrnn::rng::stream(1, &[2]);
/// let mut v = vec![0.0; 100_000];
/// nrnn::rng::fill_normal(&mut rng, &mut v);
/// let mean = v.iter().sum::<f64>() / v.len() as f64;
/// assert!(mean.abs() < 4.0 / (v.len() as f64).sqrt()); // 4 standard errors
/// ```
#[inline]
pub fn fill_normal(rng: &mut Stream, out: &mut [f64]) {
    let z = ziggurat();
    // A local copy of the generator stays in registers; a store and reload of the state
    // per draw would add the store-forwarding latency to every draw's dependency chain.
    let mut local = rng.clone();
    for x in out.iter_mut() {
        *x = normal_zig(&mut local, z);
    }
    *rng = local;
}

/// One standard normal draw (see [`fill_normal`]).
#[inline]
pub fn normal(rng: &mut Stream) -> f64 {
    normal_zig(rng, ziggurat())
}

/// Fill `out` with independent uniform draws on `[0, 1)` from `rng`.
pub fn fill_uniform<R: rand::Rng>(rng: &mut R, out: &mut [f64]) {
    use rand::RngExt;
    for x in out.iter_mut() {
        *x = rng.random::<f64>();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use statrs::distribution::{ContinuousCDF, Normal};

    /// The ziggurat's layers tile the area under f: the last layer ends at x = 0.
    #[test]
    fn ziggurat_table_closes() {
        let z = ziggurat();
        let f = |x: f64| (-0.5 * x * x).exp();
        // Layer 127 spans [f(x_127), 1]: its area V must equal x_127 (1 - f(x_127)).
        assert!((z.x[127] * (1.0 - f(z.x[127])) - ZIG_V).abs() < 1e-9);
    }

    /// The integer bounds give the floating-point fast test's verdict at and next to each
    /// bound and on random words of every layer.
    #[test]
    fn integer_bounds_match_the_fast_test() {
        let z = ziggurat();
        for i in 0..128 {
            let k = z.k[i];
            if k > 0 {
                assert!(zig_inside(k - 1, i, &z.x), "layer {i}: k - 1 must pass");
            }
            if k < 1 << 53 {
                assert!(!zig_inside(k, i, &z.x), "layer {i}: k must fail");
            }
            // Random words, both ways.
            let mut r = stream(17, &[i as u64]);
            for _ in 0..2000 {
                let m = rand::Rng::next_u64(&mut r) >> 11;
                assert_eq!(m < k, zig_inside(m, i, &z.x), "layer {i}, m {m}");
            }
        }
        // The top layer has no overhang-free part (x_128 = 0): every draw there is a wedge draw.
        assert_eq!(z.k[127], 0);
    }

    /// The squeezed wedge test gives the exact test's verdict: on random points of every
    /// wedge, and on points within a few times the squeeze margin of the curve, where the
    /// exact test decides; the largest wedge offset stays below the squeeze's range.
    #[test]
    fn wedge_squeeze_keeps_the_verdict() {
        let z = ziggurat();
        let mut r = stream(23, &[]);
        let mut uniform = || (rand::Rng::next_u64(&mut r) >> 11) as f64 * ZIG_SCALE;
        let mut near = 0;
        for i in 1..128 {
            let d_max = 0.5 * (z.x[i] * z.x[i] - z.x[i + 1] * z.x[i + 1]);
            assert!(d_max < WEDGE_D_MAX, "layer {i}: d up to {d_max}");
            for t in 0..4000 {
                let x = z.x[i + 1] + uniform() * (z.x[i] - z.x[i + 1]);
                let exact = (-0.5 * x * x).exp();
                let y = if t % 2 == 0 {
                    z.f[i + 1] + uniform() * (z.f[i] - z.f[i + 1])
                } else {
                    near += 1;
                    exact * (1.0 + (uniform() - 0.5) * 8.0 * WEDGE_SQUEEZE)
                };
                assert_eq!(
                    below_curve(y, x, i, z),
                    y < exact,
                    "layer {i}, x {x}, y {y}"
                );
            }
        }
        assert!(near > 100_000);
    }

    /// Kolmogorov-Smirnov statistic of 10^6 draws against N(0, 1): below the 99.9% critical
    /// value 1.95/sqrt(n); moments within 5 standard errors.
    #[test]
    fn ziggurat_is_standard_normal() {
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
        // The tail beyond R is reached (rare branch exercised).
        assert!(v.iter().any(|&x| x.abs() > ZIG_R));
    }

    /// Value stability: the named stream and the normal sampler are fixed for good; a change
    /// here changes every seeded result of the toolkit.
    #[test]
    fn seeded_values_are_stable() {
        let mut rng = stream(42, &[0, 1]);
        let v: Vec<f64> = (0..3).map(|_| normal(&mut rng)).collect();
        let again: Vec<f64> = {
            let mut r = stream(42, &[0, 1]);
            (0..3).map(|_| normal(&mut r)).collect()
        };
        assert_eq!(v, again);
        assert_eq!(format!("{:.12?}", v), STABLE_VALUES);
    }
    const STABLE_VALUES: &str = "[-0.154352436485, -0.027647136028, -0.917819582045]";
}

//! Fast elementary functions for the hot loops: branch-free, vectorizable, within a few
//! ulp of the standard library (each tested here against it).
//!
//! - [`tanh`] (by `expm1` of `2|x|`): the activation of every forward pass
//!   ([`crate::linalg::Real::tanh_fast`]; re-exported as [`crate::linalg::tanh`]).
//! - `ln` of a uniform draw and the cosine and sine of an angle given by the bits of a
//!   word, for the Box-Muller transform of [`crate::rng::Stream::normals`] (the AVX-512
//!   kernel of `rng` evaluates the same polynomials with the same constants).

/// `expm1(y)` for `y >= 0` (clamped to `y <= 40`), branch-free so loops over slices
/// vectorize: `y = k ln2 + r` with `|r| <= ln2/2` (Cody-Waite split of ln2), `expm1(r)` by
/// its Taylor series to degree 13 (truncation below 5e-18 relative), then
/// `expm1(y) = 2^k expm1(r) + (2^k - 1)`.
#[inline(always)]
pub(crate) fn expm1_nonneg(y: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    const SHIFT: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52: adding it rounds to an integer
    let y = y.min(40.0);
    let kf = (y * LOG2E + SHIFT) - SHIFT;
    let r = (y - kf * LN2_HI) - kf * LN2_LO;
    // Taylor coefficients 1/j! for j = 2..13, Horner in r.
    let mut p: f64 = 1.0 / 6_227_020_800.0;
    p = p.mul_add(r, 1.0 / 479_001_600.0);
    p = p.mul_add(r, 1.0 / 39_916_800.0);
    p = p.mul_add(r, 1.0 / 3_628_800.0);
    p = p.mul_add(r, 1.0 / 362_880.0);
    p = p.mul_add(r, 1.0 / 40_320.0);
    p = p.mul_add(r, 1.0 / 5_040.0);
    p = p.mul_add(r, 1.0 / 720.0);
    p = p.mul_add(r, 1.0 / 120.0);
    p = p.mul_add(r, 1.0 / 24.0);
    p = p.mul_add(r, 1.0 / 6.0);
    p = p.mul_add(r, 0.5);
    let em_r = (p * r).mul_add(r, r); // expm1(r) = r + r^2 (1/2 + r/6 + ...)
    let k = (kf + SHIFT).to_bits() as i64 - SHIFT.to_bits() as i64;
    let two_k = f64::from_bits(((k + 1023) as u64) << 52);
    two_k.mul_add(em_r, two_k - 1.0)
}

/// Hyperbolic tangent, `tanh(x) = sign(x) e / (e + 2)` with `e = expm1(2|x|)`: no
/// cancellation at small `|x|`, branch-free (vectorizes), within a few ulp of `f64::tanh`
/// (tested) and several times faster in the model's elementwise loops.
///
/// ```
/// for &x in &[-3.0, -1e-8, 0.0, 0.3, 20.0, 800.0] {
///     let t = nrnn::linalg::tanh(x);
///     assert!((t - f64::tanh(x)).abs() <= 4.0 * f64::EPSILON * f64::tanh(x).abs().max(1e-300));
/// }
/// ```
#[inline(always)]
pub fn tanh(x: f64) -> f64 {
    let e = expm1_nonneg(2.0 * x.abs());
    let t = (e / (e + 2.0)).copysign(x);
    if x.is_nan() {
        x
    } else {
        t
    }
}

/// `ln 2` split so that `e LN2_HI` is exact for the exponents met here (fdlibm's split).
pub(crate) const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
/// `ln 2 - LN2_HI`.
pub(crate) const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);
/// Bits of `sqrt(1/2)` (rounded): mantissas are reduced to `[sqrt(1/2), sqrt(2))`.
pub(crate) const SQRT_HALF_BITS: u64 = 0x3FE6_A09E_667F_3BCD;
/// Bits of `1.0`.
pub(crate) const ONE_BITS: u64 = 0x3FF0_0000_0000_0000;
/// The 52 mantissa bits of an f64.
pub(crate) const MANTISSA: u64 = 0x000F_FFFF_FFFF_FFFF;

/// `c_k = 1 / (2k + 3)`, `k = 0..9`: `ln f = 2s + 2s z sum_k c_k z^k` with
/// `s = (f - 1)/(f + 1)`, `z = s^2 <= 0.0295` on `[sqrt(1/2), sqrt(2))`; the first term
/// left out, `z^9 / 21 < 2.3e-16 z`, is below half an ulp of the sum.
pub(crate) const LOG_C: [f64; 9] = {
    let mut c = [0.0; 9];
    let mut k = 0;
    while k < 9 {
        c[k] = 1.0 / (2 * k + 3) as f64;
        k += 1;
    }
    c
};

/// `(-1)^k / (2k+1)!`, `k = 0..8`: `sin psi = psi sum_k s_k psi^2k` on `[0, pi/4]`; the
/// first term left out, `(pi/4)^17 / 17! < 4.6e-17`, is below half an ulp of `sin psi`.
pub(crate) const SIN_C: [f64; 8] = taylor::<8>(1);

/// `(-1)^k / (2k)!`, `k = 0..9`: `cos psi = sum_k c_k psi^2k` on `[0, pi/4]`; the first
/// term left out, `(pi/4)^18 / 18! < 2.1e-18`, is far below half an ulp.
pub(crate) const COS_C: [f64; 9] = taylor::<9>(0);

/// `(-1)^k / (2k + first)!` for `k = 0..N`.
pub(crate) const fn taylor<const N: usize>(first: usize) -> [f64; N] {
    let mut c = [0.0; N];
    let mut f = 1.0;
    let mut j = 1;
    while j <= first {
        f *= j as f64;
        j += 1;
    }
    let mut k = 0;
    while k < N {
        c[k] = if k % 2 == 0 { 1.0 / f } else { -1.0 / f };
        f *= ((2 * k + first + 1) * (2 * k + first + 2)) as f64;
        k += 1;
    }
    c
}

/// `sum_k c_k z^k` for nine coefficients by Estrin's scheme (`z2 = z^2`, `z4 = z^4`); the
/// vector kernel evaluates the same operations in the same order.
#[inline(always)]
pub(crate) fn poly9(c: &[f64; 9], z: f64, z2: f64, z4: f64) -> f64 {
    let q0 = c[1].mul_add(z, c[0]);
    let q1 = c[3].mul_add(z, c[2]);
    let q2 = c[5].mul_add(z, c[4]);
    let q3 = c[7].mul_add(z, c[6]);
    let lo = q1.mul_add(z2, q0);
    let hi = c[8].mul_add(z4, q3.mul_add(z2, q2));
    hi.mul_add(z4, lo)
}

/// `sum_k c_k z^k` for eight coefficients by Estrin's scheme.
#[inline(always)]
pub(crate) fn poly8(c: &[f64; 8], z: f64, z2: f64, z4: f64) -> f64 {
    let q0 = c[1].mul_add(z, c[0]);
    let q1 = c[3].mul_add(z, c[2]);
    let q2 = c[5].mul_add(z, c[4]);
    let q3 = c[7].mul_add(z, c[6]);
    q3.mul_add(z2, q2).mul_add(z4, q1.mul_add(z2, q0))
}

/// `u = (floor(w / 2^11) + 1) 2^-53` in `[2^-53, 1]` and `ln u`: `u = 2^e f` with `f` in
/// `[sqrt(1/2), sqrt(2))` by integer operations on its bits, then `ln u = e ln 2 + ln f`,
/// `ln f` by the series of [`LOG_C`] (a few ulp).
#[inline(always)]
pub(crate) fn log_uniform(w: u64) -> (f64, f64) {
    let u = ((w >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64);
    let ix = u.to_bits() + (ONE_BITS - SQRT_HALF_BITS);
    let e = ((ix >> 52) as i64 - 0x3FF) as f64;
    let f = f64::from_bits((ix & MANTISSA) + SQRT_HALF_BITS);
    let s = (f - 1.0) / (f + 1.0);
    let z = s * s;
    let (z2, s2) = (z * z, 2.0 * s);
    let p = poly9(&LOG_C, z, z2, z2 * z2);
    let ln_f = (s2 * z).mul_add(p, s2);
    (u, e.mul_add(LN2_HI, e.mul_add(LN2_LO, ln_f)))
}

/// The Box-Muller radius of the word `w`: `sqrt(-2 ln u)` with `u` and `ln u` from
/// [`log_uniform`], so `0 <= r <= 8.58`.
#[inline(always)]
pub(crate) fn radius(w: u64) -> f64 {
    (-2.0 * log_uniform(w).1).sqrt()
}

/// `(cos theta, sin theta)` for the Box-Muller angle of the word `w`: bits 63..61 name the
/// octant `o` of `theta = 2 pi v`, bits 60..9 the position `t = m + 1/2` (`m` a 52-bit
/// integer) inside it, so `v = (o + t 2^-52) / 8`. With `psi = (pi/4) t 2^-52` (even `o`)
/// or `(pi/4)(1 - t 2^-52)` (odd `o`: reflected) in `[0, pi/4]`, `sin psi` and `cos psi`
/// are short Taylor sums ([`SIN_C`], [`COS_C`]); swaps and sign flips by the octant give
/// the angle's cosine and sine without a branch.
#[inline(always)]
pub(crate) fn angle(w: u64) -> (f64, f64) {
    let odd = (w >> 61) & 1 == 1;
    let swap = (w >> 62) & 1 == 1;
    let neg_c = ((w << 1) ^ w) & (1 << 63);
    let neg_s = w & (1 << 63);
    let t = ((w << 3) >> 12) as f64 + 0.5;
    let t = if odd { (1u64 << 52) as f64 - t } else { t };
    let psi = t * (std::f64::consts::FRAC_PI_4 / (1u64 << 52) as f64);
    let z = psi * psi;
    let z2 = z * z;
    let z4 = z2 * z2;
    let s = poly8(&SIN_C, z, z2, z4) * psi;
    let c = poly9(&COS_C, z, z2, z4);
    // Octant 2q + 1 is the reflection of octant 2q about pi/4 (q = 0..3).
    let (ca, sa) = if odd { (s, c) } else { (c, s) };
    // Quadrant q rotates (cos, sin) by q pi/2.
    let (cq, sq) = if swap { (sa, ca) } else { (ca, sa) };
    (
        f64::from_bits(cq.to_bits() ^ neg_c),
        f64::from_bits(sq.to_bits() ^ neg_s),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;
    use rand::Rng;

    /// Maximum error of the fast tanh in units of the last place, over a dense grid and
    /// random points: at most 4 ulp (round-off of the 13 Horner steps, the division and
    /// the 2^k reconstruction each contribute at most about one).
    #[test]
    fn fast_tanh_is_accurate() {
        let mut worst: f64 = 0.0;
        let mut x: f64 = -25.0;
        while x < 25.0 {
            for &v in &[x, x * 1e-3, x * 1e-9] {
                let exact = v.tanh();
                let ulp = f64::EPSILON * exact.abs().max(f64::MIN_POSITIVE);
                worst = worst.max((tanh(v) - exact).abs() / ulp);
            }
            x += 0.000_731;
        }
        assert!(worst <= 4.0, "worst error {worst} ulp");
        assert_eq!(tanh(f64::INFINITY), 1.0);
        assert_eq!(tanh(f64::NEG_INFINITY), -1.0);
        assert!(tanh(f64::NAN).is_nan());
    }

    /// Bound on the relative error of [`log_uniform`]'s `ln` and on the absolute error of
    /// [`angle`]'s cosine and sine, against the standard library (itself within 1 ulp):
    /// a few ulp of the series, its coefficients and the reductions.
    const LN_REL_ERR: f64 = 4.0 * f64::EPSILON;
    const TRIG_ABS_ERR: f64 = 4.0 * f64::EPSILON;

    /// The radius and angle functions are accurate to a few ulp over random words and at
    /// the ends of their ranges (`u = 1`, `u = 2^-53`; octant edges).
    #[test]
    fn radius_and_angle_are_accurate() {
        let mut r = stream(13, &[]);
        let mut words: Vec<u64> = (0..200_000).map(|_| r.next_u64()).collect();
        words.extend([0, u64::MAX, 1 << 11, u64::MAX >> 1, 1 << 63, (1 << 61) - 1]);
        let (mut worst, mut worst_ln): (f64, f64) = (0.0, 0.0);
        for w in words {
            let (u, ln_u) = log_uniform(w);
            assert_eq!(u, ((w >> 11) + 1) as f64 / (1u64 << 53) as f64);
            let err = (ln_u - u.ln()).abs();
            worst_ln = worst_ln.max(err / u.ln().abs().max(f64::MIN_POSITIVE));
            assert!(
                err <= LN_REL_ERR * u.ln().abs(),
                "ln of {u:e}: {ln_u:e} vs {:e}",
                u.ln()
            );
            // The reference angle reduced to its quadrant q (exact rotation by q pi/2),
            // alpha = (pi/2) (position in the quadrant), so its own error stays ~1 ulp.
            let q = w >> 62;
            let pos = (((w << 2) >> 9) as f64 + 0.5) / (1u64 << 55) as f64;
            let alpha = std::f64::consts::FRAC_PI_2 * pos;
            let (ca, sa) = (alpha.cos(), alpha.sin());
            let (cw, sw) = [(ca, sa), (-sa, ca), (-ca, -sa), (sa, -ca)][q as usize];
            let (c, s) = angle(w);
            worst = worst.max((c - cw).abs()).max((s - sw).abs());
            assert!((c - cw).abs() < TRIG_ABS_ERR, "cos of {w:#x}: {c} vs {cw}");
            assert!((s - sw).abs() < TRIG_ABS_ERR, "sin of {w:#x}: {s} vs {sw}");
        }
        // Measured when written: 3.3e-16 (trig, absolute) and 3.2e-16 (ln, relative).
        assert!(worst > 0.0 && worst_ln > 0.0, "the comparison ran");
        assert_eq!(radius(u64::MAX), 0.0);
        assert!((radius(0) - (106.0 * std::f64::consts::LN_2).sqrt()).abs() < 1e-15);
        // fdlibm's split of ln 2: the high part has 21 trailing zero bits (32 significant
        // bits, so e LN2_HI is exact for |e| < 2^21) and the two parts add to ln 2.
        assert_eq!(LN2_HI.to_bits() & 0x1F_FFFF, 0);
        assert_eq!(LN2_HI + LN2_LO, std::f64::consts::LN_2);
    }
}

//! The sixteen normals of [`super::Stream::normals`] in two AVX-512 vectors: the same
//! operations as the scalar reference ([`super::log_uniform`], [`super::angle`]), in the
//! same order, each lane of each instruction IEEE-exact, so the bits are the reference's
//! (tested by `normals_match_the_reference`).

use super::{
    COS_C, LANES, LN2_HI, LN2_LO, LOG_C, MANTISSA, NORMALS_PER_CALL, ONE_BITS, SIN_C,
    SQRT_HALF_BITS,
};
use std::arch::x86_64::*;

#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn splat(x: f64) -> __m512d {
    _mm512_set1_pd(x)
}

#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn splat_u(x: u64) -> __m512i {
    _mm512_set1_epi64(x as i64)
}

#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn fma(a: __m512d, b: __m512d, c: __m512d) -> __m512d {
    _mm512_fmadd_pd(a, b, c)
}

/// [`super::poly9`], lane-wise.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn poly9(c: &[f64; 9], z: __m512d, z2: __m512d, z4: __m512d) -> __m512d {
    let q0 = fma(splat(c[1]), z, splat(c[0]));
    let q1 = fma(splat(c[3]), z, splat(c[2]));
    let q2 = fma(splat(c[5]), z, splat(c[4]));
    let q3 = fma(splat(c[7]), z, splat(c[6]));
    let lo = fma(q1, z2, q0);
    let hi = fma(splat(c[8]), z4, fma(q3, z2, q2));
    fma(hi, z4, lo)
}

/// [`super::poly8`], lane-wise.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn poly8(c: &[f64; 8], z: __m512d, z2: __m512d, z4: __m512d) -> __m512d {
    let q0 = fma(splat(c[1]), z, splat(c[0]));
    let q1 = fma(splat(c[3]), z, splat(c[2]));
    let q2 = fma(splat(c[5]), z, splat(c[4]));
    let q3 = fma(splat(c[7]), z, splat(c[6]));
    fma(fma(q3, z2, q2), z4, fma(q1, z2, q0))
}

/// One xoshiro256++ step of the eight lanes (see `Stream::block`).
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn block(s: &mut [__m512i; 4]) -> __m512i {
    let out = _mm512_add_epi64(_mm512_rol_epi64::<23>(_mm512_add_epi64(s[0], s[3])), s[0]);
    let t = _mm512_slli_epi64::<17>(s[1]);
    s[2] = _mm512_xor_si512(s[2], s[0]);
    s[3] = _mm512_xor_si512(s[3], s[1]);
    s[1] = _mm512_xor_si512(s[1], s[2]);
    s[0] = _mm512_xor_si512(s[0], s[3]);
    s[2] = _mm512_xor_si512(s[2], t);
    s[3] = _mm512_rol_epi64::<45>(s[3]);
    out
}

/// [`super::radius`] (with [`super::log_uniform`]), lane-wise.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn radius(w: __m512i) -> __m512d {
    let m = _mm512_add_epi64(_mm512_srli_epi64::<11>(w), splat_u(1));
    let u = _mm512_mul_pd(_mm512_cvtepu64_pd(m), splat(1.0 / (1u64 << 53) as f64));
    let ix = _mm512_add_epi64(_mm512_castpd_si512(u), splat_u(ONE_BITS - SQRT_HALF_BITS));
    let e = _mm512_cvtepi64_pd(_mm512_sub_epi64(
        _mm512_srli_epi64::<52>(ix),
        splat_u(0x3FF),
    ));
    let f = _mm512_castsi512_pd(_mm512_add_epi64(
        _mm512_and_si512(ix, splat_u(MANTISSA)),
        splat_u(SQRT_HALF_BITS),
    ));
    let s = _mm512_div_pd(_mm512_sub_pd(f, splat(1.0)), _mm512_add_pd(f, splat(1.0)));
    let z = _mm512_mul_pd(s, s);
    let z2 = _mm512_mul_pd(z, z);
    let s2 = _mm512_mul_pd(splat(2.0), s);
    let p = poly9(&LOG_C, z, z2, _mm512_mul_pd(z2, z2));
    let ln_f = fma(_mm512_mul_pd(s2, z), p, s2);
    let ln_u = fma(e, splat(LN2_HI), fma(e, splat(LN2_LO), ln_f));
    _mm512_sqrt_pd(_mm512_mul_pd(splat(-2.0), ln_u))
}

/// [`super::angle`], lane-wise: `(cos theta, sin theta)`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn angle(w: __m512i) -> (__m512d, __m512d) {
    let odd = _mm512_test_epi64_mask(w, splat_u(1 << 61));
    let swap = _mm512_test_epi64_mask(w, splat_u(1 << 62));
    let sign = splat_u(1 << 63);
    let neg_c = _mm512_and_si512(_mm512_xor_si512(_mm512_slli_epi64::<1>(w), w), sign);
    let neg_s = _mm512_and_si512(w, sign);
    let m = _mm512_srli_epi64::<12>(_mm512_slli_epi64::<3>(w));
    let t = _mm512_add_pd(_mm512_cvtepu64_pd(m), splat(0.5));
    let t = _mm512_mask_sub_pd(t, odd, splat((1u64 << 52) as f64), t);
    let psi = _mm512_mul_pd(t, splat(std::f64::consts::FRAC_PI_4 / (1u64 << 52) as f64));
    let z = _mm512_mul_pd(psi, psi);
    let z2 = _mm512_mul_pd(z, z);
    let z4 = _mm512_mul_pd(z2, z2);
    let s = _mm512_mul_pd(poly8(&SIN_C, z, z2, z4), psi);
    let c = poly9(&COS_C, z, z2, z4);
    let ca = _mm512_mask_blend_pd(odd, c, s);
    let sa = _mm512_mask_blend_pd(odd, s, c);
    let cq = _mm512_mask_blend_pd(swap, ca, sa);
    let sq = _mm512_mask_blend_pd(swap, sa, ca);
    let flip =
        |v: __m512d, n: __m512i| _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(v), n));
    (flip(cq, neg_c), flip(sq, neg_s))
}

/// Two steps of the lanes of `s` and the Box-Muller transform of their blocks into `out`.
///
/// # Safety
/// The CPU has AVX-512F and AVX-512DQ (this module is built only when the target has them).
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
pub(super) unsafe fn normals(s: &mut [[u64; LANES]; 4], out: &mut [f64; NORMALS_PER_CALL]) {
    // SAFETY: each row of `s` is 8 u64 (64 bytes) and `out` holds 16 f64: the unaligned
    // loads and stores stay inside them.
    let p = s.as_mut_ptr() as *mut __m512i;
    let mut v = unsafe {
        [
            _mm512_loadu_si512(p),
            _mm512_loadu_si512(p.add(1)),
            _mm512_loadu_si512(p.add(2)),
            _mm512_loadu_si512(p.add(3)),
        ]
    };
    let a = block(&mut v);
    let b = block(&mut v);
    let r = radius(a);
    let (c, sn) = angle(b);
    unsafe {
        for (k, row) in v.iter().enumerate() {
            _mm512_storeu_si512(p.add(k), *row);
        }
        _mm512_storeu_pd(out.as_mut_ptr(), _mm512_mul_pd(r, c));
        _mm512_storeu_pd(out.as_mut_ptr().add(LANES), _mm512_mul_pd(r, sn));
    }
}

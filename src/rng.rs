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

/// Fill `out` with independent standard normal draws from `rng`.
pub fn fill_normal<R: rand::Rng>(rng: &mut R, out: &mut [f64]) {
    use rand::RngExt;
    for x in out.iter_mut() {
        *x = rng.sample(rand_distr::StandardNormal);
    }
}

/// Fill `out` with independent uniform draws on `[0, 1)` from `rng`.
pub fn fill_uniform<R: rand::Rng>(rng: &mut R, out: &mut [f64]) {
    use rand::RngExt;
    for x in out.iter_mut() {
        *x = rng.random::<f64>();
    }
}

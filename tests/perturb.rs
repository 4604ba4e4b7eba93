//! Input perturbations and attacks (`nrnn::perturb`): salt and pepper hits a Binomial
//! number of inputs, white noise has the stated moments, FGSM moves every input by exactly
//! its budget (up to clipping), and PGD's loss is at least FGSM's.
//!
//! Every statistical check fixes its seed and allows `MC_SIGMAS` = 4 standard errors
//! (two-sided 99.994% level for a normal statistic).

use nrnn::data::{Dataset, Task};
use nrnn::loss::Loss;
use nrnn::model::{Model, ModelConfig, NoiseSource};
use nrnn::perturb::{
    evaluate_under, fgsm, multiplicative_noise, pgd, salt_and_pepper, white_noise, InputRange,
    Perturbation,
};
use nrnn::prec::{MC_SIGMAS, PERTURB_ROUNDOFF};

/// `n` examples of `steps` inputs uniform in (0.2, 0.8): every value lies strictly inside
/// the range [0, 1], so an input hit by salt and pepper always changes.
fn interior(n: usize, steps: usize, seed: u64) -> Dataset {
    let mut x = vec![0.0; n * steps];
    nrnn::rng::fill_uniform(&mut nrnn::rng::stream(seed, &[99]), &mut x);
    for v in &mut x {
        *v = 0.2 + 0.6 * *v;
    }
    Dataset {
        name: "interior".into(),
        steps,
        input_dim: 1,
        classes: 2,
        task: Task::Classification,
        x,
        labels: (0..n).map(|e| e % 2).collect(),
        targets: Vec::new(),
    }
}

#[test]
fn salt_and_pepper_hits_a_binomial_fraction() {
    let d = interior(400, 50, 1);
    let n = d.x.len() as f64;
    let r = InputRange::new(0.0, 1.0).unwrap();
    let mut prev_hits: Option<Vec<bool>> = None;
    for alpha in [0.02, 0.1, 0.3] {
        let p = salt_and_pepper(&d, alpha, r, 7).unwrap();
        let hits: Vec<bool> = d.x.iter().zip(&p.x).map(|(a, b)| a != b).collect();
        let count = hits.iter().filter(|&&h| h).count() as f64;
        let se = (n * alpha * (1.0 - alpha)).sqrt();
        assert!(
            (count - n * alpha).abs() <= MC_SIGMAS * se,
            "alpha {alpha}: {count} hits of {n}, expected {} +- {}",
            n * alpha,
            MC_SIGMAS * se
        );
        // Hit inputs are at the range's ends, half of them at each (Binomial(count, 1/2)).
        let lows =
            p.x.iter()
                .zip(&hits)
                .filter(|(v, h)| **h && **v == 0.0)
                .count() as f64;
        let highs =
            p.x.iter()
                .zip(&hits)
                .filter(|(v, h)| **h && **v == 1.0)
                .count() as f64;
        assert_eq!(lows + highs, count);
        assert!((lows - count / 2.0).abs() <= MC_SIGMAS * (count / 4.0).sqrt());
        // Common random numbers: the hit sets are nested as alpha grows.
        if let Some(prev) = &prev_hits {
            assert!(prev.iter().zip(&hits).all(|(a, b)| !a || *b));
        }
        prev_hits = Some(hits);
    }
    assert!(salt_and_pepper(&d, 1.5, r, 7)
        .unwrap_err()
        .to_string()
        .contains("alpha"));
}

#[test]
fn white_and_multiplicative_noise_have_the_stated_moments() {
    let d = interior(200, 50, 2);
    let n = d.x.len() as f64;
    let s = 0.3;
    let w = white_noise(&d, s, 11).unwrap();
    let z: Vec<f64> = d.x.iter().zip(&w.x).map(|(a, b)| (b - a) / s).collect();
    let mean = z.iter().sum::<f64>() / n;
    let var = z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    // Mean of N(0,1) draws: se 1/sqrt(n); sample variance: se sqrt(2/n).
    assert!(mean.abs() <= MC_SIGMAS / n.sqrt(), "mean {mean}");
    assert!(
        (var - 1.0).abs() <= MC_SIGMAS * (2.0 / n).sqrt(),
        "var {var}"
    );
    // Seeded: the same seed gives the same draw, another seed another one.
    assert_eq!(white_noise(&d, s, 11).unwrap().x, w.x);
    assert_ne!(white_noise(&d, s, 12).unwrap().x, w.x);
    // Multiplicative: (x' / x - 1) / s ~ N(0, 1).
    let m = multiplicative_noise(&d, s, 11).unwrap();
    let z: Vec<f64> =
        d.x.iter()
            .zip(&m.x)
            .map(|(a, b)| (b / a - 1.0) / s)
            .collect();
    let mean = z.iter().sum::<f64>() / n;
    assert!(mean.abs() <= MC_SIGMAS / n.sqrt(), "mean {mean}");
    assert!(white_noise(&d, f64::NAN, 1)
        .unwrap_err()
        .to_string()
        .contains("`s`"));
}

fn small_model(seed: u64) -> Model {
    Model::init(ModelConfig::new(8, 1, 10), 0.2, seed).unwrap()
}

/// The first `examples` digits, [`small_model`]`(seed)` and the digits' input range.
fn digits_case(examples: usize, seed: u64) -> (Dataset, Model, InputRange) {
    let d = nrnn::data::digits().head(examples);
    let r = InputRange::of(&d).unwrap();
    (d, small_model(seed), r)
}

#[test]
fn fgsm_moves_each_input_by_the_budget() {
    let (d, m, r) = digits_case(64, 3);
    let batch = d.all();
    let budget = 0.05;
    let g = m
        .loss_grad(&batch, Loss::CrossEntropy, NoiseSource::Off, true)
        .dx
        .unwrap();
    let a = fgsm(&m, &batch, Loss::CrossEntropy, budget, r).unwrap();
    let (mut moved, mut clipped) = (0, 0);
    for ((x, xa), gi) in batch.x.iter().zip(a.batch.x.iter()).zip(g.iter()) {
        assert!(
            *gi != 0.0,
            "a zero input gradient: the check below would be vacuous"
        );
        let want = x + budget * gi.signum();
        if want > r.lo && want < r.hi {
            assert!(
                ((xa - x).abs() - budget).abs() <= PERTURB_ROUNDOFF,
                "moved {} not {budget}",
                (xa - x).abs()
            );
            assert_eq!(xa - x > 0.0, *gi > 0.0, "moved against the gradient");
            moved += 1;
        } else {
            assert_eq!(*xa, r.clip(want), "clipped input not at the range's end");
            clipped += 1;
        }
    }
    assert!(
        moved > 0 && clipped > 0,
        "both cases exercised: {moved} moved, {clipped} clipped"
    );
    // First order: L(x') - L(x) ~ budget |grad|_1 > 0, so the mean loss goes up.
    let clean = m
        .loss_grad(&batch, Loss::CrossEntropy, NoiseSource::Off, false)
        .loss;
    let adv = a.losses.iter().sum::<f64>() / a.losses.len() as f64;
    assert!(adv > clean, "FGSM loss {adv} <= clean loss {clean}");
}

#[test]
fn pgd_loss_is_at_least_fgsm_and_stays_in_the_ball() {
    let (d, m, r) = digits_case(48, 4);
    let batch = d.all();
    let budget = 0.1;
    let f = fgsm(&m, &batch, Loss::CrossEntropy, budget, r).unwrap();
    let p = pgd(&m, &batch, Loss::CrossEntropy, budget, 8, 0.25 * budget, r).unwrap();
    for (e, (lp, lf)) in p.losses.iter().zip(&f.losses).enumerate() {
        assert!(lp >= lf, "example {e}: PGD loss {lp} < FGSM loss {lf}");
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(
        mean(&p.losses) > mean(&f.losses),
        "PGD never improved on FGSM"
    );
    for (x, xp) in batch.x.iter().zip(p.batch.x.iter()) {
        assert!((xp - x).abs() <= budget + PERTURB_ROUNDOFF && *xp >= r.lo && *xp <= r.hi);
    }
    // The reported losses are the losses at the returned inputs.
    let o = m.logits(&p.batch, NoiseSource::Off);
    let again = Loss::CrossEntropy.value_grad(&o, &p.batch.target, 1.0).0;
    assert_eq!(again, p.losses);
}

#[test]
fn evaluation_orders_and_errors() {
    let (d, m, r) = digits_case(40, 5);
    let clean = evaluate_under(&m, &d, &Perturbation::Clean, r, 0).unwrap();
    let f = evaluate_under(&m, &d, &Perturbation::Fgsm { budget: 0.1 }, r, 0).unwrap();
    let p = evaluate_under(&m, &d, &Perturbation::pgd(0.1), r, 0).unwrap();
    assert!(clean.loss < f.loss && f.loss <= p.loss);
    let (l, acc) = m.evaluate(&d.all(), Loss::CrossEntropy);
    assert!((clean.loss - l).abs() <= 1e-12 && clean.accuracy == acc);
    // Zero strength is the clean evaluation.
    for z in [
        Perturbation::WhiteNoise { s: 0.0 },
        Perturbation::SaltAndPepper { alpha: 0.0 },
        Perturbation::Fgsm { budget: 0.0 },
    ] {
        assert_eq!(
            evaluate_under(&m, &d, &z, r, 0).unwrap().accuracy,
            clean.accuracy
        );
    }
    let other = Model::init(ModelConfig::new(8, 2, 10), 0.2, 1).unwrap();
    let err = evaluate_under(&other, &d, &Perturbation::Clean, r, 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("input_dim"), "{err}");
    let err = evaluate_under(
        &m,
        &d,
        &Perturbation::Pgd {
            budget: 0.1,
            steps: 0,
            step_size: 0.1,
        },
        r,
        0,
    )
    .unwrap_err();
    assert!(err.to_string().contains("steps"));
    assert!(InputRange::new(f64::NAN, 1.0).is_err());
    // A regression batch with the cross-entropy loss is refused, not a panic.
    let reg = nrnn::data::adding(4, 5, 0).unwrap();
    let mr = Model::init(ModelConfig::new(4, 2, 1), 0.2, 1).unwrap();
    let err = fgsm(
        &mr,
        &reg.all(),
        Loss::CrossEntropy,
        0.1,
        InputRange::of(&reg).unwrap(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("loss"), "{err}");
    assert!(fgsm(
        &mr,
        &reg.all(),
        Loss::SquaredError,
        0.1,
        InputRange::of(&reg).unwrap()
    )
    .is_ok());
}

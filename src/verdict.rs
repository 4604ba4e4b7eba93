//! The verdict engine: one place where a claim about trained models is judged
//! (docs/theory.md section 8).
//!
//! A claim is tested by one statistic fixed before the data are seen (a [`Test`], written
//! into the figure index): for each seed, the unit of replication, one number, computed
//! from models that share that seed's data split, initialization, batch order and
//! evaluation draws (a paired design). The engine takes those per-seed values and returns a
//! [`Judgement`]: the mean effect, its two-sided Student-t interval at [`LEVEL`], the
//! p-value of "no effect", the number of seeds, and the smallest effect the design detects
//! with probability [`POWER`] ([`crate::stats::Estimate::detectable_effect`]). The verdict:
//!
//! - `supported`: the interval excludes 0 on the side the claim predicts;
//! - `contradicted`: it excludes 0 on the other side;
//! - `inconclusive`: it contains 0 (the detectable effect says how large an effect could
//!   have gone unseen);
//! - `not checked`: fewer than [`MIN_SEEDS`] usable seeds, or a smoke run.
//!
//! Where a figure reports several measures, one is pre-registered as the primary statistic
//! and decides the verdict; the others are reported with Holm-adjusted p-values
//! ([`secondary`]) and do not move it. Replication on a disjoint seed set is recorded beside
//! the verdict ([`Replication`], [`agreement`]).

use crate::report::index::Verdict;
use crate::stats::{holm, Estimate};
use serde::{Deserialize, Serialize};

/// Confidence level of every interval a verdict rests on.
pub const LEVEL: f64 = 0.95;
/// Significance level of the tests, `1 - LEVEL`.
pub const ALPHA: f64 = 1.0 - LEVEL;
/// Power at which the detectable effect of an inconclusive design is reported.
pub const POWER: f64 = 0.8;
/// Fewest usable seeds for a verdict (a t interval needs at least two; fewer gives
/// `not checked`).
pub const MIN_SEEDS: usize = 2;
/// Offset of the replication seed set: seeds `base + REPLICATION_OFFSET + i`, disjoint
/// from the primary seeds `base + i` for any practical seed count.
pub const REPLICATION_OFFSET: u64 = 1_000_000;

/// The side on which a claim predicts the effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The claim predicts a positive effect.
    Increase,
    /// The claim predicts a negative effect.
    Decrease,
    /// The claim predicts no effect beyond a margin: `|mean| < margin`, judged by
    /// [`judge_equivalence`].
    Equivalent,
}

impl Direction {
    /// `+1` for [`Direction::Increase`], `-1` for [`Direction::Decrease`], 0 for
    /// [`Direction::Equivalent`].
    pub fn sign(self) -> f64 {
        match self {
            Direction::Increase => 1.0,
            Direction::Decrease => -1.0,
            Direction::Equivalent => 0.0,
        }
    }

    /// The prediction in words (`> 0`, `< 0`, `within +- margin`).
    pub fn predicted_text(self, margin: Option<f64>) -> String {
        match (self, margin) {
            (Direction::Increase, _) => "> 0".into(),
            (Direction::Decrease, _) => "< 0".into(),
            (Direction::Equivalent, Some(m)) => {
                format!("within ± {}", crate::report::plot::format_sig(m, 3))
            }
            (Direction::Equivalent, None) => "within the margin".into(),
        }
    }
}

/// A pre-registered test: what the per-seed statistic is and which sign the claim predicts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Test {
    /// The per-seed statistic, in words (written into the index as it is).
    pub statistic: String,
    /// The predicted sign of its mean.
    pub predicted: Direction,
}

impl Test {
    /// A test of `statistic` with the predicted sign.
    pub fn new(statistic: impl Into<String>, predicted: Direction) -> Test {
        Test {
            statistic: statistic.into(),
            predicted,
        }
    }
}

/// The judgement of one claim from per-seed values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Judgement {
    /// supported / contradicted / inconclusive / not checked.
    pub verdict: Verdict,
    /// The pre-registered statistic (one value per seed), in words.
    pub statistic: String,
    /// The test, in words: paired t over seeds, two-sided, its level.
    pub test: String,
    /// The predicted sign.
    pub predicted: Direction,
    /// Mean of the per-seed values.
    pub effect: f64,
    /// Lower end of the two-sided [`LEVEL`] Student-t interval.
    pub ci_low: f64,
    /// Upper end of the interval.
    pub ci_high: f64,
    /// Two-sided p-value of "no effect".
    pub p_value: f64,
    /// Smallest true effect detected with probability [`POWER`] at level [`ALPHA`] by this
    /// design (its standard error and seed count).
    pub detectable_effect: f64,
    /// Seeds with a usable (finite) value.
    pub n_seeds: usize,
    /// Those seeds.
    pub seeds: Vec<u64>,
    /// The equivalence margin of a [`Direction::Equivalent`] test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin: Option<f64>,
}

/// Judge an equivalence claim, "the mean of the per-seed values lies within `± margin`",
/// with the same two-sided [`LEVEL`] Student-t interval as [`judge`] (stricter than the
/// usual two one-sided tests at level `ALPHA`, which use the `1 - 2 ALPHA` interval):
///
/// - `supported`: the interval lies inside `(-margin, margin)`;
/// - `contradicted`: the interval lies entirely outside `[-margin, margin]` (the two
///   differ by more than the margin);
/// - `inconclusive`: otherwise; `not checked` as for [`judge`], or when the margin is not
///   a finite number > 0.
///
/// ```
/// use nrnn::verdict::judge_equivalence;
/// use nrnn::report::index::Verdict;
/// let near: Vec<(u64, f64)> = (0..10).map(|s| (s, 0.01 * (s % 3) as f64 - 0.01)).collect();
/// assert_eq!(judge_equivalence("d", &near, 0.1).verdict, Verdict::Supported);
/// let far: Vec<(u64, f64)> = near.iter().map(|&(s, v)| (s, v + 1.0)).collect();
/// assert_eq!(judge_equivalence("d", &far, 0.1).verdict, Verdict::Contradicted);
/// assert_eq!(judge_equivalence("d", &far, 1.0).verdict, Verdict::Inconclusive);
/// ```
pub fn judge_equivalence(statistic: &str, per_seed: &[(u64, f64)], margin: f64) -> Judgement {
    let test = Test::new(statistic, Direction::Equivalent);
    let mut j = judge(&test, per_seed);
    j.margin = Some(margin);
    if j.verdict == Verdict::NotChecked {
        return j;
    }
    j.verdict = if !(margin.is_finite() && margin > 0.0) {
        Verdict::NotChecked
    } else if j.ci_low > -margin && j.ci_high < margin {
        Verdict::Supported
    } else if j.ci_low > margin || j.ci_high < -margin {
        Verdict::Contradicted
    } else {
        Verdict::Inconclusive
    };
    j
}

/// Judge `test` from `(seed, value)` pairs; non-finite values are left out (and the seed
/// with them).
///
/// ```
/// use nrnn::verdict::{judge, Direction, Test};
/// use nrnn::report::index::Verdict;
/// let t = Test::new("difference", Direction::Increase);
/// let up: Vec<(u64, f64)> = (0..10).map(|s| (s, 1.0 + 0.1 * (s % 3) as f64)).collect();
/// assert_eq!(judge(&t, &up).verdict, Verdict::Supported);
/// let down: Vec<(u64, f64)> = up.iter().map(|&(s, v)| (s, -v)).collect();
/// assert_eq!(judge(&t, &down).verdict, Verdict::Contradicted);
/// let none: Vec<(u64, f64)> = (0..10).map(|s| (s, if s % 2 == 0 { 1.0 } else { -1.0 })).collect();
/// assert_eq!(judge(&t, &none).verdict, Verdict::Inconclusive);
/// assert_eq!(judge(&t, &up[..1]).verdict, Verdict::NotChecked);
/// ```
pub fn judge(test: &Test, per_seed: &[(u64, f64)]) -> Judgement {
    let usable: Vec<(u64, f64)> = per_seed
        .iter()
        .copied()
        .filter(|(_, v)| v.is_finite())
        .collect();
    let values: Vec<f64> = usable.iter().map(|p| p.1).collect();
    let e = Estimate::of(&values);
    let h = e.half_width(LEVEL);
    let (lo, hi) = (e.mean - h, e.mean + h);
    let verdict = if e.n < MIN_SEEDS || !lo.is_finite() || !hi.is_finite() {
        Verdict::NotChecked
    } else if lo > 0.0 || hi < 0.0 {
        let sign = if lo > 0.0 { 1.0 } else { -1.0 };
        if sign == test.predicted.sign() {
            Verdict::Supported
        } else {
            Verdict::Contradicted
        }
    } else {
        Verdict::Inconclusive
    };
    Judgement {
        verdict,
        statistic: test.statistic.clone(),
        test: format!(
            "paired t over seeds (one value per seed), two-sided, {:.0}% Student-t interval",
            LEVEL * 100.0
        ),
        predicted: test.predicted,
        effect: e.mean,
        ci_low: lo,
        ci_high: hi,
        p_value: e.p_value(),
        detectable_effect: e.detectable_effect(ALPHA, POWER),
        n_seeds: e.n,
        seeds: usable.iter().map(|p| p.0).collect(),
        margin: None,
    }
}

impl Judgement {
    /// The same judgement marked `not checked` (a smoke run: the design is too small to
    /// mean anything), its numbers kept.
    pub fn not_checked(mut self) -> Judgement {
        self.verdict = Verdict::NotChecked;
        self
    }

    /// One sentence for the index: verdict, effect with interval, seeds, and for an
    /// inconclusive result the smallest detectable effect.
    ///
    /// ```
    /// use nrnn::verdict::{judge, Direction, Test};
    /// let j = judge(&Test::new("d", Direction::Increase), &[(0, 1.0), (1, 2.0), (2, 3.0)]);
    /// // mean 2, standard error 1/sqrt(3), t(0.975, 2) = 4.303: the interval holds 0
    /// assert!(j.sentence(|v| format!("{v:.2}")).starts_with("inconclusive: 2.00 [-0.48, 4.48]"));
    /// ```
    pub fn sentence(&self, fmt: impl Fn(f64) -> String) -> String {
        let mut s = format!(
            "{}: {} [{}, {}] ({:.0}% interval over {} seeds, p = {}; predicted {})",
            self.verdict,
            fmt(self.effect),
            fmt(self.ci_low),
            fmt(self.ci_high),
            LEVEL * 100.0,
            self.n_seeds,
            crate::report::plot::format_sig(self.p_value, 2),
            self.predicted.predicted_text(self.margin)
        );
        if self.verdict == Verdict::Inconclusive {
            s.push_str(&self.design_note(&fmt));
        }
        s
    }

    /// What an inconclusive design could have shown: the smallest effect it detects with
    /// [`POWER`], or for an equivalence test the interval's half-width against the margin.
    pub fn design_note(&self, fmt: impl Fn(f64) -> String) -> String {
        match (self.predicted, self.margin) {
            (Direction::Equivalent, Some(m)) => format!(
                "; the interval's half-width {} is {} the margin {}, so equivalence {} be shown by this design",
                fmt(0.5 * (self.ci_high - self.ci_low)),
                if 0.5 * (self.ci_high - self.ci_low) < m { "below" } else { "not below" },
                fmt(m),
                if 0.5 * (self.ci_high - self.ci_low) < m { "could" } else { "could not" },
            ),
            _ => format!(
                "; this design detects an effect of {} with {:.0}% power",
                fmt(self.detectable_effect.abs()),
                POWER * 100.0
            ),
        }
    }
}

/// The verdict of the same statistic on the disjoint replication seed set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Replication {
    /// Its verdict.
    pub verdict: Verdict,
    /// Mean effect.
    pub effect: f64,
    /// Interval, lower end.
    pub ci_low: f64,
    /// Interval, upper end.
    pub ci_high: f64,
    /// Seeds used.
    pub n_seeds: usize,
    /// The seeds.
    pub seeds: Vec<u64>,
    /// How it relates to the primary verdict, in words.
    pub agreement: String,
}

impl Replication {
    /// The replication record of the evidence `rep` (verdict `rep_verdict`) of the same
    /// statistic on the replication seeds, against the primary verdict `primary`.
    pub fn of(
        primary: Verdict,
        rep_verdict: Verdict,
        rep: &crate::report::index::Evidence,
    ) -> Replication {
        Replication {
            verdict: rep_verdict,
            effect: rep.effect,
            ci_low: rep.ci_low,
            ci_high: rep.ci_high,
            n_seeds: rep.n_seeds,
            seeds: rep.seeds.clone(),
            agreement: agreement(primary, rep_verdict),
        }
    }
}

/// How a replication's verdict relates to the primary one, in words: "replicated" when
/// they are the same, "conflict" when one is supported and the other contradicted (the
/// claim is then not settled), otherwise a sentence naming both.
///
/// ```
/// use nrnn::report::index::Verdict::*;
/// assert_eq!(nrnn::verdict::agreement(Supported, Supported), "replicated");
/// assert!(nrnn::verdict::agreement(Supported, Contradicted).starts_with("conflict"));
/// ```
pub fn agreement(primary: Verdict, rep: Verdict) -> String {
    use Verdict::*;
    match (primary, rep) {
        (a, b) if a == b => "replicated".into(),
        (Supported, Contradicted) | (Contradicted, Supported) => format!(
            "conflict: {primary} on the primary seeds but {rep} on the replication seeds; the claim is not settled"
        ),
        _ => format!(
            "not replicated: {primary} on the primary seeds, {rep} on the replication seeds; the claim is not settled"
        ),
    }
}

/// A measure reported beside the primary statistic (not deciding the verdict).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Secondary {
    /// The measure's judgement on its own.
    pub judgement: Judgement,
    /// Its p-value after Holm's adjustment over the figure's secondary measures.
    pub p_holm: f64,
}

/// Judge each secondary `(test, per-seed values)` and adjust their p-values by Holm over
/// the family.
pub fn secondary(items: &[(Test, Vec<(u64, f64)>)]) -> Vec<Secondary> {
    let js: Vec<Judgement> = items.iter().map(|(t, v)| judge(t, v)).collect();
    let p: Vec<f64> = js.iter().map(|j| j.p_value).collect();
    holm(&p)
        .into_iter()
        .zip(js)
        .map(|(p_holm, judgement)| Secondary { judgement, p_holm })
        .collect()
}

/// The secondary measures in one line: `name: effect [low, high], Holm p = ...` each.
pub fn secondary_text(sec: &[Secondary], names: &[&str], fmt: impl Fn(f64) -> String) -> String {
    sec.iter()
        .zip(names)
        .map(|(s, n)| {
            format!(
                "{n} {} [{}, {}] (Holm p = {})",
                fmt(s.judgement.effect),
                fmt(s.judgement.ci_low),
                fmt(s.judgement.ci_high),
                crate::report::plot::format_sig(s.p_holm, 2)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

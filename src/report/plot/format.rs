//! Number formatting: significant digits, value ± error, superscripts.

/// Format `v` with `sig` significant digits, compactly: trailing zeros dropped, scientific
/// notation below 1e-3 or from 1e5 in magnitude (`2.5e-4`), `NaN`, `inf`.
///
/// ```
/// use nrnn::report::plot::format_sig;
/// assert_eq!(format_sig(3.14159, 3), "3.14");
/// assert_eq!(format_sig(0.000251, 2), "2.5e-4");
/// assert_eq!(format_sig(1200.0, 3), "1200");
/// ```
pub fn format_sig(v: f64, sig: usize) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let sig = sig.max(1);
    let e = v.abs().log10().floor() as i32;
    if !(-3..5).contains(&e) {
        let s = format!("{:.*e}", sig - 1, v);
        // Rust prints e.g. "2.50e-4": trim zeros of the mantissa.
        match s.split_once('e') {
            Some((m, ex)) => format!("{}e{}", trim_zeros(m), ex),
            None => s,
        }
    } else {
        let decimals = (sig as i32 - 1 - e).max(0) as usize;
        let s = trim_zeros(&format!("{:.*}", decimals, v));
        if s == "-0" {
            "0".into()
        } else {
            s
        }
    }
}

pub(super) fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

/// `value ± error` with the error to two significant digits and the value to the same
/// decimal place, e.g. `4.013 ± 0.021`.
///
/// ```
/// assert_eq!(nrnn::report::plot::format_pm(4.01321, 0.0213), "4.013 ± 0.021");
/// ```
pub fn format_pm(value: f64, err: f64) -> String {
    if !value.is_finite() {
        return format_sig(value, 3);
    }
    if !err.is_finite() || err <= 0.0 {
        let e = if err.is_nan() {
            "?".to_string()
        } else {
            format_sig(err, 2)
        };
        return format!("{} ± {}", format_sig(value, 4), e);
    }
    let decimals = (1 - err.log10().floor() as i32).clamp(0, 12) as usize;
    let dv = if err < 1e-12 { 3 } else { decimals };
    let de = if err < 1e-12 { 0 } else { decimals };
    if err < 1e-12 {
        return format!("{:.*} ± {}", dv, value, format_sig(err, 1));
    }
    format!("{:.*} ± {:.*}", dv, value, de, err)
}

pub(super) fn superscript(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '-' => '⁻',
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            '9' => '⁹',
            c => c,
        })
        .collect()
}

//! Matrix norms for the stability conditions: the spectral norm and the largest
//! eigenvalue of the symmetric part, refusing input the decompositions cannot handle.

use nalgebra::DMatrix;

/// Refuse a matrix the iterative decompositions cannot handle: a NaN or infinite entry, or
/// entries so large that the Frobenius norm overflows (nalgebra's SVD and symmetric
/// eigensolver iterate without end on such input). The error names the first bad entry.
fn check_decomposable(m: &DMatrix<f64>) -> crate::Result<()> {
    if let Some(k) = m.iter().position(|x| !x.is_finite()) {
        let (i, j) = (k % m.nrows(), k / m.nrows());
        return Err(crate::Error::NonFinite {
            what: format!(
                "a {}x{} matrix: entry ({i}, {j}) is {}",
                m.nrows(),
                m.ncols(),
                m[(i, j)]
            ),
        });
    }
    if !m.norm().is_finite() {
        return Err(crate::Error::NonFinite {
            what: format!(
                "the norm of a {}x{} matrix: its entries (largest {:e}) overflow",
                m.nrows(),
                m.ncols(),
                m.amax()
            ),
        });
    }
    Ok(())
}

/// Largest singular value ||M||_2 (spectral norm), by the symmetric eigenvalues of M^T M.
/// A matrix with a non-finite entry (or one whose norm overflows) is refused with
/// [`crate::Error::NonFinite`] instead of being handed to the SVD, which would not return.
///
/// ```
/// let m = nalgebra::DMatrix::from_row_slice(2, 2, &[3.0, 0.0, 0.0, -4.0]);
/// assert!((nrnn::linalg::spectral_norm(&m).unwrap() - 4.0).abs() < 1e-12);
/// let bad = nalgebra::DMatrix::from_row_slice(1, 2, &[1.0, f64::NAN]);
/// assert!(nrnn::linalg::spectral_norm(&bad).is_err());
/// ```
pub fn spectral_norm(m: &DMatrix<f64>) -> crate::Result<f64> {
    if m.is_empty() {
        return Ok(0.0);
    }
    check_decomposable(m)?;
    Ok(m.clone().svd(false, false).singular_values.max())
}

/// Largest eigenvalue of the symmetric part (M + M^T)/2. Like [`spectral_norm`], refuses a
/// matrix with a non-finite entry (or an overflowing norm) instead of iterating forever.
///
/// ```
/// let m = nalgebra::DMatrix::from_row_slice(2, 2, &[1.0, 5.0, -5.0, -2.0]);
/// assert!((nrnn::linalg::lambda_max_sym(&m).unwrap() - 1.0).abs() < 1e-12);
/// ```
pub fn lambda_max_sym(m: &DMatrix<f64>) -> crate::Result<f64> {
    let s = (m + m.transpose()) * 0.5;
    check_decomposable(&s)?;
    Ok(s.symmetric_eigenvalues().max())
}

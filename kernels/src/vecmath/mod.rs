//! Element-wise f32 math: `exp` and `tanh` (PaliGemma's softmax, tanh GELU and soft-caps), and
//! the loops that apply them to slices on the widest vector unit the CPU has.

mod exp;
mod slices;

pub use exp::{exp, tanh};
pub use slices::{map_into, softmax_row};

#[cfg(test)]
mod tests {
    /// Relative error against the f64 result, in units of f32 epsilon.
    pub(crate) fn rel_err_eps(got: f32, exact: f64) -> f64 {
        ((f64::from(got) - exact) / exact.abs().max(f64::MIN_POSITIVE)).abs()
            / f64::from(f32::EPSILON)
    }
}

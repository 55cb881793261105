//! Element-wise f32 math: `exp` and `tanh` (PaliGemma's softmax, tanh GELU and soft-caps), the
//! erf GELU (the RadGraph encoder), and the loops that apply them to slices on the widest
//! vector unit the CPU has.

mod erf_table;
mod exp;
mod gelu;
mod slices;

pub use exp::{exp, tanh};
#[cfg(target_arch = "x86_64")]
pub(crate) use gelu::gelu_lanes;
pub use gelu::{erf, gelu, gelu_in_place};
pub use slices::{map_into, softmax_row};

#[cfg(test)]
mod tests {
    /// Relative error against the f64 result, in units of f32 epsilon.
    pub(crate) fn rel_err_eps(got: f32, exact: f64) -> f64 {
        ((f64::from(got) - exact) / exact.abs().max(f64::MIN_POSITIVE)).abs()
            / f64::from(f32::EPSILON)
    }
}

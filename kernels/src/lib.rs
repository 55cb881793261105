//! raddraft-kernels: the workspace's hand-vectorised CPU kernels, each chosen at run time for the
//! CPU it runs on (Intel Xeons with AMX, AMD EPYCs with AVX-512 but no AMX, AVX2-only machines).
//!
//! * [`cpu`]: what the CPU (and Linux) offer, detected once; every kernel dispatches on it.
//! * [`multiversion!`]: a function body compiled once per instruction-set level and once
//!   portably, the best level run, for loops the compiler vectorises by itself.
//! * [`weights`]: weight matrices in f32, bf16 or int8 (with int8 quantisation).
//! * [`dpbf16`]: bf16 products with f32 accumulation on AVX-512 BF16 (`vdpbf16ps`).
//! * [`attention`]: a prefill's attention with those bf16 products, a block of queries at a time.
//! * [`matmul`]: `x·Wᵀ` for a weight in any of those formats, the models' linear layers.
//! * [`gemv`]: the parallel matrix-vector product of a decoding step, which `matmul` calls.
//! * [`vecmath`]: `exp`, `tanh` and the erf GELU, and loops over slices that apply them.
//! * [`amx`]: f32-accurate matrix products on Intel AMX tiles (split bf16).
//!
//! Slices in, slices out: the crate knows nothing of tensors, so that any caller (candle ops, the
//! RadGraph encoder's plain buffers) can use it.

pub mod amx;
pub mod attention;
pub mod cpu;
pub mod dpbf16;
mod error;
pub mod gemv;
pub mod matmul;
mod multiversion;
pub mod vecmath;
pub mod weights;

pub use error::Error;

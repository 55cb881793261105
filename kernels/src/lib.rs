//! raddraft-kernels: the workspace's hand-vectorised CPU kernels, each chosen at run time for the
//! CPU it runs on (Intel Xeons with AMX, AMD EPYCs with AVX-512 but no AMX, AVX2-only machines).
//!
//! * [`cpu`]: what the CPU (and Linux) offer, detected once; every kernel dispatches on it.
//! * [`multiversion!`]: a function body compiled once per instruction-set level and once
//!   portably, the best level run, for loops the compiler vectorises by itself.
//!
//! Slices in, slices out: the crate knows nothing of tensors, so that any caller (candle ops, the
//! RadGraph encoder's plain buffers) can use it.

pub mod cpu;
mod multiversion;

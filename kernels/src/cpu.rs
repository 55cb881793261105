//! What this CPU and kernel offer, detected once per process; every kernel of the crate picks its
//! code from [`features`].
//!
//! The same binary runs on Intel Xeons with AMX, AMD EPYCs with AVX-512 (BF16, VNNI) but no AMX,
//! and AVX2-only machines, so nothing is fixed at compile time. std's checks cover the OS side
//! (the vector registers saved on context switches); AMX tiles also need the process to ask Linux
//! for their state.

use std::sync::OnceLock;

/// The instruction-set extensions the kernels use, and whether AMX tiles are usable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Features {
    pub avx2: bool,
    pub fma: bool,
    pub avx512f: bool,
    pub avx512bw: bool,
    /// AVX-512 BF16 runs the [`dpbf16`](crate::dpbf16) products; VNNI is reported for
    /// benchmarks and logs.
    pub avx512bf16: bool,
    pub avx512vnni: bool,
    /// AMX-BF16 products can run in this process: the CPU has AMX-TILE and AMX-BF16 (and the
    /// AVX-512 F and BW that the AMX kernels' splits and epilogues use), Linux granted the tile
    /// state, and `RADDRAFT_NO_AMX` is unset, empty or `0`.
    pub amx: bool,
}

/// The widest vector unit an f32 kernel runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    Scalar,
    /// AVX2 with FMA: 8 lanes.
    Avx2Fma,
    /// AVX-512F: 16 lanes.
    Avx512,
}

impl Features {
    /// The widest f32 vector unit: AVX-512F, else AVX2 with FMA, else scalar.
    pub fn isa(&self) -> Isa {
        if self.avx512f {
            Isa::Avx512
        } else if self.avx2 && self.fma {
            Isa::Avx2Fma
        } else {
            Isa::Scalar
        }
    }

    /// Whether kernels compiled for `isa` can run here.
    pub fn has(&self, isa: Isa) -> bool {
        match isa {
            Isa::Scalar => true,
            Isa::Avx2Fma => self.avx2 && self.fma,
            Isa::Avx512 => self.avx512f,
        }
    }
}

/// This process's features, detected on the first call.
pub fn features() -> &'static Features {
    static FEATURES: OnceLock<Features> = OnceLock::new();
    FEATURES.get_or_init(detect)
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Features {
    let mut features = Features {
        avx2: std::arch::is_x86_feature_detected!("avx2"),
        fma: std::arch::is_x86_feature_detected!("fma"),
        avx512f: std::arch::is_x86_feature_detected!("avx512f"),
        avx512bw: std::arch::is_x86_feature_detected!("avx512bw"),
        avx512bf16: std::arch::is_x86_feature_detected!("avx512bf16"),
        avx512vnni: std::arch::is_x86_feature_detected!("avx512vnni"),
        amx: false,
    };
    // The override is read first so that a process told not to use AMX never asks Linux for it.
    features.amx = amx_wanted() && features.avx512f && features.avx512bw && amx_granted();
    features
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Features {
    Features::default()
}

/// False where `RADDRAFT_NO_AMX` is set to anything but the empty string or `0`.
#[cfg(target_arch = "x86_64")]
fn amx_wanted() -> bool {
    std::env::var("RADDRAFT_NO_AMX").map_or(true, |v| v.is_empty() || v == "0")
}

/// The CPU has AMX-TILE and AMX-BF16, and Linux lets this process use the tile data.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn amx_granted() -> bool {
    const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
    const XFEATURE_XTILEDATA: libc::c_long = 18;
    // SAFETY: CPUID leaf 7 exists on every x86-64 CPU this code can run on (the call is safe
    // from Rust 1.94; `unsafe` for the crate's minimum version).
    #[allow(unused_unsafe)]
    let leaf7 = unsafe { std::arch::x86_64::__cpuid_count(7, 0) };
    let amx_bf16 = leaf7.edx & (1 << 22) != 0;
    let amx_tile = leaf7.edx & (1 << 24) != 0;
    // The kernel keeps tile data out of threads until the process asks for it.
    // SAFETY: arch_prctl(ARCH_REQ_XCOMP_PERM) only changes this process's permitted state.
    amx_bf16
        && amx_tile
        && unsafe {
            libc::syscall(
                libc::SYS_arch_prctl,
                ARCH_REQ_XCOMP_PERM,
                XFEATURE_XTILEDATA,
            )
        } == 0
}

#[cfg(all(target_arch = "x86_64", not(target_os = "linux")))]
fn amx_granted() -> bool {
    false
}

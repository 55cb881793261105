//! [`multiversion!`](crate::multiversion): a function whose body is compiled for several
//! instruction-set levels, the best one the CPU has ([`cpu::features`](crate::cpu::features))
//! run on each call.
//!
//! For loops that the compiler vectorises by itself (byte shuffles, widening multiplies, inlined
//! `exp`): baseline x86-64 (SSE2) lacks the instructions, so the same source compiled with AVX2
//! or AVX-512 enabled runs several times faster. The body is one `#[inline(always)]` function;
//! each level is a `#[target_feature]` copy that calls it, so the code of every level is the
//! same source with the same operations in the same order (Rust never fuses a multiply and an
//! add on its own, so results do not depend on the level).

/// Defines `fn $name` whose body runs compiled for the first listed level the CPU has, else
/// compiled portably:
///
/// ```
/// raddraft_kernels::multiversion! {
///     [avx512, avx2_fma]
///     /// Doubles every value.
///     fn double(values: &mut [f32]) {
///         for v in values {
///             *v *= 2.0;
///         }
///     }
/// }
/// let mut values = [1.0, 2.0];
/// double(&mut values);
/// assert_eq!(values, [2.0, 4.0]);
/// ```
///
/// Levels: `avx512` (AVX-512F), `avx512bw` (AVX-512 F and BW), `avx2_fma` (AVX2 and FMA),
/// `avx2` (AVX2). Arguments are plain `name: Type` pairs; the body may call `#[inline(always)]`
/// functions (and methods) to have them compiled for each level too.
#[macro_export]
macro_rules! multiversion {
    (
        [$($level:ident),+ $(,)?]
        $(#[$attr:meta])*
        $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
    ) => {
        $(#[$attr])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn portable($($arg: $ty),*) $(-> $ret)? $body

            $crate::__multiversion_levels!(($($arg: $ty),*) $(-> $ret)?; $($level),+);
            portable($($arg),*)
        }
    };
}

/// One `if the CPU has it, return the level's copy` per level, in the order given.
#[doc(hidden)]
#[macro_export]
macro_rules! __multiversion_levels {
    (($($arg:ident: $ty:ty),*) $(-> $ret:ty)?; $level:ident $(, $rest:ident)*) => {
        $crate::__multiversion_level!($level ($($arg: $ty),*) $(-> $ret)?);
        $crate::__multiversion_levels!(($($arg: $ty),*) $(-> $ret)?; $($rest),*);
    };
    (($($arg:ident: $ty:ty),*) $(-> $ret:ty)?;) => {};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __multiversion_level {
    (avx512 $($signature:tt)*) => {
        $crate::__multiversion_copy!("avx512f", |f| f.avx512f, $($signature)*);
    };
    (avx512bw $($signature:tt)*) => {
        $crate::__multiversion_copy!("avx512f,avx512bw", |f| f.avx512f && f.avx512bw, $($signature)*);
    };
    (avx2_fma $($signature:tt)*) => {
        $crate::__multiversion_copy!("avx2,fma", |f| f.avx2 && f.fma, $($signature)*);
    };
    (avx2 $($signature:tt)*) => {
        $crate::__multiversion_copy!("avx2", |f| f.avx2, $($signature)*);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __multiversion_copy {
    ($features:tt, |$f:ident| $available:expr, ($($arg:ident: $ty:ty),*) $(-> $ret:ty)?) => {
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = $features)]
            unsafe fn level($($arg: $ty),*) $(-> $ret)? {
                portable($($arg),*)
            }
            let $f = $crate::cpu::features();
            if $available {
                // SAFETY: the CPU has the level's features (run-time detection in `cpu`).
                return unsafe { level($($arg),*) };
            }
        }
    };
}

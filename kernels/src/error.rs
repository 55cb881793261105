//! The error type of the crate's entry points.

/// Why a kernel could not run: the CPU lacks what it needs, or operands do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(
        "AMX products need Intel AMX-BF16, which this CPU or kernel does not offer \
         (or RADDRAFT_NO_AMX is set)"
    )]
    AmxUnavailable,
    #[error("bf16 products need AVX-512 BF16, which this CPU does not offer")]
    Bf16Unavailable,
    /// An operand's length or dimension differs from what the other operands imply.
    #[error("{operand} is {got}, the product needs {needed}")]
    Size {
        operand: &'static str,
        needed: usize,
        got: usize,
    },
    /// An operand holds fewer values than the product reads or writes.
    #[error("{operand} holds {got} values, the product needs at least {needed}")]
    TooShort {
        operand: &'static str,
        needed: usize,
        got: usize,
    },
    /// The sizes multiply past `usize`.
    #[error("{operand}: {rows} × {columns} values do not fit in memory")]
    TooLarge {
        operand: &'static str,
        rows: usize,
        columns: usize,
    },
}

/// `rows × columns`, or [`Error::TooLarge`].
pub(crate) fn elements(operand: &'static str, rows: usize, columns: usize) -> Result<usize, Error> {
    rows.checked_mul(columns).ok_or(Error::TooLarge {
        operand,
        rows,
        columns,
    })
}

/// `Ok` where `got` is `needed`.
pub(crate) fn exactly(operand: &'static str, needed: usize, got: usize) -> Result<(), Error> {
    if got == needed {
        Ok(())
    } else {
        Err(Error::Size {
            operand,
            needed,
            got,
        })
    }
}

/// `Ok` where `got` is at least `needed`.
pub(crate) fn at_least(operand: &'static str, needed: usize, got: usize) -> Result<(), Error> {
    if got >= needed {
        Ok(())
    } else {
        Err(Error::TooShort {
            operand,
            needed,
            got,
        })
    }
}

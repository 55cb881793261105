//! Model handling, for the CLI and the desktop shell alike: which checkpoint a user means (a
//! directory or a registered name), loading it, registering it (validation and the SHA-256 of
//! every file), checking it has not changed, and the optional Hugging Face Hub pull.
//!
//! The registry's rows are the study store's `models` table ([`crate::store`] owns every SQL
//! statement); this module is the only code that decides what goes into them.

pub mod files;
pub mod hub;
pub mod registration;
mod resolve;

pub use files::{compare, dir_size, hash_dir, FileChange, FileHashes, RegistryError};
pub use registration::{prepare_model, register_model, ModelRegistrationError, ModelSummary};
pub use resolve::{
    as_directory, load_checkpoint, resolve_model, ModelChoiceError, ModelLoadError, ResolvedModel,
};

//! raddraft core: everything a headless user needs, without any GUI dependency.
//!
//! The `raddraft` command-line tool (`cli/`) is a thin layer over this crate; the desktop shell
//! calls the same functions.

pub mod drafting;
pub mod export;
pub mod import;
pub mod model_registry;
pub mod report_workflow;
pub mod research;
pub mod store;

//! raddraft core: everything a headless user needs, without any GUI dependency.
//!
//! The `raddraft` command-line tool (`src/bin/raddraft`) is a thin layer over this crate and over
//! `raddraft-models`; the desktop shell calls the same functions.

pub mod drafting;
pub mod export;
pub mod hub;
pub mod import;
pub mod model_registration;
pub mod radgraph_compare;
pub mod registry;
pub mod report_document;
pub mod reporting;
pub mod research;
pub mod store;

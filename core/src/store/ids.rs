//! Typed row ids, so a draft id cannot be passed where a report version id is expected.

use serde::Serialize;

macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, sqlx::Type)]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

row_id!(
    /// A row of `studies`.
    StudyId
);
row_id!(
    /// A row of `images`.
    ImageId
);
row_id!(
    /// A row of `models`.
    ModelId
);
row_id!(
    /// A row of `drafts`.
    DraftId
);
row_id!(
    /// A row of `report_versions`.
    VersionId
);
row_id!(
    /// A row of `signoffs`.
    SignOffId
);
row_id!(
    /// A row of `addenda`.
    AddendumId
);

//! Serde adapters that write times as RFC 3339 and dates as `YYYY-MM-DD` text.

use std::fmt::Display;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, SecondsFormat};
use serde::{de::Error, Deserialize, Deserializer, Serializer};

/// `DateTime<FixedOffset>` as RFC 3339, keeping its offset.
pub(super) mod rfc3339 {
    use super::*;

    pub fn serialize<S: Serializer>(
        value: &DateTime<FixedOffset>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&value.to_rfc3339_opts(SecondsFormat::AutoSi, false))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<FixedOffset>, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text).map_err(|error| {
            D::Error::custom(format!(
                "'{text}' is not an RFC 3339 time such as 2026-11-20T10:31:00+01:00: {error}"
            ))
        })
    }
}

/// `Option<DateTime<FixedOffset>>` as RFC 3339 or null.
pub(super) mod rfc3339_option {
    use super::*;

    pub fn serialize<S: Serializer>(
        value: &Option<DateTime<FixedOffset>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => rfc3339::serialize(value, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<FixedOffset>>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| {
                DateTime::parse_from_rfc3339(&text).map_err(|error| {
                    D::Error::custom(format!("'{text}' is not an RFC 3339 time: {error}"))
                })
            })
            .transpose()
    }
}

/// Any `Option<T>` through its `Display` and `FromStr` (chrono's `NaiveDate` is `YYYY-MM-DD`,
/// `NaiveTime` is `HH:MM:SS[.fff]`).
pub(super) mod display_option {
    use super::*;

    pub fn serialize<T: Display, S: Serializer>(
        value: &Option<T>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => serializer.collect_str(value),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, T, D>(deserializer: D) -> Result<Option<T>, D::Error>
    where
        T: FromStr,
        T::Err: Display,
        D: Deserializer<'de>,
    {
        Option::<String>::deserialize(deserializer)?
            .map(|text| {
                text.parse()
                    .map_err(|error| D::Error::custom(format!("'{text}': {error}")))
            })
            .transpose()
    }
}

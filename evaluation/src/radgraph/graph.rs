//! The per-report annotation in radgraph's JSON format (`utils.postprocess_reports` / `get_entity`):
//! `{"text", "entities": {"1": {tokens, label, start_ix, end_ix, relations}, …}, "data_source": null,
//! "data_split": "inference"}`; entity keys are `"1".."N"` in span order and serialise in that order.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// One entity (a labelled span) and its outgoing relations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entity {
    /// The span's words joined by single spaces, in the report's original case.
    pub tokens: String,
    pub label: String,
    /// First and last word index (inclusive).
    pub start_ix: usize,
    pub end_ix: usize,
    /// `[relation label, object entity key]`, e.g. `["located_at", "2"]`.
    pub relations: Vec<(String, String)>,
}

/// One report's graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Graph {
    /// The words joined by single spaces.
    pub text: String,
    #[serde(
        serialize_with = "serialize_entities",
        deserialize_with = "deserialize_entities"
    )]
    pub entities: Vec<Entity>,
    pub data_source: Option<String>,
    pub data_split: String,
}

impl Graph {
    /// A graph without entities (the package's `data_source`/`data_split` values).
    pub fn empty(text: String) -> Self {
        Graph {
            text,
            entities: Vec::new(),
            data_source: None,
            data_split: "inference".into(),
        }
    }

    /// The entity a relation's object key (`"1".."N"`) refers to.
    pub fn entity(&self, key: &str) -> Option<&Entity> {
        let index: usize = key.parse().ok()?;
        self.entities.get(index.checked_sub(1)?)
    }

    /// Number of relations kept in the JSON.
    pub fn relation_count(&self) -> usize {
        self.entities.iter().map(|e| e.relations.len()).sum()
    }
}

fn serialize_entities<S: Serializer>(
    entities: &[Entity],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(entities.len()))?;
    for (i, entity) in entities.iter().enumerate() {
        map.serialize_entry(&(i + 1).to_string(), entity)?;
    }
    map.end()
}

fn deserialize_entities<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Entity>, D::Error> {
    struct EntitiesVisitor;
    impl<'de> Visitor<'de> for EntitiesVisitor {
        type Value = Vec<Entity>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map of entities keyed \"1\"..\"N\"")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Vec<Entity>, A::Error> {
            let mut keyed: Vec<(usize, Entity)> = Vec::new();
            while let Some((key, entity)) = access.next_entry::<String, Entity>()? {
                let index = key.parse::<usize>().map_err(|_| {
                    serde::de::Error::custom(format!("entity key {key:?} is not a number"))
                })?;
                keyed.push((index, entity));
            }
            keyed.sort_by_key(|(k, _)| *k);
            for (position, (key, _)) in keyed.iter().enumerate() {
                if *key != position + 1 {
                    return Err(serde::de::Error::custom("entity keys must be \"1\"..\"N\""));
                }
            }
            Ok(keyed.into_iter().map(|(_, e)| e).collect())
        }
    }
    deserializer.deserialize_map(EntitiesVisitor)
}

//! A draft's RadGraph against a reference report's: every F1 variant, and which entities
//! (`tokens` with their label) the draft matched, missed and added.

use std::collections::BTreeSet;

use serde::Serialize;

use super::{delbrouck, yu, CaseMode};
use crate::radgraph::Graph;

/// Scores and entity lists of one hypothesis/reference pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RadGraphComparison {
    pub rg_e: f64,
    pub rg_er: f64,
    pub rg_er_bar: f64,
    pub radgraph_f1: f64,
    /// Entities in both, as `tokens (label)`.
    pub matched: Vec<String>,
    /// Reference entities the hypothesis lacks.
    pub missed: Vec<String>,
    /// Hypothesis entities the reference lacks.
    pub extra: Vec<String>,
}

/// Compares two annotated reports; `None` stands for an empty report (scores 0).
pub fn compare_graphs(hypothesis: Option<&Graph>, reference: Option<&Graph>) -> RadGraphComparison {
    let delbrouck = delbrouck(hypothesis, reference, CaseMode::Package0118);
    let yu = yu(hypothesis, reference);
    let hyp = entity_set(hypothesis);
    let refs = entity_set(reference);
    RadGraphComparison {
        rg_e: delbrouck.rg_e,
        rg_er: delbrouck.rg_er,
        rg_er_bar: delbrouck.rg_er_bar,
        radgraph_f1: yu.radgraph_f1,
        matched: hyp.intersection(&refs).cloned().collect(),
        missed: refs.difference(&hyp).cloned().collect(),
        extra: hyp.difference(&refs).cloned().collect(),
    }
}

fn entity_set(graph: Option<&Graph>) -> BTreeSet<String> {
    graph
        .map(|g| {
            g.entities
                .iter()
                .map(|e| format!("{} ({})", e.tokens, e.label))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::radgraph::Entity;

    fn graph(entities: &[(&str, &str)]) -> Graph {
        let mut g = Graph::empty("text".into());
        g.entities = entities
            .iter()
            .enumerate()
            .map(|(i, (tokens, label))| Entity {
                tokens: tokens.to_string(),
                label: label.to_string(),
                start_ix: i,
                end_ix: i,
                relations: Vec::new(),
            })
            .collect();
        g
    }

    #[test]
    fn lists_matched_missed_and_extra_entities() {
        let hyp = graph(&[("lungs", "ANAT-DP"), ("effusion", "OBS-DP")]);
        let reference = graph(&[("lungs", "ANAT-DP"), ("pneumothorax", "OBS-DA")]);
        let c = compare_graphs(Some(&hyp), Some(&reference));
        assert_eq!(c.matched, vec!["lungs (ANAT-DP)"]);
        assert_eq!(c.missed, vec!["pneumothorax (OBS-DA)"]);
        assert_eq!(c.extra, vec!["effusion (OBS-DP)"]);
        // One of two entities shared on each side: precision = recall = 1/2.
        assert!((c.rg_e - 0.5).abs() < 1e-12, "rg_e {}", c.rg_e);
    }

    #[test]
    fn an_empty_report_scores_zero() {
        let reference = graph(&[("lungs", "ANAT-DP")]);
        let c = compare_graphs(None, Some(&reference));
        assert_eq!((c.rg_e, c.radgraph_f1), (0.0, 0.0));
        assert_eq!(c.missed, vec!["lungs (ANAT-DP)"]);
    }
}

//! RadGraph F1 variants, each named for what it computes.
//!
//! * `rg_e`, `rg_er`, `rg_er_bar`: Delbrouck et al. 2022, as `radgraph.rewards` 0.1.18
//!   (`simple`, `partial`, `complete`). 0.1.18 compares entity tokens case-sensitively except in
//!   `complete`'s relation tuples; [`CaseMode::Lowercase`] reproduces upstream master after PR #15
//!   (commit 87f11a1, unreleased), which lower-cases entity tokens everywhere.
//! * `radgraph_f1`: Yu et al. 2023 (CXR-Report-Metric `radgraph_combined`, used by RadCliQ and
//!   ReXrank): the mean of entity F1 over `{(tokens, label)}` and relation F1 over
//!   `{((tokens, label), (object tokens, object label), relation)}`. Differences from the above: no
//!   "zero entities ⇒ 0" shortcut (empty sets give 0 anyway), every entity counts even with
//!   relations, relation tuples carry both labels, case is never folded, an empty report has empty
//!   sets (no `"None"` substitution), and a pair without any relation scores at most 0.5. Yu et al.
//!   use the v1 model; with another model the number is labelled by its model type.
//!
//! Empty inputs follow `F1RadGraph.forward`: a pair whose hypothesis or reference string is empty
//! scores 0 on all three Delbrouck variants, so does a pair where either graph has no entity (two
//! empty graphs score 0, not 1), and means include those zeros.
//!
//! [`compare`] scores one pair on every variant and lists the entities matched, missed and added.

pub mod compare;

use std::collections::HashSet;

use crate::radgraph::Graph;

/// Case handling of the Delbrouck variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaseMode {
    /// radgraph 0.1.18 (PyPI; what published numbers and RadEval use).
    #[default]
    Package0118,
    /// Upstream master after PR #15: entity tokens lower-cased everywhere.
    Lowercase,
}

/// The three Delbrouck et al. scores of one pair.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DelbrouckScores {
    /// `simple`: entities `(tokens, label)`.
    pub rg_e: f64,
    /// `partial`: entities, marked when they have a relation.
    pub rg_er: f64,
    /// `complete`: relation-less entities and `(tokens, label, relation, object tokens)` tuples.
    pub rg_er_bar: f64,
}

/// Yu et al. scores of one pair.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct YuScores {
    pub entity_f1: f64,
    pub relation_f1: f64,
    /// `(entity_f1 + relation_f1) / 2`.
    pub radgraph_f1: f64,
}

/// `F1RadGraph(reward_level="all")` for one pair. `None` stands for an empty input string, which
/// the package never annotates.
pub fn delbrouck(
    hypothesis: Option<&Graph>,
    reference: Option<&Graph>,
    case: CaseMode,
) -> DelbrouckScores {
    let (Some(hyp), Some(reference)) = (hypothesis, reference) else {
        return DelbrouckScores::default();
    };
    if hyp.entities.is_empty() || reference.entities.is_empty() {
        return DelbrouckScores::default();
    }
    DelbrouckScores {
        rg_e: f1(
            &candidates(hyp, Level::Simple, case),
            &candidates(reference, Level::Simple, case),
        ),
        rg_er: f1(
            &candidates(hyp, Level::Partial, case),
            &candidates(reference, Level::Partial, case),
        ),
        rg_er_bar: f1(
            &candidates(hyp, Level::Complete, case),
            &candidates(reference, Level::Complete, case),
        ),
    }
}

/// CXR-Report-Metric's entity/relation F1 and their mean for one pair (`None` = empty report).
pub fn yu(hypothesis: Option<&Graph>, reference: Option<&Graph>) -> YuScores {
    let (hyp_entities, hyp_relations) = yu_sets(hypothesis);
    let (ref_entities, ref_relations) = yu_sets(reference);
    let entity_f1 = compute_f1(&ref_entities, &hyp_entities);
    let relation_f1 = compute_f1(&ref_relations, &hyp_relations);
    YuScores {
        entity_f1,
        relation_f1,
        radgraph_f1: (entity_f1 + relation_f1) / 2.0,
    }
}

#[derive(Clone, Copy)]
enum Level {
    Simple,
    Partial,
    Complete,
}

/// The tuples `rewards.py` puts in its sets; tuples of different arity never compare equal.
#[derive(Debug, Hash, PartialEq, Eq)]
enum Candidate {
    /// `(tokens, label)`
    Entity(String, String),
    /// `(tokens, label, True)`
    EntityWithRelation(String, String),
    /// `(tokens, label, relation, object tokens)`
    Relation(String, String, String, String),
}

fn candidates(graph: &Graph, level: Level, case: CaseMode) -> HashSet<Candidate> {
    let fold = |s: &str| match case {
        CaseMode::Package0118 => s.to_owned(),
        CaseMode::Lowercase => python_lower(s),
    };
    let mut set = HashSet::new();
    for entity in &graph.entities {
        let label = entity.label.clone();
        match level {
            Level::Simple => {
                set.insert(Candidate::Entity(fold(&entity.tokens), label));
            }
            Level::Partial => {
                if entity.relations.is_empty() {
                    set.insert(Candidate::Entity(fold(&entity.tokens), label));
                } else {
                    set.insert(Candidate::EntityWithRelation(fold(&entity.tokens), label));
                }
            }
            Level::Complete => {
                if entity.relations.is_empty() {
                    set.insert(Candidate::Entity(fold(&entity.tokens), label.clone()));
                }
                for (relation, object) in &entity.relations {
                    // 0.1.18 lower-cases these tuples already; master does too.
                    let object_tokens = graph
                        .entity(object)
                        .map(|o| python_lower(&o.tokens))
                        .unwrap_or_default();
                    set.insert(Candidate::Relation(
                        python_lower(&entity.tokens),
                        label.clone(),
                        relation.clone(),
                        object_tokens,
                    ));
                }
            }
        }
    }
    set
}

/// `rewards.py`: P = |H∩R|/|H|, R = |H∩R|/|R| (0 for an empty set), F1 = 2PR/(P+R) (0 if P+R = 0).
fn f1(hypothesis: &HashSet<Candidate>, reference: &HashSet<Candidate>) -> f64 {
    let precision = if hypothesis.is_empty() {
        0.0
    } else {
        hypothesis.iter().filter(|x| reference.contains(x)).count() as f64 / hypothesis.len() as f64
    };
    let recall = if reference.is_empty() {
        0.0
    } else {
        reference.iter().filter(|x| hypothesis.contains(x)).count() as f64 / reference.len() as f64
    };
    if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    }
}

type YuEntity = (String, String);
type YuRelation = (YuEntity, YuEntity, String);

fn yu_sets(graph: Option<&Graph>) -> (HashSet<YuEntity>, HashSet<YuRelation>) {
    let mut entities = HashSet::new();
    let mut relations = HashSet::new();
    let Some(graph) = graph else {
        return (entities, relations);
    };
    for entity in &graph.entities {
        entities.insert((entity.tokens.clone(), entity.label.clone()));
        for (relation, object) in &entity.relations {
            if let Some(o) = graph.entity(object) {
                relations.insert((
                    (entity.tokens.clone(), entity.label.clone()),
                    (o.tokens.clone(), o.label.clone()),
                    relation.clone(),
                ));
            }
        }
    }
    (entities, relations)
}

/// CXR-Report-Metric `compute_f1(test, retrieved)`.
fn compute_f1<T: std::hash::Hash + Eq>(test: &HashSet<T>, retrieved: &HashSet<T>) -> f64 {
    let true_positives = test.intersection(retrieved).count();
    let false_positives = retrieved.len() - true_positives;
    let false_negatives = test.len() - true_positives;
    let precision = if true_positives + false_positives != 0 {
        true_positives as f64 / (true_positives + false_positives) as f64
    } else {
        0.0
    };
    let recall = if true_positives + false_negatives != 0 {
        true_positives as f64 / (true_positives + false_negatives) as f64
    } else {
        0.0
    };
    if precision + recall != 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    }
}

/// Python `str.lower()`: full Unicode lower-casing with the final-sigma rule, which Rust's
/// `str::to_lowercase` also implements.
pub fn python_lower(s: &str) -> String {
    s.to_lowercase()
}

/// Arithmetic mean (0 for no values), as `np.mean` of the per-pair list.
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.iter().sum::<f64>() / values.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::radgraph::Entity;

    fn entity(tokens: &str, label: &str, relations: &[(&str, &str)]) -> Entity {
        Entity {
            tokens: tokens.into(),
            label: label.into(),
            start_ix: 0,
            end_ix: 0,
            relations: relations
                .iter()
                .map(|(r, o)| (r.to_string(), o.to_string()))
                .collect(),
        }
    }

    fn graph(entities: Vec<Entity>) -> Graph {
        Graph {
            entities,
            ..Graph::empty(String::new())
        }
    }

    /// The hand-made worked example of the reference notes (§4.3): 0.1.18 → 4/7, 4/7, 6/7;
    /// master → 6/7 for all three.
    #[test]
    fn case_sensitivity_worked_example() {
        let hyp = graph(vec![
            entity("Mild", "OBS-DP", &[("modify", "3")]),
            entity("pulmonary", "ANAT-DP", &[]),
            entity("edema", "OBS-DP", &[("located_at", "2")]),
        ]);
        let reference = graph(vec![
            entity("mild", "OBS-DP", &[("modify", "3")]),
            entity("pulmonary", "ANAT-DP", &[]),
            entity("edema", "OBS-DP", &[("located_at", "2")]),
            entity("effusion", "OBS-DA", &[]),
        ]);
        let old = delbrouck(Some(&hyp), Some(&reference), CaseMode::Package0118);
        assert!((old.rg_e - 0.5714285714285714).abs() < 1e-12, "{old:?}");
        assert!((old.rg_er - 0.5714285714285714).abs() < 1e-12);
        assert!((old.rg_er_bar - 0.8571428571428571).abs() < 1e-12);
        let new = delbrouck(Some(&hyp), Some(&reference), CaseMode::Lowercase);
        for v in [new.rg_e, new.rg_er, new.rg_er_bar] {
            assert!((v - 0.8571428571428571).abs() < 1e-12, "{new:?}");
        }
    }

    #[test]
    fn empty_inputs_score_zero_and_two_empty_graphs_are_not_a_match() {
        let empty = graph(vec![]);
        let one = graph(vec![entity("effusion", "OBS-DP", &[])]);
        assert_eq!(
            delbrouck(None, Some(&one), CaseMode::Package0118),
            DelbrouckScores::default()
        );
        assert_eq!(
            delbrouck(Some(&empty), Some(&empty), CaseMode::Package0118),
            DelbrouckScores::default()
        );
        assert_eq!(
            delbrouck(Some(&one), Some(&empty), CaseMode::Package0118),
            DelbrouckScores::default()
        );
        assert_eq!(yu(None, None).radgraph_f1, 0.0);
    }

    /// Identical reports without relations: Yu et al. cap at 0.5 (relation F1 is 0).
    #[test]
    fn yu_without_relations_is_at_most_one_half() {
        let g = graph(vec![entity("pneumothorax", "OBS-DA", &[])]);
        let scores = yu(Some(&g), Some(&g));
        assert_eq!(
            (scores.entity_f1, scores.relation_f1, scores.radgraph_f1),
            (1.0, 0.0, 0.5)
        );
    }
}

//! ROUGE-L as pycocoevalcap's `Rouge.calc_score`: LCS on `str.split(" ")` tokens, the best
//! precision and recall over references, F with β = 1.2 (0 when either is 0).

const BETA: f64 = 1.2;

/// ROUGE-L of one tokenised hypothesis against its tokenised references.
pub fn rouge_l(hypothesis: &str, references: &[&str]) -> f64 {
    let candidate: Vec<&str> = hypothesis.split(' ').collect();
    let mut best_precision = f64::MIN;
    let mut best_recall = f64::MIN;
    for reference in references {
        let tokens: Vec<&str> = reference.split(' ').collect();
        let lcs = lcs_length(&tokens, &candidate) as f64;
        best_precision = best_precision.max(lcs / candidate.len() as f64);
        best_recall = best_recall.max(lcs / tokens.len() as f64);
    }
    if references.is_empty() {
        return 0.0;
    }
    if best_precision != 0.0 && best_recall != 0.0 {
        ((1.0 + BETA * BETA) * best_precision * best_recall)
            / (best_recall + BETA * BETA * best_precision)
    } else {
        0.0
    }
}

/// Length of the longest common subsequence (`my_lcs`).
fn lcs_length(a: &[&str], b: &[&str]) -> usize {
    let (long, short) = if a.len() < b.len() { (b, a) } else { (a, b) };
    let mut previous = vec![0usize; short.len() + 1];
    let mut current = vec![0usize; short.len() + 1];
    for x in long {
        for (j, y) in short.iter().enumerate() {
            current[j + 1] = if x == y {
                previous[j] + 1
            } else {
                previous[j + 1].max(current[j])
            };
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[short.len()]
}

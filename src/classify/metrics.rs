//! Classification metrics: accuracy, macro-F1, per-label precision and recall, and the
//! confusion matrix. A few loops over the predictions; nothing here needs a crate.

use serde::Serialize;

/// Per-label figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelReport {
    /// The label.
    pub label: String,
    /// Of the texts predicted with this label, the share that has it (0 when none predicted).
    pub precision: f64,
    /// Of the texts with this label, the share predicted with it (0 when none has it).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// Texts with this label.
    pub support: u64,
}

/// Figures for a set of predictions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Texts evaluated.
    pub texts: usize,
    /// Mean loss (the training loss, class weights included).
    pub loss: f64,
    /// Share of texts whose prediction is right (multi-label: whose label set is exactly right).
    pub accuracy: f64,
    /// Unweighted mean of the labels' F1.
    pub macro_f1: f64,
    /// Per-label figures, in label order.
    pub labels: Vec<LabelReport>,
    /// Single-label: `confusion[true][predicted]` counts. Multi-label: per label
    /// `[true positives, false positives, false negatives, true negatives]`.
    pub confusion: Vec<Vec<u64>>,
}

/// Scores predictions. `probs` is `texts x labels`; single-label predictions are the most
/// probable label, multi-label ones every label over 0.5.
pub fn evaluate(
    labels: &[String],
    multi_label: bool,
    probs: &[f32],
    targets: &[Vec<u32>],
    loss: f64,
) -> Evaluation {
    let c = labels.len();
    let n = targets.len();
    let mut correct = 0u64;
    // Per label: tp, fp, fn, tn.
    let mut counts = vec![[0u64; 4]; c];
    let mut confusion = vec![vec![0u64; c]; if multi_label { 0 } else { c }];
    for (row, target) in probs.chunks(c).zip(targets) {
        if multi_label {
            let mut exact = true;
            for (k, &p) in row.iter().enumerate() {
                let predicted = p > 0.5;
                let actual = target.contains(&(k as u32));
                exact &= predicted == actual;
                let cell = match (actual, predicted) {
                    (true, true) => 0,
                    (false, true) => 1,
                    (true, false) => 2,
                    (false, false) => 3,
                };
                counts[k][cell] += 1;
            }
            correct += exact as u64;
        } else {
            let predicted = argmax(row);
            let actual = target[0] as usize;
            confusion[actual][predicted] += 1;
            correct += (predicted == actual) as u64;
            if predicted == actual {
                counts[actual][0] += 1;
            } else {
                counts[predicted][1] += 1;
                counts[actual][2] += 1;
            }
        }
    }
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let reports: Vec<LabelReport> = labels
        .iter()
        .zip(&counts)
        .map(|(label, &[tp, fp, fn_, _])| {
            let precision = ratio(tp, tp + fp);
            let recall = ratio(tp, tp + fn_);
            let f1 = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            LabelReport {
                label: label.clone(),
                precision,
                recall,
                f1,
                support: tp + fn_,
            }
        })
        .collect();
    Evaluation {
        texts: n,
        loss,
        accuracy: ratio(correct, n as u64),
        macro_f1: reports.iter().map(|r| r.f1).sum::<f64>() / c.max(1) as f64,
        labels: reports,
        confusion: if multi_label {
            counts.iter().map(|c| c.to_vec()).collect()
        } else {
            confusion
        },
    }
}

/// Index of the largest value (the first of ties).
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_label_figures() {
        let labels = ["a".to_owned(), "b".to_owned(), "c".to_owned()];
        // true: a a b c; predicted: a b b a
        let probs = [0.8, 0.1, 0.1, 0.2, 0.7, 0.1, 0.1, 0.8, 0.1, 0.5, 0.2, 0.3];
        let targets = vec![vec![0], vec![0], vec![1], vec![2]];
        let e = evaluate(&labels, false, &probs, &targets, 0.5);
        assert_eq!(e.accuracy, 0.5);
        assert_eq!(e.confusion, [[1, 1, 0], [0, 1, 0], [1, 0, 0]]);
        assert_eq!((e.labels[0].precision, e.labels[0].recall), (0.5, 0.5));
        assert_eq!((e.labels[1].precision, e.labels[1].recall), (0.5, 1.0));
        assert_eq!(
            (e.labels[2].precision, e.labels[2].recall, e.labels[2].f1),
            (0.0, 0.0, 0.0)
        );
        let f1_b = 2.0 * 0.5 / 1.5;
        assert!((e.macro_f1 - (0.5 + f1_b) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn multi_label_figures() {
        let labels = ["x".to_owned(), "y".to_owned()];
        let probs = [0.9, 0.6, 0.2, 0.7];
        let targets = vec![vec![0, 1], vec![0]];
        let e = evaluate(&labels, true, &probs, &targets, 0.0);
        assert_eq!(e.accuracy, 0.5);
        assert_eq!(e.confusion, [[1, 0, 1, 0], [1, 1, 0, 0]]);
        assert_eq!(e.labels[0].recall, 0.5);
        assert_eq!(e.labels[1].precision, 0.5);
    }
}

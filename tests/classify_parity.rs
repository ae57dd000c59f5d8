//! Parity of the classifier's forward pass, probabilities and loss with a numpy reference.
//!
//! Golden file made with:
//!     python3 tests/data/classifier_reference.py > tests/data/classifier_reference.json
//! (15 cases: every activation x softmax / one sigmoid / per-label sigmoids, with class
//! weights, 5 texts of different lengths, two hidden layers).

use crate::common;

use common::floats;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use wordvec::classify::loss::loss;
use wordvec::classify::model::{forward, Dense, Forward, Params};
use wordvec::classify::{Activation, Architecture, OutputKind};

#[test]
fn forward_probabilities_and_loss_match_numpy() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/classifier_reference.json"
    );
    let r: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let vocab = r["vocab"].as_u64().unwrap() as usize;
    let dim = r["dim"].as_u64().unwrap() as usize;
    let hidden: Vec<usize> = r["hidden"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_u64().unwrap() as usize)
        .collect();
    let texts: Vec<Vec<u32>> = r["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            t.as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_u64().unwrap() as u32)
                .collect()
        })
        .collect();
    let texts: Vec<&[u32]> = texts.iter().map(|t| &t[..]).collect();
    let cases = r["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 15);
    for case in cases {
        let activation: Activation = serde_json::from_value(case["activation"].clone()).unwrap();
        let output: OutputKind = serde_json::from_value(case["output"].clone()).unwrap();
        let arch = Architecture {
            vocab_size: vocab,
            dim,
            hidden: hidden.clone(),
            activation,
            dropout: 0.5, // inactive: this is an evaluation pass
            labels: case["labels"].as_u64().unwrap() as usize,
            output,
        };
        let sizes = arch.layer_sizes();
        let params = Params {
            embedding: floats(&case["embedding"]),
            layers: case["layers"]
                .as_array()
                .unwrap()
                .iter()
                .zip(&sizes)
                .map(|(l, &(inputs, outputs))| Dense {
                    inputs,
                    outputs,
                    weight: floats(&l["weight"]),
                    bias: floats(&l["bias"]),
                })
                .collect(),
        };
        let targets: Vec<Vec<u32>> = serde_json::from_value(case["targets"].clone()).unwrap();
        let targets: Vec<&[u32]> = targets.iter().map(|t| &t[..]).collect();
        let weights = floats(&case["weights"]);
        let what = format!("{activation:?} {output:?} {} labels", arch.labels);

        let mut fw = Forward::default();
        forward::<ChaCha8Rng>(&arch, &params, &texts, None, &mut fw);
        for (i, (a, b)) in fw.logits.iter().zip(floats(&case["logits"])).enumerate() {
            assert!((a - b).abs() < 1e-5, "{what}: logit {i}: {a} vs numpy {b}");
        }
        let expected = floats(&case["probabilities"]);
        let mut probs = vec![0.0; arch.labels];
        for (t, z) in fw.logits.chunks(arch.outputs()).enumerate() {
            arch.probabilities(z, &mut probs);
            for (c, p) in probs.iter().enumerate() {
                let e = expected[t * arch.labels + c];
                assert!(
                    (p - e).abs() < 1e-5,
                    "{what}: text {t} label {c}: {p} vs numpy {e}"
                );
            }
        }
        let l = loss(&arch, &fw.logits, &targets, Some(&weights), None);
        let e = case["loss"].as_f64().unwrap();
        assert!((l - e).abs() < 1e-5, "{what}: loss {l} vs numpy {e}");
    }
}

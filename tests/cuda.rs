//! GPU training (cargo feature `cuda`). These tests need an NVIDIA GPU and driver, so they are
//! ignored by default. Run them with:
//!
//!     cargo test --release --features cuda --test integration cuda:: -- --ignored
//!
//! Without the feature, the one test here checks that asking for a GPU is a clear error.

use crate::common;

use common::planted_corpus;

use wordvec::train::{Device, Model, TrainConfig};

fn config(model: Model) -> TrainConfig {
    TrainConfig::default()
        .model(model)
        .dims(16)
        .epochs(5)
        .min_count(1)
        .sample(0.0)
        .device(Device::Cuda(0))
}

#[cfg(not(feature = "cuda"))]
#[test]
fn without_the_feature_a_gpu_request_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = wordvec::train::train(config(Model::SkipGram), &[planted_corpus(dir.path())])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("built without CUDA support") && err.contains("--features cuda"),
        "{err}"
    );
}

#[cfg(feature = "cuda")]
#[test]
#[ignore = "needs an NVIDIA GPU and driver"]
fn gpu_training_learns_planted_synonyms() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = planted_corpus(dir.path());
    for model in [Model::SkipGram, Model::Cbow] {
        let emb = wordvec::train::train(config(model), std::slice::from_ref(&corpus)).unwrap();
        let syn = emb.similarity("cat", "feline").unwrap();
        let syn2 = emb.similarity("car", "automobile").unwrap();
        let across = emb
            .similarity("cat", "car")
            .unwrap()
            .max(emb.similarity("feline", "automobile").unwrap());
        assert!(
            syn > across + 0.2 && syn2 > across + 0.2,
            "{model:?}: {syn} {syn2} vs {across}"
        );
    }
}

#[cfg(feature = "cuda")]
#[test]
#[ignore = "needs an NVIDIA GPU and driver"]
fn gpu_checkpoint_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = planted_corpus(dir.path());
    let ckpt = dir.path().join("gpu.ckpt");
    let cfg = config(Model::SkipGram).epochs(3);
    let trainer = wordvec::train::Trainer::new(cfg.clone())
        .unwrap()
        .checkpoint_every_epoch(&ckpt);
    let stop = trainer.stop_flag();
    let trainer = trainer.on_epoch(move |done, _| {
        if done == 2 {
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(())
    });
    let cut = trainer.train(std::slice::from_ref(&corpus)).unwrap();
    assert!(cut.interrupted);
    assert_eq!(cut.epochs_done, 2);
    // The GPU's checkpoint resumes on the CPU (same settings, other device).
    let cpu = wordvec::train::Trainer::new(cfg.device(Device::Cpu))
        .unwrap()
        .resume_from(&ckpt)
        .train(&[corpus])
        .unwrap();
    assert_eq!(cpu.epochs_done, 3);
}

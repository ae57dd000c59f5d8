//! Text classification with an embedding-MLP: the mean of a text's word embeddings, hidden
//! layers, and a sigmoid or softmax output.
//!
//! ```
//! use wordvec::classify::{train, ClassifierConfig, Dataset, OptimizerConfig, OptimizerKind};
//!
//! let rows: Vec<(String, &str)> = (0..200)
//!     .map(|i| if i % 2 == 0 { (format!("good fine {i}"), "pos") } else { (format!("bad awful {i}"), "neg") })
//!     .collect();
//! let data = Dataset::from_pairs(&rows);
//! let config = ClassifierConfig {
//!     min_count: 2,
//!     epochs: 30,
//!     optimizer: OptimizerConfig { kind: OptimizerKind::Adam, lr: 0.05, momentum: 0.0 },
//!     ..Default::default()
//! };
//! let out = train(&data, &config, None, None, None, |_, _| Ok(()))?;
//! let p = out.model.classifier.predict(&["a fine good day", "awful"])?;
//! assert_eq!(out.model.classifier.labels[p[0].labels[0]], "pos");
//! # Ok::<(), wordvec::Error>(())
//! ```
//!
//! Layout:
//! - [`data`] reads CSV/TSV files and splits them; [`tokenize`] and [`vocab`] turn texts into
//!   token ids;
//! - [`model`] is the network and its forward/backward passes, [`activation`] and [`loss`] its
//!   parts, `optim` Adam and SGD with sparse embedding updates, `sampler` the epoch order;
//! - [`train`](mod@train) the training loop, [`classifier`] the trained model (batch prediction,
//!   evaluation), [`metrics`] the scores, [`file`](mod@file) the model file, [`plot`] the loss curves.

pub mod activation;
pub mod classifier;
pub mod config;
pub mod data;
pub mod file;
pub(crate) mod kernels;
pub mod loss;
pub mod metrics;
pub mod model;
pub(crate) mod optim;
pub mod plot;
pub(crate) mod sampler;
pub mod text_vector;
pub mod tokenize;
pub mod train;
pub mod vocab;

pub use activation::Activation;
pub use classifier::{Classifier, Prediction};
pub use config::{ClassWeights, ClassifierConfig, EpochReport, LossChoice};
pub use data::{DataOptions, Dataset, Split, Task};
pub use file::{ModelFile, TrainState};
pub use metrics::{Evaluation, LabelReport};
pub use model::{Architecture, OutputKind};
pub use optim::{OptimizerConfig, OptimizerKind};
pub use text_vector::{embed_text, TextVector};
pub use train::{train, TrainOutcome, TrainSummary};

//! The models a server holds, by name.

use std::sync::Arc;

use tonic::Status;

use crate::classify::Classifier;
use crate::search::Searcher;

/// A loaded vectors model.
pub struct VectorModel {
    /// Its name.
    pub name: String,
    /// Vectors and optional index.
    pub searcher: Searcher,
    /// How the CLI describes it (source, size).
    pub description: String,
}

/// A loaded text classifier.
pub struct ClassifierModel {
    /// Its name.
    pub name: String,
    /// The classifier.
    pub classifier: Classifier,
}

/// All loaded models; the first vectors model is the default, and so is the first classifier.
pub struct Models {
    vectors: Vec<Arc<VectorModel>>,
    classifiers: Vec<Arc<ClassifierModel>>,
}

impl Models {
    /// Holds `vectors` (the first is the default).
    pub fn new(vectors: Vec<VectorModel>) -> Self {
        Models {
            vectors: vectors.into_iter().map(Arc::new).collect(),
            classifiers: Vec::new(),
        }
    }

    /// Adds text classifiers (the first is the default).
    pub fn with_classifiers(mut self, classifiers: Vec<ClassifierModel>) -> Self {
        self.classifiers = classifiers.into_iter().map(Arc::new).collect();
        self
    }

    /// The classifier called `name`, or the default for an empty name.
    pub fn classifier(&self, name: &str) -> Result<Arc<ClassifierModel>, Status> {
        let found = if name.is_empty() {
            self.classifiers.first()
        } else {
            self.classifiers.iter().find(|m| m.name == name)
        };
        found.cloned().ok_or_else(|| {
            if self.classifiers.is_empty() {
                Status::not_found(
                    "this server has no classifier; start it with --classifier NAME=MODEL",
                )
            } else {
                Status::not_found(format!(
                    "no classifier named {name:?}; loaded: {}",
                    self.classifiers
                        .iter()
                        .map(|m| m.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            }
        })
    }

    /// All classifiers, default first.
    pub fn all_classifiers(&self) -> &[Arc<ClassifierModel>] {
        &self.classifiers
    }

    /// The model called `name`, or the default for an empty name.
    pub fn vectors(&self, name: &str) -> Result<Arc<VectorModel>, Status> {
        let found = if name.is_empty() {
            self.vectors.first()
        } else {
            self.vectors.iter().find(|m| m.name == name)
        };
        found.cloned().ok_or_else(|| {
            Status::not_found(format!(
                "no model named {name:?}; loaded: {}",
                self.names().join(", ")
            ))
        })
    }

    /// All vector models, default first.
    pub fn all_vectors(&self) -> &[Arc<VectorModel>] {
        &self.vectors
    }

    /// Names of the vector models.
    pub fn names(&self) -> Vec<String> {
        self.vectors.iter().map(|m| m.name.clone()).collect()
    }
}

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
        if self.classifiers.is_empty() {
            return Err(Status::not_found(
                "this server has no classifier; start it with --classifier NAME=MODEL",
            ));
        }
        find_named(&self.classifiers, name, |m| &m.name, "classifier")
    }

    /// All classifiers, default first.
    pub fn all_classifiers(&self) -> &[Arc<ClassifierModel>] {
        &self.classifiers
    }

    /// The model called `name`, or the default for an empty name.
    pub fn vectors(&self, name: &str) -> Result<Arc<VectorModel>, Status> {
        find_named(&self.vectors, name, |m| &m.name, "model")
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

/// The entry of `all` called `name` (the first for an empty name), or NOT_FOUND listing the
/// names there are.
fn find_named<T>(
    all: &[Arc<T>],
    name: &str,
    name_of: impl Fn(&T) -> &String,
    what: &str,
) -> Result<Arc<T>, Status> {
    let found = if name.is_empty() {
        all.first()
    } else {
        all.iter().find(|m| name_of(m) == name)
    };
    found.cloned().ok_or_else(|| {
        let names: Vec<&str> = all.iter().map(|m| name_of(m).as_str()).collect();
        Status::not_found(format!(
            "no {what} named {name:?}; loaded: {}",
            names.join(", ")
        ))
    })
}

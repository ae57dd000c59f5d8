//! The models a server holds, by name.

use std::sync::Arc;

use tonic::Status;

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

/// All loaded models; the first vectors model is the default.
pub struct Models {
    vectors: Vec<Arc<VectorModel>>,
}

impl Models {
    /// Holds `vectors` (the first is the default).
    pub fn new(vectors: Vec<VectorModel>) -> Self {
        Models {
            vectors: vectors.into_iter().map(Arc::new).collect(),
        }
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

//! The models a server holds, by name, and how a configuration becomes loaded models: the
//! vectors (with the int8 copy and the index beside them), or the embedded default model when
//! none is configured, and the classifiers.

use std::sync::Arc;

use tonic::Status;

use crate::classify::Classifier;
use crate::error::Result;
use crate::formats::LoadOptions;
use crate::index::HnswIndex;
use crate::search::Searcher;
use crate::server::config::{ClassifierSpec, ModelSpec, ServeConfig};

/// A loaded vectors model.
pub struct VectorModel {
    /// Its name.
    pub name: String,
    /// Vectors and optional index.
    pub searcher: Searcher,
    /// How the CLI describes it (source, size).
    pub description: String,
}

impl VectorModel {
    /// The embedded default model ([`crate::default_model`]), exact search only, named
    /// [`crate::default_model::NAME`].
    pub fn embedded_default() -> Result<Self> {
        let emb = crate::default_model::load()?;
        Ok(VectorModel {
            name: crate::default_model::NAME.into(),
            description: emb.describe(),
            searcher: Searcher::exact(emb),
        })
    }
}

impl ModelSpec {
    /// Loads the vectors ([`crate::open`]: with their int8 copy when there is one) and their
    /// index: the configured one, else `PATH.idx` when it exists ([`crate::index::default_path`]).
    pub fn load(&self, opts: &LoadOptions) -> Result<VectorModel> {
        let emb = crate::open(&self.path, opts)?;
        let index = match &self.index {
            Some(p) => Some(HnswIndex::load(p, &emb)?),
            None => HnswIndex::load_default(&self.path, &emb)?,
        };
        Ok(VectorModel {
            name: self.name.clone(),
            description: emb.describe(),
            searcher: Searcher {
                embeddings: emb,
                index,
            },
        })
    }
}

impl ClassifierSpec {
    /// Loads the classifier.
    pub fn load(&self) -> Result<ClassifierModel> {
        let classifier = Classifier::load(&self.path)?;
        tracing::info!(name = %self.name, labels = classifier.labels.len(), vocabulary = classifier.vocab.len(), "loaded classifier");
        Ok(ClassifierModel {
            name: self.name.clone(),
            classifier,
        })
    }
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
    /// Loads every model `config` names ([`ModelSpec::load`], [`ClassifierSpec::load`]), or the
    /// embedded default model when it names no vectors, each vectors file with `opts`.
    ///
    /// ```
    /// let config = wordvec::server::ServeConfig::default();
    /// let models = wordvec::server::Models::load(&config, &Default::default())?;
    /// assert_eq!(models.names(), ["default"]);
    /// # Ok::<(), wordvec::Error>(())
    /// ```
    pub fn load(config: &ServeConfig, opts: &LoadOptions) -> Result<Self> {
        Self::load_with(config, |_| opts.clone())
    }

    /// [`Models::load`] with the options `opts_for` gives each vectors file (`wordvec serve`
    /// adds a progress bar for a large one). The one place a configuration becomes models: the
    /// daemon's start and every reload go through it. An error names the model that failed the
    /// way the flag that configures it does (`--vectors NAME`, `--classifier NAME`; a model from
    /// the configuration file has the same name there).
    pub fn load_with(
        config: &ServeConfig,
        opts_for: impl Fn(&ModelSpec) -> LoadOptions,
    ) -> Result<Self> {
        let vectors = if config.vectors.is_empty() {
            vec![VectorModel::embedded_default()
                .map_err(|e| e.context("loading the embedded default model"))?]
        } else {
            config
                .vectors
                .iter()
                .map(|spec| {
                    spec.load(&opts_for(spec))
                        .map_err(|e| e.context(format!("--vectors {}", spec.name)))
                })
                .collect::<Result<_>>()?
        };
        let classifiers = config
            .classifiers
            .iter()
            .map(|spec| {
                spec.load()
                    .map_err(|e| e.context(format!("--classifier {}", spec.name)))
            })
            .collect::<Result<_>>()?;
        Ok(Models::new(vectors).with_classifiers(classifiers))
    }

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
/// names there are (and the start of the name asked for: a status message travels in a header,
/// and one too long for it reaches the client as RESOURCE_EXHAUSTED).
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
            "no {what} named {:?}; loaded: {}",
            crate::limits::echo(name),
            names.join(", ")
        ))
    })
}

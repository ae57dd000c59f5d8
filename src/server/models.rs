//! The models a server holds, by name, and how a configuration becomes loaded models: the
//! vectors (with the int8 copy and the index beside them), or the embedded default model when
//! none is configured, and the classifiers.
//!
//! A vectors model is answered through [`View`]s: a request takes one at its start
//! ([`VectorModel::view`]) and answers everything from it, so writes that land meanwhile never
//! mix into one answer. A model without a log has one view, its file, for ever; a model with a
//! log (`wal_dir`) is a [`LiveModel`], whose view is the last durable write's.
//!
//! **One writer per log.** A log must have one writer: two would interleave records. The live
//! models a server opened are kept in its [`Logs`], by name, for as long as it runs, and a reload
//! takes them from there rather than opening their logs again: a reload re-reads classifiers and
//! the models without a log, while a model with a log keeps its rows (its base changes by
//! compaction only; to serve another file under its name, restart the daemon).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tonic::Status;

use crate::classify::Classifier;
use crate::error::Result;
use crate::formats::LoadOptions;
use crate::index::HnswIndex;
use crate::live::{Base, LiveModel, LiveOptions, View};
use crate::search::Searcher;
use crate::server::config::{ClassifierSpec, ModelSpec, ServeConfig};

/// Where a vectors model's rows are: fixed, or a live model's.
enum Store {
    Fixed(Arc<View>),
    Live(Arc<LiveModel>),
}

/// A loaded vectors model.
pub struct VectorModel {
    /// Its name.
    pub name: String,
    /// How the CLI describes it (source, size).
    pub description: String,
    store: Store,
}

impl VectorModel {
    /// A model that takes no writes: `searcher`'s vectors and index.
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        searcher: Searcher,
    ) -> Self {
        VectorModel {
            name: name.into(),
            description: description.into(),
            store: Store::Fixed(Arc::new(View::of(searcher))),
        }
    }

    /// A model that takes writes: `model`'s views, and its writes through [`Self::writer`].
    pub fn live(model: Arc<LiveModel>, description: impl Into<String>) -> Self {
        VectorModel {
            name: model.name().to_owned(),
            description: description.into(),
            store: Store::Live(model),
        }
    }

    /// The embedded default model ([`crate::default_model`]), exact search only, named
    /// [`crate::default_model::NAME`].
    pub fn embedded_default() -> Result<Self> {
        let emb = crate::default_model::load()?;
        let description = emb.describe();
        Ok(VectorModel::new(
            crate::default_model::NAME,
            description,
            Searcher::exact(emb),
        ))
    }

    /// The rows a request answers from, fixed for as long as it holds them (see the module
    /// documentation).
    pub fn view(&self) -> Arc<View> {
        match &self.store {
            Store::Fixed(v) => v.clone(),
            Store::Live(m) => m.view(),
        }
    }

    /// The live model that takes this model's writes; none for a model without a log.
    pub fn writer(&self) -> Option<&Arc<LiveModel>> {
        match &self.store {
            Store::Fixed(_) => None,
            Store::Live(m) => Some(m),
        }
    }
}

/// The live models a server opened, by name (see the module documentation: one writer per
/// log). A server keeps one for as long as it runs and loads every generation of its models
/// with it ([`Models::load_logged`]).
#[derive(Default)]
pub struct Logs {
    opened: Mutex<HashMap<String, Arc<LiveModel>>>,
}

impl Logs {
    /// The live model `spec` names in `dir`: the one already open, or `spec`'s file opened with
    /// `opts` and its log replayed over it.
    fn open(
        &self,
        spec: &ModelSpec,
        dir: &std::path::Path,
        opts: &LoadOptions,
        max_word_bytes: usize,
    ) -> Result<Arc<LiveModel>> {
        let mut opened = self.opened.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = opened.get(&spec.name) {
            return Ok(m.clone());
        }
        // After a compaction the manifest names the base: the configured file is not read.
        let base = match crate::live::current_base(dir, &spec.name)? {
            Some(file) => Base::Path(file),
            None => Base::Searcher(spec.searcher(opts)?),
        };
        let live_opts = LiveOptions::default().max_word_bytes(max_word_bytes);
        let (model, report) = LiveModel::open(&spec.name, base, dir, live_opts)?;
        tracing::info!(model = %spec.name, records = report.records, applied = report.applied, lsn = report.lsn, "opened the model's log");
        let model = Arc::new(model);
        opened.insert(spec.name.clone(), model.clone());
        Ok(model)
    }

    /// Every live model opened.
    pub fn all(&self) -> Vec<Arc<LiveModel>> {
        let opened = self.opened.lock().unwrap_or_else(|e| e.into_inner());
        opened.values().cloned().collect()
    }
}

impl ModelSpec {
    /// Loads the vectors ([`crate::open`]: with their int8 copy when there is one) and their
    /// index: the configured one, else `PATH.idx` when it exists ([`crate::index::default_path`]).
    pub fn load(&self, opts: &LoadOptions) -> Result<VectorModel> {
        let searcher = self.searcher(opts)?;
        let description = searcher.embeddings.describe();
        Ok(VectorModel::new(self.name.clone(), description, searcher))
    }

    /// This model as a reader that follows a writer's folder `dir` serves it: the base its
    /// last compaction wrote, with the graph beside it, when there was one; else itself.
    pub fn following(&self, dir: Option<&std::path::Path>) -> Result<ModelSpec> {
        let Some(dir) = dir else {
            return Ok(self.clone());
        };
        Ok(match crate::live::current_base(dir, &self.name)? {
            Some(path) => ModelSpec {
                name: self.name.clone(),
                path,
                index: None,
            },
            None => self.clone(),
        })
    }

    /// The vectors and index [`load`](Self::load) serves.
    fn searcher(&self, opts: &LoadOptions) -> Result<Searcher> {
        let emb = crate::open(&self.path, opts)?;
        let index = match &self.index {
            Some(p) => Some(HnswIndex::load(p, &emb)?),
            None => HnswIndex::load_default(&self.path, &emb)?,
        };
        Ok(Searcher {
            embeddings: emb,
            index,
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
    ///
    /// With `wal_dir` configured, each call opens the logs afresh: a server that loads more than
    /// once (reloads) uses [`Models::load_logged`] with the same [`Logs`] every time.
    pub fn load_with(
        config: &ServeConfig,
        opts_for: impl Fn(&ModelSpec) -> LoadOptions,
    ) -> Result<Self> {
        Self::load_logged(config, opts_for, &Logs::default())
    }

    /// [`Models::load_with`], the live models (with `wal_dir`) taken from `logs` when it has
    /// them, and opened into it when not: one writer per log however often this runs.
    pub fn load_logged(
        config: &ServeConfig,
        opts_for: impl Fn(&ModelSpec) -> LoadOptions,
        logs: &Logs,
    ) -> Result<Self> {
        let vectors = if config.vectors.is_empty() {
            vec![VectorModel::embedded_default()
                .map_err(|e| e.context("loading the embedded default model"))?]
        } else {
            config
                .vectors
                .iter()
                .map(|spec| {
                    let opts = opts_for(spec);
                    let model = match &config.wal_dir {
                        None => spec.following(config.follow_dir.as_deref())?.load(&opts),
                        Some(dir) => logs
                            .open(spec, dir, &opts, config.limits.max_word_bytes)
                            .map(|m| {
                                let d = m.view().embeddings().describe();
                                VectorModel::live(m, d)
                            }),
                    };
                    model.map_err(|e| e.context(format!("--vectors {}", spec.name)))
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

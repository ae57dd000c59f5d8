//! The `Embeddings` service: request checks, the library call on a blocking thread, the reply.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tonic::{Request, Response, Status};

use super::config::Limits;
use super::models::{ClassifierModel, Models, VectorModel};
use super::proto::{self, embeddings_server::Embeddings};
use super::reload::LiveModels;
use super::writes::{self, WriteSettings};
use crate::cancel::Cancel;
use crate::live::{LiveModel, View};
use crate::query::{Neighbor, Term};
use crate::search::{Filter, Mode, Query};

/// What a handler needs to run a request's work: its time limit, the concurrency permit it
/// holds (see [`super::layers::WorkPermit`]), and a cancellation flag.
pub(crate) struct Work {
    deadline: Duration,
    permit: Option<super::layers::WorkPermit>,
}

impl Work {
    /// The work of `req`: its deadline (see [`deadline`]) and the permit the load-shedding
    /// layer gave it.
    pub(crate) fn of<T>(req: &Request<T>, limits: &Limits) -> Work {
        Work {
            deadline: deadline(req, limits),
            permit: req.extensions().get::<super::layers::WorkPermit>().cloned(),
        }
    }
}

/// Raises the flag when dropped: the handler's future is dropped when its client goes away or
/// its deadline passes, and the blocking work sees the flag at its next check.
struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Runs `f` on a blocking thread (searches are CPU-bound and must not stall the reactor),
/// giving up with DEADLINE_EXCEEDED at the deadline. The work is cancelled when the answer goes
/// out early (deadline) or nobody waits for it any more (client gone): the scans inside `f` see
/// the flag ([`crate::cancel`]) and stop. The concurrency permit stays with `f` until it has
/// really stopped, so `--max-concurrent` bounds the work running, not only the answers pending.
pub(crate) async fn blocking<T: Send + 'static>(
    work: Work,
    f: impl FnOnce() -> Result<T, Status> + Send + 'static,
) -> Result<T, Status> {
    let cancel = Cancel::new();
    let guard = CancelOnDrop(cancel.clone());
    let Work { deadline, permit } = work;
    let task = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        if cancel.is_cancelled() {
            return Err(Status::from(crate::cancel::cancelled()));
        }
        cancel.scope(f)
    });
    let r = match tokio::time::timeout(deadline, task).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => Err(Status::internal(format!("request handler failed: {e}"))),
        Err(_) => Err(Status::deadline_exceeded(format!(
            "deadline of {:.3} s exceeded",
            deadline.as_secs_f64()
        ))),
    };
    drop(guard);
    r
}

/// A request that names the model it runs on ("" for the default).
pub(super) trait Named {
    /// The model's name as the request gives it.
    fn model(&self) -> &str;
}

macro_rules! named {
    ($($t:ident),*) => {
        $(impl Named for proto::$t {
            fn model(&self) -> &str {
                &self.model
            }
        })*
    };
}
named!(
    GetVectorsRequest,
    SimilarityRequest,
    MostSimilarRequest,
    DoesntMatchRequest,
    EmbedTextRequest,
    NearestToTextRequest,
    MostSimilarBatchRequest,
    PredictRequest
);

/// A kind of model requests run on (vectors, a classifier), found by name among those served.
pub(super) trait Model: Send + Sync + 'static {
    /// The model called `name` (the default for ""), or NOT_FOUND.
    fn find(models: &Models, name: &str) -> Result<Arc<Self>, Status>;
    /// Its name, as replies give it.
    fn name(&self) -> &str;
}

impl Model for VectorModel {
    fn find(models: &Models, name: &str) -> Result<Arc<Self>, Status> {
        models.vectors(name)
    }
    fn name(&self) -> &str {
        &self.name
    }
}

impl Model for ClassifierModel {
    fn find(models: &Models, name: &str) -> Result<Arc<Self>, Status> {
        models.classifier(name)
    }
    fn name(&self) -> &str {
        &self.name
    }
}

/// A request past the opening that every handler shares ([`open`]): ready to run.
pub(super) struct Opened<Q, M> {
    started: Instant,
    work: Work,
    model: Arc<M>,
    query: Q,
}

/// The opening every handler shares, in this order: the clock starts (replies give the time
/// since), the request's work is taken (its deadline and concurrency permit: [`Work::of`]), the
/// model's name is checked ([`word_limit`]) and the model found, and `check` turns the request
/// into what the work needs, refusing what breaks a limit before any work is done.
pub(super) fn open<R: Named, M: Model, Q>(
    req: Request<R>,
    models: &LiveModels,
    limits: &Limits,
    check: impl FnOnce(R, &Limits) -> Result<Q, Status>,
) -> Result<Opened<Q, M>, Status> {
    let started = Instant::now();
    let work = Work::of(&req, limits);
    let r = req.into_inner();
    word_limit([r.model()], limits)?;
    let model = M::find(&models.current(), r.model())?;
    Ok(Opened {
        started,
        work,
        model,
        query: check(r, limits)?,
    })
}

/// What a handler's work gave, with what every reply carries beside it.
pub(super) struct Answer<T> {
    /// The name of the model it ran on.
    pub(super) model: String,
    /// The work's result.
    pub(super) value: T,
    /// Microseconds since the request was opened.
    pub(super) server_time_us: u64,
}

impl<Q: Send + 'static, M: Model> Opened<Q, M> {
    /// Runs `f` on the model and the checked request on a blocking thread, within the request's
    /// deadline ([`blocking`]).
    pub(super) async fn run<T: Send + 'static>(
        self,
        f: impl FnOnce(&M, Q) -> Result<T, Status> + Send + 'static,
    ) -> Result<Answer<T>, Status> {
        let Opened {
            started,
            work,
            model,
            query,
        } = self;
        let name = model.name().to_owned();
        let value = blocking(work, move || f(&model, query)).await?;
        Ok(Answer {
            model: name,
            value,
            server_time_us: started.elapsed().as_micros() as u64,
        })
    }
}

/// The time a request may still take: the client's `grpc-timeout` counted from the request's
/// arrival (see [`super::layers::Arrival`]), capped by the server's limit.
///
/// tonic's transport also enforces `grpc-timeout`, but answers CANCELLED; the gRPC spec says
/// DEADLINE_EXCEEDED. Handlers therefore give up slightly earlier (a tenth of the time, at
/// least 5 ms, at most 50 ms: timers tick by the millisecond) so that the client gets the right
/// code.
pub(crate) fn deadline<T>(req: &Request<T>, limits: &Limits) -> Duration {
    let server = limits.request_timeout();
    let client = req
        .metadata()
        .get("grpc-timeout")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_grpc_timeout);
    match client {
        Some(c) if c <= server => {
            let elapsed = req
                .extensions()
                .get::<super::layers::Arrival>()
                .map_or(Duration::ZERO, |a| a.0.elapsed());
            let margin = (c / 10).clamp(Duration::from_millis(5), Duration::from_millis(50));
            c.saturating_sub(elapsed + margin)
        }
        _ => server,
    }
}

/// Parses a `grpc-timeout` header value (`<digits><unit>`, unit one of H M S m u n).
pub(crate) fn parse_grpc_timeout(v: &str) -> Option<Duration> {
    let (digits, unit) = v.split_at(v.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// An owned query term.
#[derive(Debug, Clone)]
enum OwnedTerm {
    Word(String),
    Vector(Vec<f32>),
}

impl OwnedTerm {
    fn as_term(&self) -> Term<'_> {
        match self {
            OwnedTerm::Word(w) => Term::Word(w),
            OwnedTerm::Vector(v) => Term::Vector(v),
        }
    }
}

fn owned_terms(terms: Vec<proto::Term>, side: &str) -> Result<Vec<OwnedTerm>, Status> {
    terms
        .into_iter()
        .map(|t| match t.term {
            Some(proto::term::Term::Word(w)) => Ok(OwnedTerm::Word(w)),
            Some(proto::term::Term::Vector(v)) => Ok(OwnedTerm::Vector(v.values)),
            None => Err(Status::invalid_argument(format!(
                "a {side} term has neither a word nor a vector"
            ))),
        })
        .collect()
}

/// A checked MostSimilar request: the owned parts of a [`Query`].
struct Checked {
    positive: Vec<OwnedTerm>,
    negative: Vec<OwnedTerm>,
    top_k: usize,
    mode: Mode,
    ef: Option<usize>,
    restrict_vocab: Option<usize>,
    only: Vec<String>,
    exclude: Vec<String>,
}

fn top_k(k: u32, limits: &Limits) -> Result<usize, Status> {
    let k = if k == 0 { 10 } else { k as usize };
    if k > limits.max_top_k {
        return Err(Status::invalid_argument(format!(
            "top_k {k} is over the server's limit of {}",
            limits.max_top_k
        )));
    }
    Ok(k)
}

/// Refuses an empty request and one with more than `--max-words` items.
pub(super) fn count_limit(n: usize, what: &str, limits: &Limits) -> Result<(), Status> {
    if n == 0 {
        return Err(Status::invalid_argument(format!(
            "the request has no {what}"
        )));
    }
    if n > limits.max_words {
        return Err(Status::invalid_argument(format!(
            "{n} {what} is over the server's limit of {}",
            limits.max_words
        )));
    }
    Ok(())
}

/// Refuses a word longer than `--max-word-bytes` (a term, a filter word, a model name) before
/// any work is done for it: INVALID_ARGUMENT naming the limit, the flag and the word (its start:
/// [`crate::limits::echo`]).
pub(super) fn word_limit<'a>(
    words: impl IntoIterator<Item = &'a str>,
    limits: &Limits,
) -> Result<(), Status> {
    match words.into_iter().find(|w| w.len() > limits.max_word_bytes) {
        None => Ok(()),
        Some(w) => Err(Status::invalid_argument(format!(
            "the word {:?} is longer than the server's limit of {} bytes (--max-word-bytes)",
            crate::limits::echo(w),
            limits.max_word_bytes
        ))),
    }
}

/// [`word_limit`] for the tokens of texts, as the text vector and the classifier split them
/// (Unicode word boundaries, [`crate::classify::tokenize`]): one pass over the text, no
/// allocation.
pub(super) fn token_limit<'a>(
    texts: impl IntoIterator<Item = &'a str>,
    limits: &Limits,
) -> Result<(), Status> {
    use unicode_segmentation::UnicodeSegmentation;
    texts
        .into_iter()
        .try_for_each(|t| word_limit(t.unicode_words(), limits))
}

/// The strings of `v` as `&str`.
pub(super) fn strs(v: &[String]) -> impl Iterator<Item = &str> {
    v.iter().map(String::as_str)
}

fn mode(exact: bool) -> Mode {
    if exact {
        Mode::Exact
    } else {
        Mode::Auto
    }
}

/// The request's `ef` (0: the index's default), at most `--max-ef`.
fn ef(ef: u32, limits: &Limits) -> Result<Option<usize>, Status> {
    let ef = nonzero(ef);
    if let Some(e) = ef.filter(|&e| e > limits.max_ef) {
        return Err(Status::invalid_argument(format!(
            "ef {e} is over the server's limit of {} (--max-ef)",
            limits.max_ef
        )));
    }
    Ok(ef)
}

fn nonzero(v: u32) -> Option<usize> {
    (v > 0).then_some(v as usize)
}

impl Checked {
    fn from_request(r: proto::MostSimilarRequest, limits: &Limits) -> Result<Self, Status> {
        let positive = owned_terms(r.positive, "positive")?;
        let negative = owned_terms(r.negative, "negative")?;
        count_limit(positive.len() + negative.len(), "terms", limits)?;
        let words = positive.iter().chain(&negative).filter_map(|t| match t {
            OwnedTerm::Word(w) => Some(w.as_str()),
            OwnedTerm::Vector(_) => None,
        });
        let filters = strs(&r.only_words).chain(strs(&r.exclude_words));
        word_limit(words.chain(filters), limits)?;
        Ok(Checked {
            positive,
            negative,
            top_k: top_k(r.top_k, limits)?,
            mode: mode(r.exact),
            ef: ef(r.ef, limits)?,
            restrict_vocab: nonzero(r.restrict_vocab),
            only: r.only_words,
            exclude: r.exclude_words,
        })
    }

    fn run(&self, v: &View, cosmul: bool) -> Result<(Vec<Neighbor>, bool), Status> {
        let pos: Vec<Term> = self.positive.iter().map(OwnedTerm::as_term).collect();
        let neg: Vec<Term> = self.negative.iter().map(OwnedTerm::as_term).collect();
        let filter = if self.only.is_empty() && self.exclude.is_empty() {
            Filter::default()
        } else {
            let only = (!self.only.is_empty()).then_some(self.only.as_slice());
            v.filter(only, &self.exclude)?
        };
        let q = Query::new(&pos, &neg, self.top_k)
            .cosmul(cosmul)
            .restrict_vocab(self.restrict_vocab)
            .filter(filter)
            .mode(self.mode)
            .ef(self.ef);
        Ok((v.search(&q)?, v.uses_index(&q)))
    }
}

fn neighbors(
    model: String,
    r: Vec<Neighbor>,
    used_index: bool,
    server_time_us: u64,
) -> proto::NeighborsResponse {
    proto::NeighborsResponse {
        model,
        neighbors: r
            .into_iter()
            .map(|n| proto::Neighbor {
                word: n.word,
                score: n.score,
                index: n.index as u64,
            })
            .collect(),
        server_time_us,
        used_index,
    }
}

/// The MostSimilar query for the nearest words to `v`, with the other settings of `r`.
fn nearest_to(v: proto::Vector, r: proto::NearestToVectorRequest) -> proto::MostSimilarRequest {
    proto::MostSimilarRequest {
        model: r.model,
        positive: vec![proto::Term {
            term: Some(proto::term::Term::Vector(v)),
        }],
        negative: vec![],
        top_k: r.top_k,
        exact: r.exact,
        ef: r.ef,
        restrict_vocab: r.restrict_vocab,
        only_words: r.only_words,
        exclude_words: r.exclude_words,
    }
}

/// The vector of `word`: its row, else one built from its subwords, else none (`found: false`).
fn word_vector(
    e: &crate::Embeddings,
    word: String,
    normalized: bool,
) -> Result<proto::WordVector, Status> {
    let (values, from_subwords) = match e.index(&word) {
        Some(i) if normalized => (Some(e.unit_row(i)), false),
        Some(i) => (Some(e.raw_row(i)), false),
        None if normalized => (e.subword_unit_vector(&word)?, true),
        None => (e.subword_vector(&word)?, true),
    };
    Ok(proto::WordVector {
        word,
        found: values.is_some(),
        from_subwords: from_subwords && values.is_some(),
        vector: values.map(|values| proto::Vector { values }),
    })
}

/// The vector of each text ([`crate::classify::embed_text`]).
fn text_vectors(
    e: &crate::Embeddings,
    texts: Vec<String>,
    normalized: bool,
) -> Result<Vec<proto::TextVector>, Status> {
    texts
        .into_iter()
        .map(|text| {
            crate::cancel::check()?;
            let v = crate::classify::embed_text(e, &text, normalized)?;
            Ok(proto::TextVector {
                text,
                vector: Some(proto::Vector { values: v.vector }),
                known_words: v.known.min(u32::MAX as usize) as u32,
                unknown_words: v.unknown,
            })
        })
        .collect()
}

/// What ListModels says of `m`: its sizes now (of its view, and of its log when it has one).
fn model_info(m: &VectorModel, is_default: bool) -> proto::ModelInfo {
    let view = m.view();
    let wal_bytes = m.writer().map_or(0, |w| w.stats().wal_bytes);
    proto::ModelInfo {
        name: m.name.clone(),
        words: view.len() as u64,
        dims: view.dims() as u32,
        description: m.description.clone(),
        has_index: view.has_index(),
        is_default,
        base_rows: view.base_rows() as u64,
        delta_rows: view.delta_rows() as u64,
        tombstones: view.tombstones() as u64,
        wal_bytes,
        writable: m.writer().is_some(),
        lsn: view.lsn(),
    }
}

/// Implements `wordvec.v1.Embeddings`.
pub(crate) struct EmbeddingsService {
    models: Arc<LiveModels>,
    limits: Limits,
    writes: WriteSettings,
}

impl EmbeddingsService {
    /// A service over `models` with `limits`, taking writes as `writes` says.
    pub(crate) fn new(models: Arc<LiveModels>, limits: Limits, writes: WriteSettings) -> Self {
        EmbeddingsService {
            models,
            limits,
            writes,
        }
    }

    /// [`open`] on a vectors model.
    fn open<R: Named, Q>(
        &self,
        req: Request<R>,
        check: impl FnOnce(R, &Limits) -> Result<Q, Status>,
    ) -> Result<Opened<Q, VectorModel>, Status> {
        open(req, &self.models, &self.limits, check)
    }

    /// A write (Upsert, Delete): the token, the request's own checks, then `op` on the model's
    /// log (durable when it returns), and a compaction when the delta has passed its share.
    async fn write<R: Named, Q: Send + 'static>(
        &self,
        rpc: &str,
        req: Request<R>,
        check: impl FnOnce(R, &Limits) -> Result<Q, Status>,
        op: fn(&LiveModel, Q) -> crate::error::Result<crate::live::Ack>,
    ) -> Result<Response<proto::WriteResponse>, Status> {
        self.writes.check_auth(rpc)?;
        let settings = self.writes.clone();
        let a = self
            .open(req, check)?
            .run(move |m, q| {
                let w = writes::writer(m)?;
                let ack = op(w, q).map_err(super::status::write_failed)?;
                settings.maybe_compact(w);
                Ok(ack)
            })
            .await?;
        let r = writes::write_response(a.model, a.value, a.server_time_us);
        Ok(Response::new(r))
    }

    async fn most_similar_impl(
        &self,
        req: Request<proto::MostSimilarRequest>,
        cosmul: bool,
    ) -> Result<Response<proto::NeighborsResponse>, Status> {
        let a = self
            .open(req, Checked::from_request)?
            .run(move |m, q| q.run(&m.view(), cosmul))
            .await?;
        let (found, used_index) = a.value;
        Ok(Response::new(neighbors(
            a.model,
            found,
            used_index,
            a.server_time_us,
        )))
    }
}

#[tonic::async_trait]
impl Embeddings for EmbeddingsService {
    async fn list_models(
        &self,
        _req: Request<proto::ListModelsRequest>,
    ) -> Result<Response<proto::ListModelsResponse>, Status> {
        let t = Instant::now();
        let live = self.models.current();
        let models = live
            .all_vectors()
            .iter()
            .enumerate()
            .map(|(i, m)| model_info(m, i == 0))
            .collect();
        Ok(Response::new(proto::ListModelsResponse {
            models,
            server_time_us: t.elapsed().as_micros() as u64,
        }))
    }

    async fn get_vectors(
        &self,
        req: Request<proto::GetVectorsRequest>,
    ) -> Result<Response<proto::GetVectorsResponse>, Status> {
        let a = self
            .open(req, |r, limits| {
                count_limit(r.words.len(), "words", limits)?;
                word_limit(strs(&r.words), limits)?;
                Ok(r)
            })?
            .run(|m, r| {
                let view = m.view();
                let e = view.embeddings();
                r.words
                    .into_iter()
                    .map(|w| {
                        crate::cancel::check()?;
                        word_vector(e, w, r.normalized)
                    })
                    .collect()
            })
            .await?;
        Ok(Response::new(proto::GetVectorsResponse {
            model: a.model,
            vectors: a.value,
            server_time_us: a.server_time_us,
        }))
    }

    async fn similarity(
        &self,
        req: Request<proto::SimilarityRequest>,
    ) -> Result<Response<proto::SimilarityResponse>, Status> {
        let a = self
            .open(req, |r, limits| {
                count_limit(r.pairs.len() * 2, "words", limits)?;
                let words = r.pairs.iter().flat_map(|p| [p.a.as_str(), p.b.as_str()]);
                word_limit(words, limits)?;
                Ok(r.pairs)
            })?
            .run(|m, pairs| {
                let view = m.view();
                pairs
                    .iter()
                    .map(|p| {
                        crate::cancel::check()?;
                        Ok(view.similarity(&p.a, &p.b)?)
                    })
                    .collect()
            })
            .await?;
        Ok(Response::new(proto::SimilarityResponse {
            model: a.model,
            similarities: a.value,
            server_time_us: a.server_time_us,
        }))
    }

    async fn most_similar(
        &self,
        req: Request<proto::MostSimilarRequest>,
    ) -> Result<Response<proto::NeighborsResponse>, Status> {
        self.most_similar_impl(req, false).await
    }

    async fn most_similar_cosmul(
        &self,
        req: Request<proto::MostSimilarRequest>,
    ) -> Result<Response<proto::NeighborsResponse>, Status> {
        self.most_similar_impl(req, true).await
    }

    async fn analogy(
        &self,
        req: Request<proto::AnalogyRequest>,
    ) -> Result<Response<proto::NeighborsResponse>, Status> {
        let (meta, ext, r) = req.into_parts();
        let word = |w: String| proto::Term {
            term: Some(proto::term::Term::Word(w)),
        };
        if r.a.is_empty() || r.b.is_empty() || r.c.is_empty() {
            return Err(Status::invalid_argument(
                "an analogy needs three words a, b and c",
            ));
        }
        let q = proto::MostSimilarRequest {
            model: r.model,
            positive: vec![word(r.b), word(r.c)],
            negative: vec![word(r.a)],
            top_k: r.top_k,
            exact: r.exact,
            ef: r.ef,
            restrict_vocab: r.restrict_vocab,
            only_words: r.only_words,
            exclude_words: r.exclude_words,
        };
        self.most_similar_impl(Request::from_parts(meta, ext, q), r.cosmul)
            .await
    }

    async fn doesnt_match(
        &self,
        req: Request<proto::DoesntMatchRequest>,
    ) -> Result<Response<proto::DoesntMatchResponse>, Status> {
        let a = self
            .open(req, |r, limits| {
                count_limit(r.words.len(), "words", limits)?;
                word_limit(strs(&r.words), limits)?;
                Ok(r.words)
            })?
            .run(|m, words| Ok(m.view().doesnt_match(&words)?))
            .await?;
        Ok(Response::new(proto::DoesntMatchResponse {
            model: a.model,
            word: a.value.word,
            ignored: a.value.ignored,
            server_time_us: a.server_time_us,
        }))
    }

    async fn nearest_to_vector(
        &self,
        req: Request<proto::NearestToVectorRequest>,
    ) -> Result<Response<proto::NeighborsResponse>, Status> {
        let (meta, ext, r) = req.into_parts();
        let v = r
            .vector
            .ok_or_else(|| Status::invalid_argument("the request has no vector"))?;
        let q = nearest_to(v, proto::NearestToVectorRequest { vector: None, ..r });
        self.most_similar_impl(Request::from_parts(meta, ext, q), false)
            .await
    }

    async fn embed_text(
        &self,
        req: Request<proto::EmbedTextRequest>,
    ) -> Result<Response<proto::EmbedTextResponse>, Status> {
        let a = self
            .open(req, |r, limits| {
                if r.texts.is_empty() {
                    return Err(Status::invalid_argument("the request has no text"));
                }
                count_limit(r.texts.len(), "texts", limits)?;
                token_limit(strs(&r.texts), limits)?;
                Ok(r)
            })?
            .run(|m, r| text_vectors(m.view().embeddings(), r.texts, r.normalized))
            .await?;
        Ok(Response::new(proto::EmbedTextResponse {
            model: a.model,
            vectors: a.value,
            server_time_us: a.server_time_us,
        }))
    }

    async fn nearest_to_text(
        &self,
        req: Request<proto::NearestToTextRequest>,
    ) -> Result<Response<proto::NeighborsResponse>, Status> {
        let a = self
            .open(req, |r, limits| {
                token_limit([r.text.as_str()], limits)?;
                // The whole query is checked before the text is embedded; its one term, the
                // text's vector, is filled in once there is one.
                let q = nearest_to(
                    proto::Vector::default(),
                    proto::NearestToVectorRequest {
                        model: r.model,
                        vector: None,
                        top_k: r.top_k,
                        exact: r.exact,
                        ef: r.ef,
                        restrict_vocab: r.restrict_vocab,
                        only_words: r.only_words,
                        exclude_words: r.exclude_words,
                    },
                );
                Ok((r.text, Checked::from_request(q, limits)?))
            })?
            .run(|m, (text, mut q)| {
                let view = m.view();
                let v = crate::classify::embed_text(view.embeddings(), &text, false)?;
                q.positive = vec![OwnedTerm::Vector(v.vector)];
                q.run(&view, false)
            })
            .await?;
        let (found, used_index) = a.value;
        Ok(Response::new(neighbors(
            a.model,
            found,
            used_index,
            a.server_time_us,
        )))
    }

    async fn most_similar_batch(
        &self,
        req: Request<proto::MostSimilarBatchRequest>,
    ) -> Result<Response<proto::MostSimilarBatchResponse>, Status> {
        let a = self
            .open(req, |r, limits| {
                count_limit(r.queries.len(), "queries", limits)?;
                r.queries
                    .into_iter()
                    .map(|q| Checked::from_request(q, limits))
                    .collect::<Result<Vec<_>, Status>>()
            })?
            .run(|m, queries| {
                use rayon::prelude::*;
                // One view for the whole batch: every query sees the same writes.
                let view = m.view();
                let cancel = crate::cancel::current().unwrap_or_default();
                queries
                    .par_iter()
                    .map(|q| {
                        // Rayon's threads do not see the caller's flag: pass it on.
                        cancel.scope(|| {
                            crate::cancel::check()?;
                            let t = Instant::now();
                            let (found, used_index) = q.run(&view, false)?;
                            let us = t.elapsed().as_micros() as u64;
                            Ok(neighbors(m.name.clone(), found, used_index, us))
                        })
                    })
                    .collect()
            })
            .await?;
        Ok(Response::new(proto::MostSimilarBatchResponse {
            model: a.model,
            results: a.value,
            server_time_us: a.server_time_us,
        }))
    }

    async fn upsert(
        &self,
        req: Request<proto::UpsertRequest>,
    ) -> Result<Response<proto::WriteResponse>, Status> {
        self.write("Upsert", req, writes::upsert_items, LiveModel::upsert)
            .await
    }

    async fn delete(
        &self,
        req: Request<proto::DeleteRequest>,
    ) -> Result<Response<proto::WriteResponse>, Status> {
        self.write("Delete", req, writes::delete_words, LiveModel::delete)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts() {
        assert_eq!(parse_grpc_timeout("100m"), Some(Duration::from_millis(100)));
        assert_eq!(parse_grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("5x"), None);
        assert_eq!(parse_grpc_timeout(""), None);
        assert_eq!(parse_grpc_timeout("m"), None);
    }
}

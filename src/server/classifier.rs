//! The `Classifier` service: thin handlers over [`crate::classify::Classifier`]'s batch API,
//! run off the async runtime with the request's deadline.

use std::sync::Arc;
use std::time::Instant;

use tonic::{Request, Response, Status};

use super::config::Limits;
use super::handlers::{count_limit, open, strs, token_limit};
use super::models::ClassifierModel;
use super::proto::{self, classifier_server::Classifier};
use super::reload::LiveModels;

/// Implements `wordvec.v1.Classifier`.
pub(crate) struct ClassifierService {
    models: Arc<LiveModels>,
    limits: Limits,
}

impl ClassifierService {
    /// A service over `models`.
    pub(crate) fn new(models: Arc<LiveModels>, limits: Limits) -> Self {
        ClassifierService { models, limits }
    }
}

/// Texts predicted between two looks at the request's cancellation flag: the classifier's own
/// batch (it runs one such batch on one thread).
const CHUNK: usize = 256;

/// [`crate::classify::Classifier::predict`] on chunks of [`CHUNK`] texts in parallel, each
/// started only while the request is still wanted ([`crate::cancel`]).
fn predict(
    c: &crate::classify::Classifier,
    texts: &[String],
) -> crate::Result<Vec<crate::classify::Prediction>> {
    use rayon::prelude::*;
    let cancel = crate::cancel::current().unwrap_or_default();
    let chunks = texts
        .par_chunks(CHUNK)
        .map(|chunk| {
            // Rayon's threads do not see the caller's flag: pass it on.
            cancel.scope(|| {
                crate::cancel::check()?;
                c.predict(chunk)
            })
        })
        .collect::<crate::Result<Vec<_>>>()?;
    Ok(chunks.into_iter().flatten().collect())
}

#[tonic::async_trait]
impl Classifier for ClassifierService {
    async fn list_models(
        &self,
        _req: Request<proto::ListClassifiersRequest>,
    ) -> Result<Response<proto::ListClassifiersResponse>, Status> {
        let t = Instant::now();
        let live = self.models.current();
        let models = live
            .all_classifiers()
            .iter()
            .map(|m| proto::ClassifierInfo {
                name: m.name.clone(),
                labels: m.classifier.labels.clone(),
                multi_label: m.classifier.multi_label(),
            })
            .collect();
        Ok(Response::new(proto::ListClassifiersResponse {
            models,
            server_time_us: t.elapsed().as_micros() as u64,
        }))
    }

    async fn predict(
        &self,
        req: Request<proto::PredictRequest>,
    ) -> Result<Response<proto::PredictResponse>, Status> {
        let a = open(req, &self.models, &self.limits, |r, limits| {
            count_limit(r.texts.len(), "texts", limits)?;
            token_limit(strs(&r.texts), limits)?;
            Ok(r.texts)
        })?
        .run(|m: &ClassifierModel, texts| {
            let c = &m.classifier;
            let preds = predict(c, &texts)?;
            Ok(preds.into_iter().map(|p| prediction(c, p)).collect())
        })
        .await?;
        Ok(Response::new(proto::PredictResponse {
            model: a.model,
            predictions: a.value,
            server_time_us: a.server_time_us,
        }))
    }
}

/// A prediction as the API gives it: the labels chosen, joined by commas, and every label's
/// probability.
fn prediction(
    c: &crate::classify::Classifier,
    p: crate::classify::Prediction,
) -> proto::Prediction {
    proto::Prediction {
        label: p
            .labels
            .iter()
            .map(|&i| c.labels[i].as_str())
            .collect::<Vec<_>>()
            .join(","),
        scores: c
            .labels
            .iter()
            .zip(p.probabilities)
            .map(|(l, probability)| proto::LabelScore {
                label: l.clone(),
                probability,
            })
            .collect(),
    }
}

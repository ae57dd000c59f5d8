//! The `Classifier` service. wordvec's text classifier is not part of this build yet, so both
//! methods answer UNIMPLEMENTED with a message saying so; the API is fixed in the proto so that
//! clients can be written against it now.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::config::Limits;
use super::models::Models;
use super::proto::{self, classifier_server::Classifier};

/// Implements `wordvec.v1.Classifier`.
pub struct ClassifierService {
    _models: Arc<Models>,
    _limits: Limits,
}

impl ClassifierService {
    /// A service over `models`.
    pub fn new(models: Arc<Models>, limits: Limits) -> Self {
        ClassifierService {
            _models: models,
            _limits: limits,
        }
    }
}

const NOT_YET: &str = "text classification is not available in this wordvec build: the embedding-MLP classifier (`wordvec classify`) has not landed yet";

#[tonic::async_trait]
impl Classifier for ClassifierService {
    async fn list_models(
        &self,
        _req: Request<proto::ListClassifiersRequest>,
    ) -> Result<Response<proto::ListClassifiersResponse>, Status> {
        Err(Status::unimplemented(NOT_YET))
    }

    async fn predict(
        &self,
        _req: Request<proto::PredictRequest>,
    ) -> Result<Response<proto::PredictResponse>, Status> {
        Err(Status::unimplemented(NOT_YET))
    }
}

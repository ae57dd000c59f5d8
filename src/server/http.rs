//! HTTP/JSON beside gRPC: every RPC of the `Embeddings`, `Classifier` and `Admin` services as
//! `POST /v1/{Service}/{Method}` with a JSON body (the proto's JSON mapping, field names as in
//! the proto), an OpenAPI 3 document of them at `GET /openapi.json`, and `GET /healthz`.
//!
//! A JSON request is not handled by code of its own: it is turned into the gRPC request (the
//! message encoded and framed) and sent, in process, through the very service stack the gRPC
//! port serves, layers included. Auth, load shedding, deadlines (`grpc-timeout` header), metrics,
//! logs and answers are therefore the gRPC ones by construction; the gateway only translates
//! the gRPC status into an HTTP status (as Google's API design guide maps them) and a JSON error
//! body `{"error": {"code": 404, "status": "NOT_FOUND", "message": "..."}}`.

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http_body_util::BodyExt;
use prost::Message;
use tonic::body::Body;
use tonic::{Code, Status};
use tower::util::BoxCloneSyncService;
use tower::ServiceExt;

use super::proto;

/// The gRPC service stack, layers included, as one cloneable service.
pub(crate) type GrpcStack =
    BoxCloneSyncService<http::Request<Body>, http::Response<Body>, Infallible>;

#[derive(Clone)]
struct Gateway {
    grpc: GrpcStack,
    max_body: usize,
    read_timeout: std::time::Duration,
}

type BoxedCall = std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>>;

/// One RPC as JSON: decode the JSON request, encode it for gRPC, and back.
type Call = fn(Gateway, HeaderMap, Bytes) -> BoxedCall;

macro_rules! rpcs {
    ($($service:literal $method:literal: $req:ty => $resp:ty;)*) => {
        /// Every RPC the gateway serves: service, method, and the JSON-to-gRPC call.
        const RPCS: &[(&str, &str, Call)] = &[
            $(($service, $method, |gw, headers, body| {
                Box::pin(call::<$req, $resp>(gw, concat!("/wordvec.v1.", $service, "/", $method), headers, body))
            }),)*
        ];
    };
}

rpcs! {
    "Embeddings" "ListModels": proto::ListModelsRequest => proto::ListModelsResponse;
    "Embeddings" "GetVectors": proto::GetVectorsRequest => proto::GetVectorsResponse;
    "Embeddings" "Similarity": proto::SimilarityRequest => proto::SimilarityResponse;
    "Embeddings" "MostSimilar": proto::MostSimilarRequest => proto::NeighborsResponse;
    "Embeddings" "MostSimilarCosmul": proto::MostSimilarRequest => proto::NeighborsResponse;
    "Embeddings" "Analogy": proto::AnalogyRequest => proto::NeighborsResponse;
    "Embeddings" "DoesntMatch": proto::DoesntMatchRequest => proto::DoesntMatchResponse;
    "Embeddings" "NearestToVector": proto::NearestToVectorRequest => proto::NeighborsResponse;
    "Embeddings" "MostSimilarBatch": proto::MostSimilarBatchRequest => proto::MostSimilarBatchResponse;
    "Embeddings" "EmbedText": proto::EmbedTextRequest => proto::EmbedTextResponse;
    "Embeddings" "NearestToText": proto::NearestToTextRequest => proto::NeighborsResponse;
    "Classifier" "ListModels": proto::ListClassifiersRequest => proto::ListClassifiersResponse;
    "Classifier" "Predict": proto::PredictRequest => proto::PredictResponse;
    "Admin" "Reload": proto::ReloadRequest => proto::ReloadResponse;
}

/// The explorer page: one file, its script and style inline, compiled into the binary (no CDN:
/// it works on machines without internet). It calls the JSON API of the port it came from.
const EXPLORER: &str = include_str!("explorer/index.html");

/// The router of the HTTP/JSON port over `grpc`, bodies capped at `max_body` bytes and read
/// within `read_timeout`; with `explorer`, the explorer page at `/`.
pub(crate) fn router(
    grpc: GrpcStack,
    max_body: usize,
    read_timeout: std::time::Duration,
    explorer: bool,
) -> Router {
    let router = if explorer {
        Router::new().route(
            "/",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                        (header::CONTENT_SECURITY_POLICY, "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'"),
                    ],
                    EXPLORER,
                )
            }),
        )
    } else {
        Router::new()
    };
    router
        .route("/v1/{service}/{method}", post(rpc))
        .route("/openapi.json", get(openapi))
        .route("/healthz", get(|| async { "ok\n" }))
        .fallback(|| async { error(StatusCode::NOT_FOUND, Code::NotFound, "no such path") })
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(Gateway {
            grpc,
            max_body,
            read_timeout,
        })
}

async fn rpc(
    State(gw): State<Gateway>,
    Path((service, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let Some(&(_, _, call)) = RPCS.iter().find(|(s, m, _)| *s == service && *m == method) else {
        return error(
            StatusCode::NOT_FOUND,
            Code::Unimplemented,
            &format!("no RPC {service}/{method}; GET /openapi.json lists them"),
        );
    };
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::InvalidArgument,
            "send the request as JSON (content-type: application/json)",
        );
    }
    let body = match tokio::time::timeout(gw.read_timeout, axum::body::to_bytes(body, gw.max_body))
        .await
    {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                Code::ResourceExhausted,
                &format!(
                    "the body is over the limit of {} bytes or broken: {e}",
                    gw.max_body
                ),
            );
        }
        Err(_) => {
            return error(
                StatusCode::REQUEST_TIMEOUT,
                Code::DeadlineExceeded,
                "the request's body did not arrive in time",
            );
        }
    };
    call(gw, headers, body).await
}

/// Decodes `Req` from JSON, sends it through the gRPC stack to `path`, and answers `Resp` as
/// JSON (or the gRPC status as an HTTP error).
async fn call<Req, Resp>(
    gw: Gateway,
    path: &'static str,
    headers: HeaderMap,
    body: Bytes,
) -> Response
where
    Req: Message + serde::de::DeserializeOwned + Default,
    Resp: Message + serde::Serialize + Default,
{
    let text = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        &body[..]
    };
    let req: Req = match serde_json::from_slice(text) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                Code::InvalidArgument,
                &format!("the JSON body is not a valid request: {e}"),
            )
        }
    };
    let msg = req.encode_to_vec();
    let mut frame = Vec::with_capacity(5 + msg.len());
    frame.push(0);
    frame.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    frame.extend_from_slice(&msg);
    let mut grpc = http::Request::builder()
        .method(http::Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/grpc")
        .header("te", "trailers");
    for name in ["authorization", "grpc-timeout", "x-request-id"] {
        if let Some(v) = headers.get(name) {
            grpc = grpc.header(name, v.clone());
        }
    }
    let grpc = match grpc.body(Body::new(http_body_util::Full::new(Bytes::from(frame)))) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                Code::InvalidArgument,
                &e.to_string(),
            )
        }
    };
    let Ok(response) = gw.grpc.clone().oneshot(grpc).await;
    let (parts, body) = response.into_parts();
    // A status in the headers is a trailers-only answer (an error before any message).
    if let Some(status) = Status::from_header_map(&parts.headers) {
        if status.code() != Code::Ok {
            return status_error(&status);
        }
    }
    let collected = match body.collect().await {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_GATEWAY, Code::Internal, &e.to_string()),
    };
    if let Some(status) = collected.trailers().and_then(Status::from_header_map) {
        if status.code() != Code::Ok {
            return status_error(&status);
        }
    }
    let bytes = collected.to_bytes();
    let Some(message) = bytes.get(5..) else {
        return error(
            StatusCode::BAD_GATEWAY,
            Code::Internal,
            "the answer has no message",
        );
    };
    match Resp::decode(message) {
        Ok(r) => json_response(StatusCode::OK, &r),
        Err(e) => error(StatusCode::BAD_GATEWAY, Code::Internal, &e.to_string()),
    }
}

fn json_response(status: StatusCode, value: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// The HTTP status of a gRPC code, as Google's API design guide maps them.
pub(crate) fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        // 499 "client closed request", which the guide uses for CANCELLED.
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn status_error(s: &Status) -> Response {
    error(http_status(s.code()), s.code(), s.message())
}

/// The JSON error body.
fn error(status: StatusCode, code: Code, message: &str) -> Response {
    let name = format!("{code:?}");
    // Code's Debug is CamelCase ("InvalidArgument"); the JSON status is gRPC's name.
    let mut upper = String::new();
    for (i, ch) in name.chars().enumerate() {
        if ch.is_uppercase() && i > 0 {
            upper.push('_');
        }
        upper.push(ch.to_ascii_uppercase());
    }
    json_response(
        status,
        &serde_json::json!({
            "error": { "code": status.as_u16(), "status": upper, "message": message }
        }),
    )
}

async fn openapi() -> Response {
    static DOC: OnceLock<Arc<serde_json::Value>> = OnceLock::new();
    let doc = DOC.get_or_init(|| Arc::new(openapi_document()));
    json_response(StatusCode::OK, doc.as_ref())
}

/// The OpenAPI 3 document of the JSON API, generated from the proto's descriptor set: a path per
/// RPC, a schema per message (with the proto's JSON mapping: 64-bit integers as strings, enums
/// by name, repeated fields as arrays), each field's comment as its description.
pub fn openapi_document() -> serde_json::Value {
    use prost_types::field_descriptor_proto::{Label, Type};
    use serde_json::{json, Map, Value};
    let Ok(fds) = prost_types::FileDescriptorSet::decode(proto::FILE_DESCRIPTOR_SET) else {
        return json!({});
    };
    let mut schemas = Map::new();
    let mut paths = Map::new();
    for file in &fds.file {
        let package = file.package().to_owned();
        for message in &file.message_type {
            let mut properties = Map::new();
            for f in &message.field {
                let scalar = match f.r#type() {
                    Type::Double | Type::Float => json!({"type": "number"}),
                    Type::Int32 | Type::Uint32 | Type::Sint32 | Type::Fixed32 | Type::Sfixed32 => {
                        json!({"type": "integer"})
                    }
                    Type::Int64 | Type::Uint64 | Type::Sint64 | Type::Fixed64 | Type::Sfixed64 => {
                        json!({"type": "string", "format": "int64"})
                    }
                    Type::Bool => json!({"type": "boolean"}),
                    Type::String => json!({"type": "string"}),
                    Type::Bytes => json!({"type": "string", "format": "byte"}),
                    Type::Enum => json!({"type": "string"}),
                    Type::Message | Type::Group => {
                        let name = f.type_name().rsplit('.').next().unwrap_or_default();
                        json!({"$ref": format!("#/components/schemas/{name}")})
                    }
                };
                let schema = if f.label() == Label::Repeated {
                    json!({"type": "array", "items": scalar})
                } else {
                    scalar
                };
                properties.insert(f.name().to_owned(), schema);
            }
            schemas.insert(
                message.name().to_owned(),
                json!({"type": "object", "properties": properties, "additionalProperties": false}),
            );
        }
        if package != "wordvec.v1" {
            continue;
        }
        for service in &file.service {
            for m in &service.method {
                let input = m.input_type().rsplit('.').next().unwrap_or_default();
                let output = m.output_type().rsplit('.').next().unwrap_or_default();
                let error_ref = json!({"$ref": "#/components/responses/Error"});
                paths.insert(
                    format!("/v1/{}/{}", service.name(), m.name()),
                    json!({"post": {
                        "operationId": format!("{}.{}", service.name(), m.name()),
                        "tags": [service.name()],
                        "requestBody": {"required": true, "content": {"application/json": {
                            "schema": {"$ref": format!("#/components/schemas/{input}")}}}},
                        "responses": {
                            "200": {"description": "the answer", "content": {"application/json": {
                                "schema": {"$ref": format!("#/components/schemas/{output}")}}}},
                            "400": error_ref, "401": error_ref, "404": error_ref,
                            "413": error_ref, "415": error_ref, "429": error_ref,
                            "500": error_ref, "503": error_ref, "504": error_ref
                        }
                    }}),
                );
            }
        }
    }
    schemas.insert(
        "Error".into(),
        json!({"type": "object", "properties": {"error": {"type": "object", "properties": {
            "code": {"type": "integer"}, "status": {"type": "string"}, "message": {"type": "string"}
        }}}}),
    );
    let mut components = Map::new();
    components.insert("schemas".into(), Value::Object(schemas));
    components.insert(
        "responses".into(),
        json!({"Error": {"description": "a gRPC status as HTTP", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}}}}}),
    );
    components.insert(
        "securitySchemes".into(),
        json!({"bearer": {"type": "http", "scheme": "bearer"}}),
    );
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "wordvec",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The gRPC API of proto/wordvec/v1/wordvec.proto as JSON: POST the request message, receive the response message (the proto's JSON mapping, field names as in the proto)."
        },
        "security": [{"bearer": []}, {}],
        "paths": paths,
        "components": components,
    })
}

/// Serves `router` on `listener` until `shutdown` completes, then lets requests in flight finish.
///
/// hyper's server rather than `axum::serve`, for its timers: a client must send a request's
/// headers within `read_timeout` of starting it (HTTP/1; HTTP/2 connections are pinged and
/// closed when they stop answering), and the request handler gives the body the same time
/// (408 otherwise), so a client that stalls cannot hold a connection or the shutdown.
pub(crate) async fn serve_http(
    listener: tokio::net::TcpListener,
    router: Router,
    read_timeout: std::time::Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(read_timeout)
        .keep_alive_timeout(read_timeout);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let service = hyper_util::service::TowerToHyperService::new(router.clone());
                let conn = builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gateway serves every method of the proto's services, so it cannot fall behind.
    #[test]
    fn every_rpc_of_the_proto_is_routed() {
        let doc = openapi_document();
        let paths = doc["paths"].as_object().unwrap();
        let routed: std::collections::BTreeSet<String> = RPCS
            .iter()
            .map(|(s, m, _)| format!("/v1/{s}/{m}"))
            .collect();
        let documented: std::collections::BTreeSet<String> = paths.keys().cloned().collect();
        assert_eq!(routed, documented);
        assert_eq!(
            doc["components"]["schemas"]["MostSimilarRequest"]["properties"]["top_k"]["type"],
            "integer"
        );
    }

    #[test]
    fn statuses_follow_the_guide() {
        assert_eq!(http_status(Code::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(
            http_status(Code::ResourceExhausted),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            http_status(Code::DeadlineExceeded),
            StatusCode::GATEWAY_TIMEOUT
        );
        assert_eq!(http_status(Code::DataLoss).as_u16(), 500);
        assert_eq!(http_status(Code::Cancelled).as_u16(), 499);
    }
}

//! HTTP/JSON beside gRPC: every RPC of the `Embeddings`, `Classifier` and `Admin` services as
//! `POST /v1/{Service}/{Method}` with a JSON body (the proto's JSON mapping, field names as in
//! the proto), an OpenAPI 3 document of them at `GET /openapi.json`, and `GET /healthz`.
//!
//! A JSON request is not handled by code of its own: it is turned into the gRPC request (the
//! message encoded and framed) and sent, in process, through the very service stack the gRPC
//! port serves, layers included. Auth, load shedding, deadlines (`grpc-timeout` header), metrics,
//! logs and answers are therefore the gRPC ones by construction; the gateway only translates
//! the gRPC status into an HTTP status (as Google's API design guide maps them) and a JSON error
//! body `{"error": {"code": 404, "status": "NOT_FOUND", "message": "..."}}`. Every error answer
//! of the port has that body, also those of the HTTP layer itself (405, 414, 431, a path that is
//! not UTF-8), except the few hyper writes before any request exists (a request line over
//! 64 KiB, headers past hyper's buffer or over 256 of them).
//!
//! Bounds, checked before the work that needs them:
//!
//! - **Concurrency.** A request takes its place under `--max-concurrent` *before* its body is
//!   read (RESOURCE_EXHAUSTED, 429, when none is free), so the JSON port is bounded as the gRPC
//!   port is; the place travels with the request through the gRPC stack.
//! - **Bytes in flight.** Bodies are read and decoded within a budget shared by all requests,
//!   `--max-inflight-bytes`: a body first reserves its `content-length` (or the message limit
//!   when it has none) while it is read, then what decoding it can take: `decode_cost`, an upper
//!   bound from one linear scan of the JSON (every string, object or array becomes a heap
//!   allocation of its own, about 130 bytes with its place in a vector; the body is also held
//!   twice, as JSON and re-encoded for the gRPC stack). One short word per 4 bytes makes a
//!   4 MB body cost 130 MB decoded, so the cost, not the length, is what must fit. A request
//!   waits for room at most `--read-timeout`; one that cannot fit even alone is refused at once.
//!   Both answers are RESOURCE_EXHAUSTED (429) naming the flag. The budget is the gRPC port's
//!   too (`budget`): the gRPC request the gateway then sends in process is marked as charged,
//!   so it is not charged twice.
//! - **Request size.** A request target over 8 KiB answers 414, over 100 headers or 64 KiB of
//!   them 431, a body over the message limit 413.
//! - **Host.** A browser lets any web page send requests to `127.0.0.1` once the page's own
//!   name is made to resolve there (DNS rebinding): the request then carries the attacker's
//!   name in `Host`. With no token configured the daemon would answer it, so the port answers
//!   only Host values that are IP literals, `localhost`, or names given with
//!   `--http-allowed-host` (any port); others get 403 PERMISSION_DENIED. A request without a
//!   Host (HTTP/1.0, no browser) passes.

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

use super::budget::{Charged, Reservation, DECODED_BYTES_PER_VALUE};
use super::proto;

/// The gRPC service stack, layers included, as one cloneable service.
pub(crate) type GrpcStack =
    BoxCloneSyncService<http::Request<Body>, http::Response<Body>, Infallible>;

/// What the router needs besides the gRPC stack.
pub(crate) struct Options {
    /// Largest body, bytes (the message limit).
    pub max_body: usize,
    /// Time for a body to arrive, and for room in the budget.
    pub read_timeout: std::time::Duration,
    /// The budget of bytes in flight (`--max-inflight-bytes`), shared with the gRPC port.
    pub budget: super::budget::Budget,
    /// The gRPC stack's concurrency limit, whose place a request takes before its body.
    pub shed: super::layers::LoadShedLayer,
    /// Host names answered besides IP literals and localhost.
    pub allowed_hosts: Vec<String>,
    /// Serve the explorer page at `/`.
    pub explorer: bool,
}

#[derive(Clone)]
struct Gateway {
    grpc: GrpcStack,
    max_body: usize,
    read_timeout: std::time::Duration,
    shed: super::layers::LoadShedLayer,
    budget: super::budget::Budget,
    allowed_hosts: Arc<[String]>,
}

/// Longest request target, bytes.
const MAX_URI_BYTES: usize = 8 << 10;
/// Most request headers.
const MAX_HEADERS: usize = 100;
/// Most bytes of request headers, names and values.
const MAX_HEADER_BYTES: usize = 64 << 10;

type BoxedCall = std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>>;

/// One RPC as JSON: decode the JSON request, encode it for gRPC, and back.
type Call = fn(Gateway, HeaderMap, ReadBody) -> BoxedCall;

/// A read body with its place under `--max-concurrent` and its share of the byte budget.
struct ReadBody {
    bytes: Bytes,
    permit: super::layers::WorkPermit,
    _budget: Reservation,
}

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
    "Embeddings" "Upsert": proto::UpsertRequest => proto::WriteResponse;
    "Embeddings" "Delete": proto::DeleteRequest => proto::WriteResponse;
    "Admin" "Reload": proto::ReloadRequest => proto::ReloadResponse;
    "Admin" "Compact": proto::CompactRequest => proto::CompactResponse;
}

/// The explorer page: one file, its script and style inline, compiled into the binary (no CDN:
/// it works on machines without internet). It calls the JSON API of the port it came from.
const EXPLORER: &str = include_str!("explorer/index.html");

/// The router of the HTTP/JSON port over `grpc`, with the bounds of `o`; with `o.explorer`,
/// the explorer page at `/`.
pub(crate) fn router(grpc: GrpcStack, o: Options) -> Router {
    let router = if o.explorer {
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
    let gw = Gateway {
        grpc,
        max_body: o.max_body,
        read_timeout: o.read_timeout,
        shed: o.shed,
        budget: o.budget,
        allowed_hosts: o.allowed_hosts.into(),
    };
    router
        .route("/v1/{service}/{method}", post(rpc))
        .route("/openapi.json", get(openapi))
        .route("/healthz", get(|| async { "ok\n" }))
        .fallback(|| async { error(StatusCode::NOT_FOUND, Code::NotFound, "no such path") })
        .method_not_allowed_fallback(|| async {
            error(
                StatusCode::METHOD_NOT_ALLOWED,
                Code::Unimplemented,
                "this path does not answer that method (RPCs are POST, documents GET)",
            )
        })
        .layer(DefaultBodyLimit::max(o.max_body))
        .layer(axum::middleware::from_fn_with_state(gw.clone(), screen))
        .with_state(gw)
}

/// Refuses, before routing, a request whose Host is not ours or whose target or headers are
/// over their limits (see the module documentation).
async fn screen(
    State(gw): State<Gateway>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .map(|h| h.to_str().unwrap_or("\u{fffd}"))
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    if let Some(host) = host {
        if !host_allowed(host, &gw.allowed_hosts) {
            return error(
                StatusCode::FORBIDDEN,
                Code::PermissionDenied,
                &format!(
                    "this server does not answer for host {:?}: use an IP address or localhost, or start it with --http-allowed-host NAME",
                    crate::limits::echo(host)
                ),
            );
        }
    }
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target > MAX_URI_BYTES {
        return error(
            StatusCode::URI_TOO_LONG,
            Code::ResourceExhausted,
            &format!("the request target is {target} bytes, over the limit of {MAX_URI_BYTES}"),
        );
    }
    let headers = req.headers();
    let bytes: usize = headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len())
        .sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return error(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Code::ResourceExhausted,
            &format!(
                "{} headers of {bytes} bytes, over the limits of {MAX_HEADERS} headers and {MAX_HEADER_BYTES} bytes",
                headers.len()
            ),
        );
    }
    next.run(req).await
}

/// Whether `host` (a Host header: name or address, and an optional port) names this server: an
/// IP literal, `localhost`, or one of `allowed` (case-insensitive).
fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let port_ok = |p: &str| {
        p.is_empty()
            || p.strip_prefix(':')
                .is_some_and(|p| p.parse::<u16>().is_ok())
    };
    if let Some(rest) = host.strip_prefix('[') {
        return rest
            .split_once(']')
            .is_some_and(|(ip, port)| ip.parse::<std::net::Ipv6Addr>().is_ok() && port_ok(port));
    }
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port_ok(&format!(":{port}")) => name,
        Some(_) => return false,
        None => host,
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    name.parse::<std::net::Ipv4Addr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        || allowed
            .iter()
            .any(|a| a.strip_suffix('.').unwrap_or(a).eq_ignore_ascii_case(name))
}

/// An upper bound of the memory a JSON body takes once decoded and re-encoded: twice its bytes,
/// and [`DECODED_BYTES_PER_VALUE`] for each string, object and array (one linear scan).
fn decode_cost(body: &[u8]) -> usize {
    let (mut values, mut in_string, mut escaped) = (0usize, false, false);
    for &b in body {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => {
                    in_string = true;
                    values += 1;
                }
                b'{' | b'[' => values += 1,
                _ => {}
            }
        }
    }
    body.len()
        .saturating_mul(2)
        .saturating_add(values.saturating_mul(DECODED_BYTES_PER_VALUE))
}

async fn rpc(
    State(gw): State<Gateway>,
    path: Result<Path<(String, String)>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let Ok(Path((service, method))) = path else {
        return error(
            StatusCode::BAD_REQUEST,
            Code::InvalidArgument,
            "the path is not valid percent-encoded UTF-8",
        );
    };
    let Some(&(_, _, call)) = RPCS.iter().find(|(s, m, _)| *s == service && *m == method) else {
        return error(
            http_status(Code::Unimplemented),
            Code::Unimplemented,
            &format!(
                "no RPC {}/{}; GET /openapi.json lists them",
                crate::limits::echo(&service),
                crate::limits::echo(&method)
            ),
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
    match read_body(&gw, &headers, body).await {
        Ok(body) => call(gw, headers, body).await,
        Err(answer) => answer,
    }
}

/// Reads a request's body under a place of `--max-concurrent` and within the byte budget.
async fn read_body(
    gw: &Gateway,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<ReadBody, Response> {
    let too_large = |what: String| {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::ResourceExhausted,
            &format!(
                "the body is over the limit of {} bytes or broken: {what}",
                gw.max_body
            ),
        )
    };
    let permit = match gw.shed.try_permit() {
        Ok(p) => p,
        Err(s) => return Err(drained(gw, body, status_error(&s)).await),
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // Over the limit, `to_bytes` stops at the limit: the reservation needs no more.
    let reserve = declared.map_or(gw.max_body, |n| n.min(gw.max_body as u64) as usize);
    let reading = match reserve_bytes(gw, reserve).await {
        Ok(r) => r,
        Err(answer) => return Err(drained(gw, body, answer).await),
    };
    let bytes = match tokio::time::timeout(gw.read_timeout, axum::body::to_bytes(body, gw.max_body))
        .await
    {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => return Err(too_large(e.to_string())),
        Err(_) => {
            return Err(error(
                StatusCode::REQUEST_TIMEOUT,
                Code::DeadlineExceeded,
                "the request's body did not arrive in time",
            ))
        }
    };
    drop(reading);
    let budget = reserve_bytes(gw, decode_cost(&bytes)).await?;
    Ok(ReadBody {
        bytes,
        permit,
        _budget: budget,
    })
}

/// `answer`, given once the unread `body` has been read and dropped (frame by frame, at most the
/// message limit, within the read timeout). A request refused before its body is read is still
/// sending it: closing the connection under it resets it, and the client loses the answer with
/// the rest of its write. Draining holds one frame at a time, no place and no budget.
async fn drained(gw: &Gateway, mut body: axum::body::Body, answer: Response) -> Response {
    let mut seen = 0usize;
    let _ = tokio::time::timeout(gw.read_timeout, async {
        while let Some(Ok(frame)) = body.frame().await {
            seen += frame.data_ref().map_or(0, |d| d.len());
            if seen > gw.max_body {
                break;
            }
        }
    })
    .await;
    answer
}

/// `n` bytes of the in-flight budget, waiting for room at most the read timeout.
async fn reserve_bytes(gw: &Gateway, n: usize) -> Result<Reservation, Response> {
    gw.budget.reserve(n).await.map_err(|s| status_error(&s))
}

/// Decodes `Req` from JSON, sends it through the gRPC stack to `path`, and answers `Resp` as
/// JSON (or the gRPC status as an HTTP error).
async fn call<Req, Resp>(
    gw: Gateway,
    path: &'static str,
    headers: HeaderMap,
    body: ReadBody,
) -> Response
where
    Req: Message + serde::de::DeserializeOwned + Default,
    Resp: Message + serde::Serialize + Default,
{
    let ReadBody {
        bytes: body,
        permit,
        _budget,
    } = body;
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
    drop(req);
    drop(body);
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
    let mut grpc = match grpc.body(Body::new(http_body_util::Full::new(Bytes::from(frame)))) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                Code::InvalidArgument,
                &e.to_string(),
            )
        }
    };
    grpc.extensions_mut().insert(permit);
    // Charged above: the gRPC stack's budget layer lets it pass.
    grpc.extensions_mut().insert(Charged);
    let Ok(response) = gw.grpc.clone().oneshot(grpc).await;
    // The request was decoded again by the handler: its share of the budget ends with it.
    drop(_budget);
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

/// Serves `router` on `acceptor`'s connections until `shutdown` completes, then lets requests
/// in flight finish.
///
/// hyper's server rather than `axum::serve`, for its timers: a client must send a request's
/// headers within `read_timeout` of starting it (HTTP/1; HTTP/2 connections are pinged and
/// closed when they stop answering), and the request handler gives the body the same time
/// (408 otherwise), so a client that stalls cannot hold a connection or the shutdown. The
/// connections' own timeouts and cap are [`super::conn::Acceptor`]'s.
pub(crate) async fn serve_http(
    mut acceptor: super::conn::Acceptor,
    router: Router,
    read_timeout: std::time::Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(read_timeout)
        // Above `MAX_HEADERS`, so that the JSON 431 of `screen` answers first.
        .max_headers(256);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(read_timeout)
        .keep_alive_timeout(read_timeout);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            stream = acceptor.next() => {
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
    drop(acceptor);
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
    fn hosts() {
        let allowed = ["wordvec.internal".to_owned()];
        for ok in [
            "127.0.0.1",
            "127.0.0.1:8080",
            "[::1]",
            "[::1]:80",
            "localhost",
            "LOCALHOST:1",
            "localhost.",
            "Wordvec.Internal:443",
        ] {
            assert!(host_allowed(ok, &allowed), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:80",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "[::1]x",
            "127.0.0.1:http",
            "",
            "\u{fffd}",
        ] {
            assert!(!host_allowed(bad, &allowed), "{bad}");
        }
    }

    #[test]
    fn decode_cost_counts_values_not_only_bytes() {
        let words = format!("[{}]", vec!["\"a\""; 1000].join(","));
        let floats = format!("[{}]", vec!["0.125"; 1000].join(","));
        assert!(decode_cost(words.as_bytes()) >= 1000 * DECODED_BYTES_PER_VALUE);
        assert!(decode_cost(floats.as_bytes()) < 3 * floats.len());
        // Quotes and brackets inside strings are text, escaped quotes too.
        assert_eq!(decode_cost(br#""a\"[{""#), 2 * 7 + DECODED_BYTES_PER_VALUE);
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

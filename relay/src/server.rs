//! The HTTP surface: `GET /health`, `POST /v1/circles/{circle}/sync`, and the district's
//! `POST /v1/district/closes`, `POST /district/login` and `GET /district` ([`crate::district`]).
//!
//! A sync request is judged from its head first: the declared length against the limit (413),
//! the circle id (400), the `authorization` header (401), then [`Relay::admit`]: the time, the
//! circle (404), the key's standing in the circle (403). Only an admitted request has its body
//! read, chunk by chunk as it arrives, refused with 413 as soon as it crosses the limit and
//! with 408 when it stalls or takes too long; then [`Relay::answer`] checks the signature over
//! it, records the nonce and answers. A refusal before the whole body is read closes the
//! connection, so the unread rest is never waited for.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use carebank_core::ids::Id;
use carebank_core::sync::{AUTH_HEADER, RequestAuth};
use tokio::sync::Semaphore;

use carebank_core::report::district::DistrictMonth;
use carebank_core::time::Month;

use crate::RelayError;
use crate::district::{DistrictOf, MAX_DISTRICT_BODY};
use crate::state::{Admitted, Relay};

/// How request bodies are read.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// The largest body accepted, in bytes.
    pub max_bytes: usize,
    /// The longest wait for the body's next bytes.
    pub idle: Duration,
    /// The longest the whole body may take.
    pub total: Duration,
}

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The relay's state; each circle has a lock of its own inside.
    pub relay: Arc<Relay>,
    /// How bodies are read.
    pub body: BodyLimits,
    /// One permit per sync request handled at once; without one, a request is shed (503).
    pub requests: Arc<Semaphore>,
}

/// The relay's routes.
pub fn router(app: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/v1/circles/{circle}/sync", post(sync))
        .route("/v1/district/closes", post(district_request))
        .route("/district/login", post(district_request))
        .route("/district", get(district_page))
        .with_state(app)
}

fn now_ms() -> i64 {
    carebank_core::hlc::wall_clock_ms() as i64
}

/// The preallocation for a body beyond which the buffer grows as bytes arrive (a declared
/// length is a claim, not bytes).
const PREALLOCATE_AT_MOST: usize = 1024 * 1024;

/// Runs `work` on the relay off the async threads.
async fn blocking<T: Send + 'static>(
    app: &AppState,
    work: impl FnOnce(&Relay) -> Result<T, RelayError> + Send + 'static,
) -> Result<T, RelayError> {
    let relay = app.relay.clone();
    tokio::task::spawn_blocking(move || work(&relay))
        .await
        .map_err(|e| RelayError::Internal(format!("worker: {e}")))?
}

async fn health(State(app): State<AppState>) -> Response {
    match blocking(&app, |relay| relay.health()).await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({ "status": "ok" })),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// A refusal given before the whole body was read: the connection closes after it, so the
/// rest of the body is neither read nor waited for.
fn refuse_unread(e: RelayError) -> Response {
    let mut response = e.into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

async fn sync(
    State(app): State<AppState>,
    Path(circle): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let Ok(_permit) = app.requests.clone().try_acquire_owned() else {
        return refuse_unread(RelayError::Busy(
            "the relay is handling as many requests as it may; retry shortly".into(),
        ));
    };
    let (admitted, declared) = match admit(&app, &circle, &headers).await {
        Ok(admitted) => admitted,
        Err(e) => return refuse_unread(e),
    };
    let body = match read_body(body, app.body, declared).await {
        Ok(body) => body,
        Err(e) => return refuse_unread(e),
    };
    let (circle, key) = (admitted.circle(), admitted.key());
    let path = uri.path().to_string();
    let received = body.len();
    let answered = blocking(&app, move |relay| relay.answer(admitted, &path, &body))
        .await
        .and_then(|(request, reply)| Ok((request, reply.encode()?, reply)));
    let (request, reply_bytes, reply) = match answered {
        Ok(answered) => answered,
        Err(e) => return e.into_response(),
    };
    tracing::info!(
        %circle,
        device = %key,
        request = request.name(),
        reply = reply.name(),
        bytes_in = received,
        bytes_out = reply_bytes.len(),
        ms = started.elapsed().as_millis() as u64,
        "sync round"
    );
    // No content type: the body is a sync message by definition of the route, and every
    // header byte counts on a 2G link.
    // (`Vec<u8>`'s own `IntoResponse` would add `application/octet-stream`.)
    Response::new(Body::from(reply_bytes))
}

/// Judges a sync request from its head; returns it admitted, with its declared body length.
async fn admit(
    app: &AppState,
    circle: &str,
    headers: &HeaderMap,
) -> Result<(Admitted, Option<u64>), RelayError> {
    let declared = match headers.get(header::CONTENT_LENGTH) {
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| RelayError::BadRequest("bad content-length".into()))?,
        ),
        None => None,
    };
    if let Some(declared) = declared
        && declared > app.body.max_bytes as u64
    {
        return Err(too_large(app.body.max_bytes));
    }
    let circle: Id = circle
        .parse()
        .map_err(|_| RelayError::BadRequest(format!("{circle:?} is not a circle id")))?;
    let auth = request_auth(headers)?;
    let admitted = blocking(app, move |relay| relay.admit(circle, auth, now_ms())).await?;
    Ok((admitted, declared))
}

/// The request's signature, from its `authorization` header.
fn request_auth(headers: &HeaderMap) -> Result<RequestAuth, RelayError> {
    headers
        .get(AUTH_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| RelayError::Unauthorised("missing authorization header".into()))
        .and_then(|v| RequestAuth::parse_header(v).map_err(RelayError::Unauthorised))
}

/// Reads and admits a district official's signed request (its body: the official's chain).
async fn official(
    app: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<DistrictOf, RelayError> {
    let auth = request_auth(headers)?;
    let limits = BodyLimits {
        max_bytes: MAX_DISTRICT_BODY,
        ..app.body
    };
    let body = read_body(body, limits, None).await?;
    let path = uri.path().to_string();
    blocking(app, move |relay| {
        relay.official(&auth, &path, &body, now_ms())
    })
    .await
}

/// The cookie that carries a district page session.
const SESSION_COOKIE: &str = "carebank_district";

/// `POST /v1/district/closes` and `POST /district/login`: an official's signed request,
/// answered with the district's closes, or with a page session.
async fn district_request(
    State(app): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let district = match official(&app, &uri, &headers, body).await {
        Ok(district) => district,
        Err(e) => return refuse_unread(e),
    };
    if uri.path() == "/v1/district/closes" {
        return match blocking(&app, move |relay| relay.district_closes(&district)).await {
            Ok(closes) => axum::Json(closes).into_response(),
            Err(e) => e.into_response(),
        };
    }
    let name = district.name.clone();
    let token = match blocking(&app, move |relay| relay.open_session(district, now_ms())).await {
        Ok(token) => token,
        Err(e) => return e.into_response(),
    };
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/district; HttpOnly; SameSite=Strict; Max-Age=3600"
    );
    let mut response = axum::Json(serde_json::json!({ "district": name })).into_response();
    match HeaderValue::from_str(&cookie) {
        Ok(value) => {
            response.headers_mut().insert(header::SET_COOKIE, value);
            response
        }
        Err(e) => RelayError::Internal(e.to_string()).into_response(),
    }
}

async fn district_page(State(app): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            pair.trim()
                .strip_prefix(&format!("{SESSION_COOKIE}="))
                .map(String::from)
        })
        .unwrap_or_default();
    let month = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("month="))
        .map(String::from);
    let page = blocking(&app, move |relay| {
        let district = relay.session(&token, now_ms())?;
        let month = match month {
            Some(text) => text
                .parse::<Month>()
                .map_err(|e| RelayError::BadRequest(e.to_string()))?,
            None => Month::of_instant(now_ms()),
        };
        let (closes, _) = relay.verified_closes(&district)?;
        let closes: Vec<_> = closes.into_iter().map(|(close, _)| close).collect();
        let table = DistrictMonth::assemble(&month.to_string(), &district.name, &closes, &[]);
        Ok(crate::district_page::render(&table))
    })
    .await;
    match page {
        Ok(html) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(e) => e.into_response(),
    }
}

fn too_large(max_bytes: usize) -> RelayError {
    RelayError::TooLarge(format!("the body is over the limit of {max_bytes} bytes"))
}

/// Reads a body as it arrives: refused as soon as it crosses the limit, or when its next
/// bytes take longer than the idle bound, or the whole longer than the total bound.
async fn read_body(
    mut body: Body,
    limits: BodyLimits,
    declared: Option<u64>,
) -> Result<Vec<u8>, RelayError> {
    let started = tokio::time::Instant::now();
    let deadline = started + limits.total;
    let expected = declared.map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let mut bytes = Vec::with_capacity(expected.min(limits.max_bytes).min(PREALLOCATE_AT_MOST));
    loop {
        let wait = deadline
            .saturating_duration_since(tokio::time::Instant::now())
            .min(limits.idle);
        let next = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx));
        let frame = match tokio::time::timeout(wait, next).await {
            Ok(Some(frame)) => {
                frame.map_err(|e| RelayError::BadRequest(format!("reading the body: {e}")))?
            }
            Ok(None) => return Ok(bytes),
            Err(_) => {
                return Err(RelayError::Timeout(format!(
                    "the body stalled or was too slow: {} bytes in {} ms (bounds: {} ms without \
                     a byte, {} ms in all)",
                    bytes.len(),
                    started.elapsed().as_millis(),
                    limits.idle.as_millis(),
                    limits.total.as_millis()
                )));
            }
        };
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > limits.max_bytes {
                return Err(too_large(limits.max_bytes));
            }
            bytes.extend_from_slice(&data);
        }
    }
}

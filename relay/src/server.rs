//! The HTTP surface: `GET /health` and `POST /v1/circles/{circle}/sync`.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use carebank_core::ids::Id;
use carebank_core::sync::{AUTH_HEADER, RequestAuth};

use crate::RelayError;
use crate::state::Relay;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The relay's state; each circle has a lock of its own inside.
    pub relay: Arc<Relay>,
}

/// The relay's routes, with the body limit applied.
pub fn router(app: AppState, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/v1/circles/{circle}/sync", post(sync))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(app)
}

fn now_ms() -> i64 {
    carebank_core::hlc::wall_clock_ms() as i64
}

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

async fn sync(
    State(app): State<AppState>,
    Path(circle): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RelayError> {
    let started = Instant::now();
    let circle: Id = circle
        .parse()
        .map_err(|_| RelayError::BadRequest(format!("{circle:?} is not a circle id")))?;
    let auth = headers
        .get(AUTH_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| RelayError::Unauthorised("missing authorization header".into()))
        .and_then(|v| RequestAuth::parse_header(v).map_err(RelayError::Unauthorised))?;
    let path = uri.path().to_string();
    let received = body.len();
    let key = auth.key;
    let (request, reply) = blocking(&app, move |relay| {
        relay.sync(circle, &path, &body, &auth, now_ms())
    })
    .await?;
    let reply_bytes = reply.encode()?;
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
    Ok(Response::new(axum::body::Body::from(reply_bytes)))
}

//! Fake Teams webhook server on 127.0.0.1 that responds to each post as its token's
//! `Behavior` sets, and records what it received.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use url::Url;

/// Response of the fake webhook of one token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// `200` with body `1`.
    Ok,
    /// `200` with Teams' throttling message in the body.
    ThrottledIn200,
    /// `429` with `Retry-After: 0`.
    TooManyRequests,
    Gone,
    NotFound,
    PayloadTooLarge,
    /// `200` with Teams' bad request message in the body.
    BadRequestIn200,
    ServerError,
    /// `202` with an empty body, like a Workflows trigger.
    Accepted,
    /// Waits this long, then `200` with body `1`.
    Slow(Duration),
    /// Waits this long, then `410`.
    SlowGone(Duration),
    /// `503` with `Retry-After: 1` for the first `n` task event cards, then `200` with
    /// body `1`. Welcome cards always get `200`.
    FailEventCards(u32),
    /// `503` with `Retry-After: 1`.
    Unavailable,
}

/// One post that the fake server responded to.
#[derive(Debug, Clone)]
pub struct Received {
    pub token: String,
    pub body: Bytes,
    pub status: u16,
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// Returns `true` if the post is a task event card rather than a welcome card.
    pub fn is_event_card(&self) -> bool {
        String::from_utf8_lossy(&self.body).contains("\"Task id\"")
    }

    pub fn delivered(&self) -> bool {
        self.status == 200 || self.status == 202
    }
}

#[derive(Default)]
struct Recorder {
    behaviors: HashMap<String, Behavior>,
    received: Vec<Received>,
}

/// Running fake webhook server.
pub struct FakeWebhooks {
    origin: Url,
    recorder: Arc<Mutex<Recorder>>,
    task: JoinHandle<()>,
}

impl FakeWebhooks {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let recorder = Arc::new(Mutex::new(Recorder::default()));
        let app = Router::new()
            .route("/webhooks/{token}", post(receive))
            .with_state(Arc::clone(&recorder));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });

        Self {
            origin: Url::parse(&format!("http://{address}")).unwrap(),
            recorder,
            task,
        }
    }

    /// Origin to pass as the backend's development webhook origin.
    pub fn origin(&self) -> Url {
        self.origin.clone()
    }

    /// Returns the webhook URL of `token`.
    pub fn url(&self, token: &str) -> String {
        format!("{}webhooks/{token}", self.origin)
    }

    pub fn set_behavior(&self, token: &str, behavior: Behavior) {
        self.recorder
            .lock()
            .unwrap()
            .behaviors
            .insert(token.to_owned(), behavior);
    }

    /// Returns every post responded to so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.recorder.lock().unwrap().received.clone()
    }

    /// Returns the posts responded to for `token`.
    pub fn received_by(&self, token: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|received| received.token == token)
            .collect()
    }
}

impl Drop for FakeWebhooks {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State(recorder): State<Arc<Mutex<Recorder>>>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let behavior = {
        let recorder = recorder.lock().unwrap();
        let behavior = recorder
            .behaviors
            .get(&token)
            .copied()
            .unwrap_or(Behavior::Ok);
        match behavior {
            Behavior::FailEventCards(count) => {
                let failed_before = recorder
                    .received
                    .iter()
                    .filter(|received| received.token == token && received.is_event_card())
                    .count();
                let is_event = String::from_utf8_lossy(&body).contains("\"Task id\"");
                if is_event && failed_before < count as usize {
                    Behavior::Unavailable
                } else {
                    Behavior::Ok
                }
            }
            behavior => behavior,
        }
    };

    if let Behavior::Slow(delay) | Behavior::SlowGone(delay) = behavior {
        tokio::time::sleep(delay).await;
    }
    let response = answer(behavior);

    recorder.lock().unwrap().received.push(Received {
        token,
        body,
        status: response.status().as_u16(),
        at: Instant::now(),
    });
    response
}

fn answer(behavior: Behavior) -> Response {
    match behavior {
        Behavior::Ok | Behavior::Slow(_) | Behavior::FailEventCards(_) => {
            (StatusCode::OK, "1").into_response()
        }
        Behavior::ThrottledIn200 => (
            StatusCode::OK,
            "Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0,server=fake",
        )
            .into_response(),
        Behavior::TooManyRequests => {
            let mut headers = HeaderMap::new();
            headers.insert("retry-after", "0".parse().unwrap());
            (StatusCode::TOO_MANY_REQUESTS, headers, "Too many requests").into_response()
        }
        Behavior::Gone | Behavior::SlowGone(_) => (StatusCode::GONE, "").into_response(),
        Behavior::NotFound => (StatusCode::NOT_FOUND, "").into_response(),
        Behavior::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "").into_response(),
        Behavior::BadRequestIn200 => (
            StatusCode::OK,
            "Webhook message delivery failed with error: Microsoft Teams endpoint returned \
             HTTP error 400 with ContextId tcid=0,server=fake",
        )
            .into_response(),
        Behavior::ServerError => (StatusCode::INTERNAL_SERVER_ERROR, "").into_response(),
        Behavior::Unavailable => {
            let mut headers = HeaderMap::new();
            headers.insert("retry-after", "1".parse().unwrap());
            (StatusCode::SERVICE_UNAVAILABLE, headers, "").into_response()
        }
        Behavior::Accepted => StatusCode::ACCEPTED.into_response(),
    }
}

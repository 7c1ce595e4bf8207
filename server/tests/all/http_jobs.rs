//! Analysis jobs that stop when nobody waits, explicit cancel, the per-user cap and the
//! export queue position, through `router(state)` + `oneshot` with a fake backend whose
//! loads block until their cancellation token fires.

use crate::http_support::fake;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use fake::{digest, get_json, request, send, FakeBackend};
use http_body_util::BodyExt as _;
use server::engine::ExportQueue;
use server::http::{router, AppState, JobsConfig, NOBODY_WAITING, SHUTTING_DOWN};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt as _;

/// A held-load backend and a router whose jobs use `grace` and `max` per user.
fn setup(grace: f64, max: u32, queue: Option<usize>) -> (axum::Router, AppState, Arc<FakeBackend>) {
    let backend = Arc::new(FakeBackend {
        hold: true,
        queue: queue.map(|n| Arc::new(ExportQueue::new(n))),
        ..FakeBackend::up()
    });
    let state = AppState::builder(backend.clone())
        .jobs(JobsConfig {
            grace_secs: grace,
            max_per_user: max,
            ..JobsConfig::default()
        })
        .build();
    (router(state.clone()), state, backend)
}

async fn start(app: &axum::Router, image: u8) -> serde_json::Value {
    let (status, _, body) = send(
        app,
        request(
            "POST",
            &format!("/api/v1/images/{}/analysis", digest(image)),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// The job's state as the registry holds it (not through `GET /jobs/{id}`, which
/// would count as interest).
fn peek(state: &AppState, job: &str) -> app::api::JobInfo {
    state.jobs.get(job).expect("job exists").info()
}

/// An open event stream: reads frames until one contains `needle`.
struct Stream(Body);

impl Stream {
    async fn open(app: &axum::Router, job: &str, viewer: Option<&str>) -> Stream {
        let uri = match viewer {
            Some(v) => format!("/api/v1/jobs/{job}/events?viewer={v}"),
            None => format!("/api/v1/jobs/{job}/events"),
        };
        let resp = app.clone().oneshot(request("GET", &uri)).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let mut s = Stream(resp.into_body());
        s.until("event: progress").await;
        s
    }

    async fn until(&mut self, needle: &str) -> String {
        let mut seen = String::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let frame = tokio::time::timeout_at(deadline, self.0.frame())
                .await
                .unwrap_or_else(|_| panic!("no {needle:?} on the stream; saw {seen:?}"));
            match frame {
                Some(Ok(f)) => {
                    if let Some(d) = f.data_ref() {
                        seen.push_str(&String::from_utf8_lossy(d));
                    }
                    if seen.contains(needle) {
                        return seen;
                    }
                }
                _ => panic!("stream ended before {needle:?}; saw {seen:?}"),
            }
        }
    }

    /// Whether the stream ends within a second (after whatever it still sends).
    async fn ends(&mut self) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        loop {
            match tokio::time::timeout_at(deadline, self.0.frame()).await {
                Err(_) => return false,
                Ok(None) => return true,
                Ok(Some(Err(_))) => return true,
                Ok(Some(Ok(_))) => {}
            }
        }
    }
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..100 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_nobody_waits_for_is_cancelled_after_the_grace_and_restarts() {
    let (app, state, backend) = setup(1.0, 3, None);
    let info = start(&app, 1).await;
    let job = info["id"].as_str().unwrap().to_owned();
    // An open stream keeps the job alive well past the grace period.
    let stream = Stream::open(&app, &job, None).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(peek(&state, &job).state, app::api::JobState::Running);
    assert_eq!(backend.cancelled_loads.load(Ordering::SeqCst), 0);
    // The client goes away: after the grace the job is cancelled and its load stopped.
    drop(stream);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(peek(&state, &job).state, app::api::JobState::Running);
    eventually("the job is cancelled", || {
        peek(&state, &job).state == app::api::JobState::Cancelled
    })
    .await;
    let info = peek(&state, &job);
    assert_eq!(info.error.as_deref(), Some(NOBODY_WAITING));
    eventually("the load saw its token", || {
        backend.cancelled_loads.load(Ordering::SeqCst) == 1
    })
    .await;
    // A cancelled analysis is not a failure: it is not ready, and says how to restart it.
    let (status, body) = get_json(&app, &format!("/api/v1/images/{}/analysis", digest(1))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "not_ready");
    assert!(body["message"].as_str().unwrap().contains(NOBODY_WAITING));
    // A later start runs it again, as a new job.
    let again = start(&app, 1).await;
    assert_ne!(again["id"], job.as_str());
    assert_eq!(again["state"], "running");
    assert_eq!(backend.loads.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_keeps_a_job_alive_without_a_stream() {
    let (app, state, backend) = setup(1.0, 3, None);
    let job = start(&app, 1).await["id"].as_str().unwrap().to_owned();
    for _ in 0..15 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let (status, info) = get_json(&app, &format!("/api/v1/jobs/{job}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(info["state"], "running");
    }
    eventually("the unpolled job is cancelled", || {
        peek(&state, &job).state == app::api::JobState::Cancelled
    })
    .await;
    eventually("the load saw its token", || {
        backend.cancelled_loads.load(Ordering::SeqCst) == 1
    })
    .await;
}

fn cancel(job: &str, viewer: Option<&str>) -> Request<Body> {
    let uri = match viewer {
        Some(v) => format!("/api/v1/jobs/{job}/cancel?viewer={v}"),
        None => format!("/api/v1/jobs/{job}/cancel"),
    };
    request("POST", &uri)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_a_job_only_its_caller_watches() {
    let (app, state, backend) = setup(60.0, 3, None);
    let job = start(&app, 1).await["id"].as_str().unwrap().to_owned();
    let mut mine = Stream::open(&app, &job, Some("tab-1")).await;
    let (status, _, body) = send(&app, cancel(&job, Some("tab-1"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(info["state"], "cancelled");
    assert!(info["error"].as_str().unwrap().starts_with("cancelled by "));
    assert!(mine.ends().await, "the caller's stream was not ended");
    eventually("the load saw its token", || {
        backend.cancelled_loads.load(Ordering::SeqCst) == 1
    })
    .await;
    // Cancelling an ended job changes nothing.
    let (status, _, body) = send(&app, cancel(&job, None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(peek(&state, &job).state, app::api::JobState::Cancelled);
    // A cross-origin page cannot cancel (the CSRF guard covers this POST).
    let job2 = start(&app, 2).await["id"].as_str().unwrap().to_owned();
    let mut forged = cancel(&job2, None);
    forged
        .headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    let (status, _, _) = send(&app, forged).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(peek(&state, &job2).state, app::api::JobState::Running);
    let (status, _, _) = send(&app, cancel("job-999", None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_with_another_viewer_detaches_only_the_caller() {
    let (app, state, backend) = setup(60.0, 3, None);
    let job = start(&app, 1).await["id"].as_str().unwrap().to_owned();
    let mut mine = Stream::open(&app, &job, Some("a")).await;
    let mut theirs = Stream::open(&app, &job, Some("b")).await;
    let (status, _, body) = send(&app, cancel(&job, Some("a"))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let err: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(err["code"], "viewers_waiting");
    assert_eq!(
        err["message"],
        "1 other viewer is waiting for this job; it keeps running for them"
    );
    assert!(mine.ends().await, "the caller's stream was not detached");
    assert!(!theirs.ends().await, "the other viewer's stream ended");
    assert_eq!(peek(&state, &job).state, app::api::JobState::Running);
    // A caller without a stream of its own cannot cancel it for the viewer either.
    let (status, _, _) = send(&app, cancel(&job, None)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // The last viewer can.
    let (status, _, body) = send(&app, cancel(&job, Some("b"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        theirs.ends().await,
        "the last viewer's stream was not ended"
    );
    assert_eq!(peek(&state, &job).state, app::api::JobState::Cancelled);
    eventually("the load saw its token", || {
        backend.cancelled_loads.load(Ordering::SeqCst) == 1
    })
    .await;
}

fn from(ip: [u8; 4], mut req: Request<Body>) -> Request<Body> {
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
    req
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_client_may_run_a_few_jobs_and_joining_is_free() {
    let (app, state, _) = setup(60.0, 2, None);
    let post = |n: u8| request("POST", &format!("/api/v1/images/{}/analysis", digest(n)));
    let me = [10, 0, 0, 1];
    let (s1, _, b1) = send(&app, from(me, post(1))).await;
    let (s2, _, _) = send(&app, from(me, post(2))).await;
    assert_eq!((s1, s2), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    let (status, headers, body) = send(&app, from(me, post(3))).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(headers["retry-after"], "5");
    let err: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(err["code"], "too_many_jobs");
    assert_eq!(
        err["message"],
        "client 10.0.0.1 already has 2 analyses running (at most 2 per user); wait for one to finish or cancel it"
    );
    // Joining a running job (mine or anyone's) does not count against the cap.
    let (status, _, again) = send(&app, from(me, post(1))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let first: serde_json::Value = serde_json::from_str(&b1).unwrap();
    let joined: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(first["id"], joined["id"]);
    // Another client has its own share, and may join mine.
    let other = [10, 0, 0, 2];
    let (status, _, _) = send(&app, from(other, post(3))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _, _) = send(&app, from(other, post(2))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _, _) = send(&app, from(other, post(4))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // Once one of mine ends (cancelled), I may start another.
    let job = first["id"].as_str().unwrap();
    let (status, _, _) = send(&app, cancel(job, None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(peek(&state, job).state, app::api::JobState::Cancelled);
    let (status, _, body) = send(&app, from(me, post(5))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_user_cap_answers_429_through_every_route_that_starts_jobs() {
    let (app, _, _) = setup(60.0, 1, None);
    let me = [10, 0, 0, 9];
    let analysis = |n: u8| request("POST", &format!("/api/v1/images/{}/analysis", digest(n)));
    let (status, _, body) = send(&app, from(me, analysis(1))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    // Every route that would start a second job of mine is refused the same way.
    let compare = request(
        "POST",
        &format!("/api/v1/compare?ids={},{}", digest(1), digest(2)),
    );
    for (route, req) in [
        ("POST .../analysis", analysis(2)),
        ("POST /compare", compare),
    ] {
        let (status, headers, body) = send(&app, from(me, req)).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{route}: {body}");
        assert_eq!(headers["retry-after"], "5", "{route}");
        let err: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(err["code"], "too_many_jobs", "{route}");
        assert!(err["message"]
            .as_str()
            .unwrap()
            .contains("at most 1 per user"));
    }
    // Joining my own running job, here by its tag, is free.
    let by_reference = request("POST", "/api/v1/images/sample%3A1/analysis");
    let (status, _, body) = send(&app, from(me, by_reference)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_jobs_report_their_place_as_the_queue_moves() {
    let (app, state, _) = setup(60.0, 0, Some(2));
    let mut jobs = Vec::new();
    for n in 1..=4 {
        jobs.push(start(&app, n).await["id"].as_str().unwrap().to_owned());
        // Enter the queue in order.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let positions = |state: &AppState| -> Vec<Option<u32>> {
        jobs.iter()
            .map(|j| peek(state, j).progress.queue_position)
            .collect()
    };
    eventually("two run and two wait", || {
        positions(&state) == vec![None, None, Some(1), Some(2)]
    })
    .await;
    let (_, info) = get_json(&app, &format!("/api/v1/jobs/{}", jobs[3])).await;
    assert_eq!(info["progress"]["queue_position"], 2);
    let mut third = Stream::open(&app, &jobs[2], None).await;
    // The first job is cancelled: the third gets its slot, the fourth moves up.
    let (status, _, _) = send(&app, cancel(&jobs[0], None)).await;
    assert_eq!(status, StatusCode::OK);
    eventually("the queue moves", || {
        positions(&state) == vec![None, None, None, Some(1)]
    })
    .await;
    // Its stream shows the slot taken: a progress event without a queue position.
    third.until("\"layers\":2}").await;
    let (_, info) = get_json(&app, &format!("/api/v1/jobs/{}", jobs[3])).await;
    assert_eq!(info["progress"]["queue_position"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_past_its_time_limit_is_stopped_even_while_watched() {
    let backend = Arc::new(FakeBackend {
        hold: true,
        ..FakeBackend::up()
    });
    let state = AppState::builder(backend.clone())
        .jobs(JobsConfig {
            max_secs: 0.5,
            ..JobsConfig::default()
        })
        .build();
    let app = router(state.clone());
    let job = start(&app, 1).await["id"].as_str().unwrap().to_owned();
    let mut stream = Stream::open(&app, &job, None).await;
    let frame = stream.until("cancelled").await;
    assert!(frame.contains("--max-job-secs"), "{frame}");
    let info = peek(&state, &job);
    assert!(info
        .error
        .unwrap_or_default()
        .contains("nothing of it was cached"));
    eventually("the load saw its token", || {
        backend.cancelled_loads.load(Ordering::SeqCst) == 1
    })
    .await;
    // A new start is a new job with a fresh clock.
    let again = start(&app, 1).await;
    assert_ne!(again["id"], job.as_str());
    assert_eq!(again["state"], "running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_cancels_running_jobs_and_ends_their_streams() {
    let (app, state, backend) = setup(60.0, 3, None);
    let job = start(&app, 1).await["id"].as_str().unwrap().to_owned();
    let mut stream = Stream::open(&app, &job, None).await;
    assert_eq!(state.jobs.cancel_all(SHUTTING_DOWN), 1);
    let frame = stream.until("cancelled").await;
    assert!(frame.contains("shutting down"), "{frame}");
    assert!(
        stream.ends().await,
        "the event stream ends, so shutdown need not wait"
    );
    eventually("the load saw its token", || {
        backend.cancelled_loads.load(Ordering::SeqCst) == 1
    })
    .await;
    assert_eq!(
        state.jobs.cancel_all(SHUTTING_DOWN),
        0,
        "nothing left running"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_starts_count_against_the_cap_too() {
    let (app, _, backend) = setup(60.0, 2, None);
    let me = [10, 0, 0, 9];
    let compare = |a: u8, b: u8| {
        request(
            "POST",
            &format!("/api/v1/compare?ids={},{}", digest(a), digest(b)),
        )
    };
    // Two new analyses: within the cap, pending.
    let (status, _, body) = send(&app, from(me, compare(1, 2))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    // Two more through another pair: refused like POST .../analysis would be.
    let (status, headers, body) = send(&app, from(me, compare(3, 4))).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(headers["retry-after"], "5");
    assert!(body.contains("too_many_jobs"), "{body}");
    assert_eq!(
        backend.loads.load(Ordering::SeqCst),
        2,
        "no third load started"
    );
    // Asking again about the running pair only joins.
    let (status, _, _) = send(&app, from(me, compare(2, 1))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(backend.loads.load(Ordering::SeqCst), 2);
}

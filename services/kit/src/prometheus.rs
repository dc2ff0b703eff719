//! Prometheus metrics: the process's one recorder and `GET /metrics`.
//!
//! Everything records through the `metrics` facade (the bus: messages published, handled,
//! retried, dead-lettered, handler latency, outbox backlog; the kit: HTTP requests); this module
//! installs the recorder behind the facade once per process, so in-process tests that run
//! several services share it, and renders it in the Prometheus text format.

use std::sync::OnceLock;

use actix_web::{HttpResponse, web};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The Prometheus text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// Bucket bounds (seconds) of every `*_duration_seconds` histogram: from a fast handler or
/// request (a millisecond) to a held `?wait=` request (a minute).
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use. If another recorder was installed first
/// (something outside the kit), the facade keeps that one and `/metrics` renders an empty,
/// valid page; that is logged once.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        // Fails only for an empty list of buckets, which DURATION_BUCKETS is not.
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_duration_seconds".into()), DURATION_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        match builder.install_recorder() {
            Ok(handle) => handle,
            Err(error) => {
                tracing::warn!(%error, "another metrics recorder is installed; /metrics stays empty");
                PrometheusBuilder::new().build_recorder().handle()
            }
        }
    })
}

/// `GET /metrics`.
pub fn routes(config: &mut web::ServiceConfig) {
    config.route("/metrics", web::get().to(metrics));
}

/// Every metric of the process, in the Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Every metric of the process, in the Prometheus text format", content_type = "text/plain"))
)]
pub(crate) async fn metrics() -> HttpResponse {
    let handle = handle();
    // Drains histogram samples recorded since the last render; no background task needed.
    handle.run_upkeep();
    HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .body(handle.render())
}

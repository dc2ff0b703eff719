//! The HTTP server every service runs: the kit's health, metrics and documentation routes,
//! extractor configs, JSON errors (405 with `Allow` for a method a path lacks), trace context,
//! request metrics and request log around the service's own routes, stopped by a cancellation
//! token.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use tokio_util::sync::CancellationToken;

use crate::api_error::{json_config, not_found, path_config, query_config};
use crate::health::{self, Readiness};
use crate::middleware::{json_errors, log_request, record_metrics, trace_context};
use crate::{fallback, openapi, prometheus};

/// How long in-flight requests may take to finish once a stop is asked for, in seconds.
const SHUTDOWN_TIMEOUT_SECS: u64 = 10;

/// Builds (does not start) the server on `listener`. `routes` registers the service's own
/// handlers and their `app_data`; it runs once per worker, hence `Clone`.
///
/// The service's routes come after the kit's configs, so a service may still override the
/// `JsonConfig` of one resource. Signals are not handled here: [`serve_until`] stops the server
/// when the shared shutdown token is cancelled.
pub fn http_server<F>(
    listener: TcpListener,
    readiness: Readiness,
    routes: F,
) -> std::io::Result<Server>
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    // Before the first request: whatever is recorded before the recorder exists is lost.
    prometheus::handle();
    let readiness = web::Data::new(readiness);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(json_errors))
            .wrap(from_fn(record_metrics))
            .wrap(from_fn(log_request))
            .wrap(from_fn(trace_context))
            .app_data(json_config())
            .app_data(path_config())
            .app_data(query_config())
            .app_data(readiness.clone())
            .configure(health::routes)
            .configure(prometheus::routes)
            .configure(openapi::routes)
            .configure(routes.clone())
            // Last: a method a path lacks is a 405 with `Allow`, not the default 404.
            .configure(fallback::routes)
            .default_service(web::to(not_found))
    })
    .disable_signals()
    .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Runs `server` until it fails or `shutdown` is cancelled; then stops accepting, lets in-flight
/// requests finish (up to the shutdown timeout) and returns once the server is down.
pub async fn serve_until(server: Server, shutdown: CancellationToken) -> std::io::Result<()> {
    let handle = server.handle();
    let mut server = std::pin::pin!(server);
    tokio::select! {
        result = &mut server => result,
        () = shutdown.cancelled() => {
            tracing::info!("stopping the HTTP server");
            // The stop command is processed by the server future itself: poll both.
            let ((), result) = tokio::join!(handle.stop(true), server);
            tracing::info!("the HTTP server stopped");
            result
        }
    }
}

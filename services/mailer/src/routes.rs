//! The mailer's HTTP API (besides the kit's `/health/*`).

mod emails;

use actix_web::web;

/// Registers the mailer's routes; the pool is in the app data.
pub fn configure(config: &mut web::ServiceConfig) {
    config.route("/emails", web::get().to(emails::list));
}

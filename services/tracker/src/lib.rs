//! # tracker
//!
//! Watches the choreography: a subscriber added like any other (no producer touched) whose queue
//! `tracker` binds `#` on every exchange of the shop, so it receives a copy of every event. It
//! stores each one once (routing key, producer, message, correlation and causation ids, time,
//! payload) in its own database, and serves:
//!
//! - `GET /flows/{order_id}`: the timeline of one order across all services, each event with
//!   what caused it; `GET /flows?limit=`: the latest orders seen;
//! - `GET /topology`: exchanges → bindings → queues → consuming services, read live from the
//!   RabbitMQ management API;
//! - `GET /stalled`: the orders stalled past the deadline of their status, as the order service
//!   lists them (`GET /orders?stalled=true`);
//! - `GET /dead-letters` and `POST /dead-letters/replay`: the dead letters of the vhost, grouped
//!   by queue, original routing key and reason, and their replay, through shopctl's library,
//!   recorded under the name of the staff member who asked;
//! - `/`: a page drawing the topology and, for a chosen order, its sequence diagram, with the
//!   compensations marked, the stalled orders marked, and the dead letters with a Replay button.
//!   Its assets are embedded: it works offline.
//!
//! Every API above is for staff only (a staff bearer token, verified by the kit); the page is an
//! open static shell whose script signs in with such a token ([`routes`] says why).
//!
//! What it stores is kept for `service.retention_secs` after a flow's last activity (30 days),
//! then deleted ([`retention`]).
//!
//! Modules, as in every service of the shop: [`settings`], [`startup`] (the wiring, [`build`]),
//! [`handlers`] (the bus handler that records), [`routes`] (HTTP), [`store`] (the SQL); and its
//! own: [`recorded`] (what is kept of a message: the bus's envelope and payload), [`timeline`]
//! (ordering and causes), [`management`] and [`topology`] (the live picture), [`orders`] (the
//! order service's stalled orders), [`dead_letters`] (listed and replayed), [`retention`] (old
//! flows deleted).

pub mod dead_letters;
pub mod handlers;
pub mod management;
pub mod orders;
pub mod recorded;
pub mod retention;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod store;
pub mod timeline;
pub mod topology;

pub use settings::{
    DeadLetterSettings, ManagementSettings, OrdersSettings, Settings, TrackerSettings,
    load_settings,
};
pub use startup::{build, observed_exchanges};

/// The embedded defaults (`configuration/default.toml`).
pub const DEFAULT_SETTINGS: &str = include_str!("../configuration/default.toml");

/// The tracker's migrations (`migrations/`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

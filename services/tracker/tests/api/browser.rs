//! The page in a real headless Chromium, driven by playwright-core: `browser-test/flow-page.mjs`
//! beside the four real services (it must show the four exchanges and their queues, the order
//! service's stalled orders, none, and draw the sequence of a shipped and of a cancelled order),
//! `browser-test/stalled-page.mjs` beside an order service with a stalled order (it must mark
//! it: in the list of stalled orders, among the recent ones, above its diagram), and
//! `browser-test/dead-letters-page.mjs` with a dead letter parked (it must list it with its
//! reason, and replay it with its group's Replay button, after which it is gone from the panel).
//! Each first signs in through the page's sign-in box with a staff token (given to the script in
//! `TRACKER_TOKEN`, an environment variable rather than an argument, so it appears in no process
//! list), as a person pastes one. `browser-test/sign-in-page.mjs` checks the page without one:
//! it asks for a token and fetches nothing, refuses a customer's token (403) and a forged one
//! (401), and signs in, survives a reload and signs out with a staff token.
//!
//! Needs `node`, the script's npm packages (`npm ci --prefix services/tracker/browser-test`) and
//! Debian's `chromium`; `scripts/test` installs all three. Without them the test fails saying so.

use std::{path::PathBuf, process::Stdio, time::Duration};

use flow_tests::shop::{Options, Service, Shop};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    DEADLINE, DeadLetter, RunningTracker, STAFF, StalledShop, spawn_app, staff_token,
    test_settings, tokens,
};

/// How long the browser script may take in all.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

fn browser_test_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("browser-test")
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// Fails with what to install when node, the npm packages or Chromium are missing.
fn check_prerequisites() {
    let node = std::process::Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|output| output.status.success()),
        "`node` is missing: install Node.js (scripts/test installs Debian's nodejs and npm)"
    );
    let modules = browser_test_dir().join("node_modules/playwright-core");
    assert!(
        modules.is_dir(),
        "{} is missing: run `npm ci --prefix services/tracker/browser-test` (scripts/test does)",
        modules.display()
    );
    assert!(
        chromium().is_file(),
        "{} is missing: install Debian's `chromium` (scripts/test does), or set CHROMIUM",
        chromium().display()
    );
}

/// Waits until the tracker's timeline of `order_id` holds every event of `routing_keys`.
async fn flow_with(
    shop: &Shop,
    tracker: &RunningTracker,
    order_id: &str,
    routing_keys: &[&str],
) -> Value {
    let url = format!("{}/flows/{order_id}", tracker.address);
    let deadline = tokio::time::Instant::now() + DEADLINE * 2;
    loop {
        let request = shop.http.get(&url).bearer_auth(staff_token());
        let flow: Value = match request.send().await {
            Ok(response) if response.status() == 200 => response.json().await.expect("JSON"),
            _ => Value::Null,
        };
        let seen: Vec<&str> = flow["events"]
            .as_array()
            .map(|events| {
                events
                    .iter()
                    .filter_map(|e| e["routing_key"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        let mut missing: Vec<&str> = routing_keys.to_vec();
        for key in &seen {
            if let Some(index) = missing.iter().position(|k| k == key) {
                missing.remove(index);
            }
        }
        if missing.is_empty() {
            return flow;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the tracker's flow of {order_id} still lacks {missing:?}: {flow}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What the page must draw for one order: the timeline as the API gives it.
fn expectation(flow: &Value) -> Value {
    let events = flow["events"].as_array().expect("events");
    json!({
        "order_id": flow["order_id"],
        "services": flow["services"],
        "routing_keys": events.iter().map(|e| e["routing_key"].clone()).collect::<Vec<_>>(),
        "compensations": events.iter().filter(|e| e["compensation"] == true).count(),
    })
}

#[tokio::test]
async fn the_page_draws_the_topology_and_the_sequence_of_an_order_in_chromium() {
    check_prerequisites();
    // The shop, then the tracker on its vhost, reading its order service for the stalled
    // orders; both before the first order, so the tracker's queue sees every event.
    let shop = Shop::started(Options::default()).await;
    let mut settings = test_settings(&shop.broker);
    settings.service.orders.url = shop.url(Service::Order, "");
    let tracker = RunningTracker::start(settings, &shop.http).await;
    shop.put(
        Service::Billing,
        "/customers/bob",
        json!({"credit_limit_cents": 100}),
    )
    .await;
    let shipped = shop.post_order("alice", "SKU-1", 2, 1999).await;
    let cancelled = shop.post_order("bob", "SKU-1", 1, 1999).await;
    let shipped_flow = flow_with(
        &shop,
        &tracker,
        &shipped,
        &[
            "order.v2.submit",
            "billing.v1.charged",
            "logistics.v1.reserved",
            "order.v1.confirmed",
            "logistics.v1.shipped",
            "mailer.v1.sent",
            "mailer.v1.sent",
        ],
    )
    .await;
    let mut cancelled_flow = flow_with(
        &shop,
        &tracker,
        &cancelled,
        &[
            "order.v2.submit",
            "billing.v1.declined",
            "order.v1.cancelled",
            "mailer.v1.sent",
        ],
    )
    .await;
    // Logistics reserved before the cancellation reached it (it nearly always does): then it
    // releases, a compensation for the page to mark.
    if cancelled_flow.to_string().contains("logistics.v1.reserved") {
        cancelled_flow = flow_with(&shop, &tracker, &cancelled, &["logistics.v1.released"]).await;
    }

    let expectations = json!([expectation(&shipped_flow), expectation(&cancelled_flow)]);
    run_script(
        "flow-page.mjs",
        &[format!("{}/", tracker.address), expectations.to_string()],
        &as_staff(),
    )
    .await;
    tracker.stop().await;
    shop.cleanup().await;
}

#[tokio::test]
async fn the_page_marks_a_stalled_order_in_chromium() {
    check_prerequisites();
    let stalled = StalledShop::start().await;

    run_script(
        "stalled-page.mjs",
        &[
            format!("{}/", stalled.tracker.address),
            stalled.order_id.clone(),
        ],
        &as_staff(),
    )
    .await;
    stalled.cleanup().await;
}

#[tokio::test]
async fn the_page_lists_a_dead_letter_and_replays_it_in_chromium() {
    check_prerequisites();
    let app = spawn_app().await;
    let probe = app.probe().await;
    probe.declare("order.queue").await;
    probe.declare("order.queue.dead").await;
    event_bus::testing::declare_retry_path(&probe.channel, "order.queue").await;
    let letter = DeadLetter::charged("the ledger is closed");
    probe.park(&app.broker, "order.queue.dead", &letter).await;

    run_script(
        "dead-letters-page.mjs",
        &[
            format!("{}/", app.tracker.address),
            "order.queue.dead".into(),
            letter.message_id.clone(),
            letter.routing_key.into(),
            letter.reason.clone(),
        ],
        &as_staff(),
    )
    .await;

    // The page's replay put it back into its service's queue, at attempt 1, and recorded it.
    let message = app
        .broker
        .take(&probe.channel, "order.queue")
        .await
        .delivery;
    // Through the service's own retry path, where its record of the event is believed.
    assert_eq!(message.exchange.as_str(), "order.queue.retry");
    let read = event_bus::Envelope::decode(
        "order.queue.retry",
        "order.queue",
        &message.properties,
        true,
    )
    .expect("an event");
    assert_eq!(read.message_id, letter.message_id);
    assert_eq!(read.attempt, 1);
    let records = app.tracker.audit_records();
    assert_eq!(records.len(), 1, "{records:?}");
    // Under the name of the staff member signed in on the page.
    assert_eq!(records[0].operator.as_deref(), Some(STAFF));
    app.cleanup().await;
}

#[tokio::test]
async fn the_page_asks_for_a_staff_token_fetches_nothing_without_one_and_refuses_a_customers_in_chromium()
 {
    check_prerequisites();
    let app = spawn_app().await;

    run_script(
        "sign-in-page.mjs",
        &[format!("{}/", app.tracker.address)],
        &[
            ("TRACKER_TOKEN", staff_token()),
            ("TRACKER_STAFF_NAME", STAFF.to_owned()),
            ("TRACKER_CUSTOMER_TOKEN", tokens().customer("c-42")),
        ],
    )
    .await;
    // Signed out or refused, the page replayed nothing.
    assert!(app.tracker.audit_records().is_empty());
    app.cleanup().await;
}

/// The environment of a script that signs in as staff: `TRACKER_TOKEN`.
fn as_staff() -> [(&'static str, String); 1] {
    [("TRACKER_TOKEN", staff_token())]
}

/// Runs `script` of `browser-test/` with `args`, `env` (the tokens it signs in with) and a
/// folder for its screenshots (kept in `TRACKER_SCREENSHOT_DIR` if set, else removed); fails the
/// test if the script does.
async fn run_script(script: &str, args: &[String], env: &[(&str, String)]) {
    let screenshots = std::env::var_os("TRACKER_SCREENSHOT_DIR").map_or_else(
        || std::env::temp_dir().join(format!("tracker-browser-{}", Uuid::new_v4().simple())),
        PathBuf::from,
    );
    std::fs::create_dir_all(&screenshots).expect("create the screenshot folder");
    let run = tokio::process::Command::new("node")
        .arg(script)
        .args(args)
        .arg(&screenshots)
        .current_dir(browser_test_dir())
        .env("CHROMIUM", chromium())
        .envs(env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(SCRIPT_TIMEOUT, run)
        .await
        .expect("the browser script finishes in time")
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser script {script} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    println!("{stdout}");
    if std::env::var_os("TRACKER_SCREENSHOT_DIR").is_none() {
        let _ = std::fs::remove_dir_all(&screenshots);
    }
}

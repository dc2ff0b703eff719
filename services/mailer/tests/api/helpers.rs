//! A running mailer per test, on the kit's harness (its own vhost and database), writing into a
//! mail folder of its own, with a probe queue that sees what the mailer publishes.

use std::ops::Deref;
use std::path::{Path, PathBuf};

use contracts::mailer::EmailSent;
use event_bus::Event;
use mailer::Settings;
use mailer::settings::MailerSettings;
use serde_json::Value;
use service_kit::testing::{self, Probe, eventually};
use uuid::Uuid;

/// The flow the test driver publishes in.
const FLOW: &str = "test-flow";

/// One running mailer; the kit's harness does the rest (wait, queue lengths, cleanup).
pub struct TestApp {
    app: testing::TestApp<MailerSettings>,
    /// Bound to everything on exchange `mailer`, to see `mailer.v1.sent`.
    pub probe: Probe,
}

impl Deref for TestApp {
    type Target = testing::TestApp<MailerSettings>;

    fn deref(&self) -> &Self::Target {
        &self.app
    }
}

/// A mailer writing `.eml` files into a fresh temporary folder.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A mailer with `configure` applied to the test settings.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let mut app = testing::TestApp::spawn(
        "mailer",
        mailer::DEFAULT_SETTINGS,
        mailer::build,
        |settings| {
            settings.service.data_dir = temp_path("mailer-eml");
            settings.service.smtp = None;
            configure(settings);
        },
    )
    .await;
    app.remove_on_cleanup(app.settings.service.data_dir.clone());
    let probe = app.probe("mailer.#").await;
    TestApp { app, probe }
}

/// A path under the system's temporary folder that no other test uses (not created).
pub fn temp_path(prefix: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{prefix}-{}", Uuid::new_v4().simple()))
}

impl TestApp {
    /// Publishes `event` as another service would, with a fresh message id; returns that id.
    pub async fn publish<E: Event>(&self, event: &E) -> Uuid {
        self.app.publish(event, FLOW).await
    }

    /// `GET /emails` with `query` appended verbatim (e.g. `?order_id=…`).
    pub async fn get_emails(&self, query: &str) -> reqwest::Response {
        self.get(&format!("/emails{query}")).await
    }

    /// The emails of `order_id` as `GET /emails` lists them.
    pub async fn emails_of(&self, order_id: Uuid) -> Vec<Value> {
        let response = self.get_emails(&format!("?order_id={order_id}")).await;
        assert_eq!(response.status(), 200);
        response.json().await.expect("a JSON array")
    }

    /// Polls `GET /emails` until `order_id` has `count` emails with a `sent_at`; returns them.
    pub async fn wait_for_sent(&self, order_id: Uuid, count: usize) -> Vec<Value> {
        eventually(format!("{count} sent emails for {order_id}"), || async {
            let emails = self.emails_of(order_id).await;
            let sent = emails.iter().filter(|e| !e["sent_at"].is_null()).count();
            (sent >= count).then_some(emails)
        })
        .await
    }

    /// Waits for the next `mailer.v1.sent` on the probe queue.
    pub async fn take_sent(&self) -> EmailSent {
        self.probe.next_event().await
    }

    /// The `.eml` files in the mail folder.
    pub fn eml_files(&self) -> Vec<String> {
        read_files(&self.settings.service.data_dir, "eml")
    }

    /// Stops the mailer, then removes the database, vhost and mail folder.
    pub async fn cleanup(self) {
        self.app.cleanup().await;
    }
}

/// The contents of the files in `dir` whose extension is `extension`, or of all files when
/// `extension` is empty; nothing if `dir` does not exist.
pub fn read_files(dir: &Path, extension: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.is_file()
                && (extension.is_empty() || path.extension().is_some_and(|ext| ext == extension))
        })
        .map(|path| std::fs::read_to_string(path).expect("read a mail file"))
        .collect()
}

/// The header block of a raw email with folded lines unfolded, so a long `Subject` reads as
/// one line whatever the transport did to it.
pub fn headers_of(raw: &str) -> String {
    let normalized = raw.replace("\r\n", "\n");
    let header_block = normalized.split("\n\n").next().unwrap_or_default();
    header_block.replace("\n ", " ").replace("\n\t", " ")
}

//! Delivery to a real SMTP server: aiosmtpd, run as a child process, storing what it receives
//! in a Maildir.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use contracts::mailer::EmailKind;
use contracts::order::OrderConfirmed;
use service_kit::testing::{PATIENCE, eventually};
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};
use uuid::Uuid;

use crate::helpers::{headers_of, read_files, spawn_app_with, temp_path};

/// The interpreter that runs aiosmtpd; `MAILER_TEST_PYTHON` overrides `python3`.
fn python() -> String {
    std::env::var("MAILER_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// `python3 -m aiosmtpd` on a free local port, delivering into a Maildir. Killed on drop too,
/// so a failing test leaves no server behind.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl SmtpServer {
    /// Starts the server and waits (bounded) until it accepts connections. Fails the test, with
    /// what to do about it, when aiosmtpd cannot be imported: this test must not pass without
    /// a real server.
    async fn start() -> Self {
        let python = python();
        let check = Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .output()
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "cannot run `{python}` ({error}); the SMTP test needs Python 3 with aiosmtpd"
                )
            });
        assert!(
            check.status.success(),
            "`{python}` cannot import aiosmtpd; install it with `pip install aiosmtpd`:\n{}",
            String::from_utf8_lossy(&check.stderr)
        );

        let port = free_port();
        // Not created: aiosmtpd's Mailbox creates the Maildir (new/, cur/, tmp/) itself.
        let maildir = temp_path("mailer-maildir");
        let mut child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn aiosmtpd");

        let deadline = tokio::time::Instant::now() + PATIENCE;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if let Some(status) = child.try_wait().expect("poll aiosmtpd") {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    pipe.read_to_string(&mut stderr).await.ok();
                }
                panic!("aiosmtpd exited ({status}) before accepting connections:\n{stderr}");
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "aiosmtpd did not accept connections on port {port} within {PATIENCE:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            child,
            port,
            maildir,
        }
    }

    /// Waits (bounded) for a message in the Maildir's `new/` and returns the first.
    async fn wait_for_message(&self) -> String {
        let new = self.maildir.join("new");
        eventually(format!("a message in {}", new.display()), || async {
            read_files(&new, "").into_iter().next()
        })
        .await
    }

    async fn stop(mut self) {
        self.child.kill().await.expect("kill aiosmtpd");
        std::fs::remove_dir_all(&self.maildir).ok();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("find a free port")
        .port()
}

#[tokio::test]
async fn a_confirmed_order_is_delivered_to_a_real_smtp_server() {
    let server = SmtpServer::start().await;
    let port = server.port;
    let app = spawn_app_with(|settings| {
        settings.service.smtp = Some(mailer::settings::SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            ..Default::default()
        });
    })
    .await;
    let order_id = Uuid::new_v4();

    app.publish(&OrderConfirmed {
        order_id,
        customer_id: "c-9".into(),
        email: "fay@example.com".into(),
        total_cents: 4200,
        currency: "EUR".into(),
    })
    .await;

    let message = server.wait_for_message().await;
    let headers = headers_of(&message);
    let subject = format!(
        "Your order {} is confirmed",
        &order_id.simple().to_string()[..8]
    );
    assert!(headers.contains("To: fay@example.com"), "{headers}");
    assert!(
        headers.contains(&format!("Subject: {subject}")),
        "{headers}"
    );
    assert!(message.contains("42.00 EUR"), "{message}");
    let sent = app.take_sent().await;
    assert_eq!(sent.kind, EmailKind::OrderConfirmed);
    assert_eq!(sent.to, "fay@example.com");
    assert!(app.eml_files().is_empty(), "nothing went to files");
    app.cleanup().await;
    server.stop().await;
}

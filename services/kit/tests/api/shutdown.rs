use std::time::Duration;

use service_kit::shutdown::cancel_on_signals;

#[tokio::test]
async fn sigterm_cancels_the_token() {
    let token = cancel_on_signals();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    tokio::time::timeout(Duration::from_secs(5), token.cancelled())
        .await
        .expect("token cancelled by SIGTERM");
}

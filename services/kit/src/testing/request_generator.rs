//! [`generated_requests`]: a service's OpenAPI document turned into requests by Schemathesis, a
//! property-based generator of requests from OpenAPI documents, run against the real service.
//!
//! A hand-written test checks the cases its author thought of; the generator sends what the
//! document allows and what it forbids (boundaries, odd Unicode, NUL bytes, extra fields,
//! integral floats, unknown methods) and checks every answer: no 5xx, every status and body as
//! documented, a request the document allows is not refused as invalid, one it forbids is
//! refused, `Allow` on a 405, and an operation that declares a security requirement refuses a
//! request without credentials. A fixed seed makes each run send the same requests, so a failure
//! is reproducible and CI is not a lottery.

use std::process::Stdio;

/// The generator's command (`pip install schemathesis`; `scripts/test` installs it).
const SCHEMATHESIS: &str = "st";

/// Examples per operation and phase: enough to reach boundaries and odd inputs, few enough that
/// a service is done in seconds.
const MAX_EXAMPLES: &str = "25";

/// Runs the generator against `base_url` (whose document is `base_url/openapi.json`) with the
/// bearer `token`, every check, and `extra` arguments (e.g. `--exclude-method POST`); panics
/// with the generator's report when it finds anything, or when it is not installed.
pub async fn generated_requests(base_url: &str, token: &str, extra: &[&str]) {
    let document = format!("{base_url}/openapi.json");
    let authorization = format!("Authorization: Bearer {token}");
    let output = tokio::process::Command::new(SCHEMATHESIS)
        .args(["run", &document, "--header", &authorization])
        .args([
            "--checks",
            "all",
            "--max-examples",
            MAX_EXAMPLES,
            "--seed",
            "1",
        ])
        .arg("--no-shrink")
        // Stateful links are inferred from names and mislead here; held `?wait=` requests are
        // answered within their bound by design.
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--request-timeout", "40", "--max-response-time", "60"])
        .args(extra)
        .env("NO_COLOR", "1")
        // It keeps a cache of what it found in its working folder: not in the repository.
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap_or_else(|error| {
            panic!(
                "could not run Schemathesis (`{SCHEMATHESIS}`): {error}; install it with \
                 `python3 -m pip install schemathesis` (scripts/test does)"
            )
        });
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "Schemathesis found problems in {document} ({extra:?}):\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

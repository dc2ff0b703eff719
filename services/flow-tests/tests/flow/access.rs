//! Every operation is guarded as its service's document says (issue 14). Each service runs
//! alone (the kit's harness: a document and its guards need no other service); its
//! `/openapi.json` is read and every operation in it sent a plausible request (path parameters
//! filled, required query parameters too, a JSON body `{}` where it takes one):
//!
//! - without a token, an operation that declares `security` answers 401 with a JSON body and a
//!   `WWW-Authenticate: Bearer ...` challenge, and one that declares none never 401 or 403;
//! - with a customer's token, an operation described as "Staff only" answers 403;
//! - nothing answers a 5xx.
//!
//! Read from the document, not listed here, so that an operation added later without a guard,
//! or a guard its document does not mention, fails this test.

use reqwest::{Method, StatusCode, header::WWW_AUTHENTICATE};
use serde_json::Value;
use service_kit::testing::TestApp;

/// The customer whose token the second round sends.
const CUSTOMER: &str = "access-probe";

/// An order id no one placed, for `{id}` of orders and `{order_id}`.
const SOME_ORDER_ID: &str = "0190f1d2-7c3a-7b4e-9a1f-3c2d4e5f6a7b";

/// One operation of a document, ready to send.
struct Operation {
    method: Method,
    /// As documented: `/orders/{id}`.
    template: String,
    /// With its parameters filled: `/orders/0190…?stalled=true`.
    target: String,
    /// Required header parameters, filled.
    headers: Vec<(String, String)>,
    /// Whether it takes a request body.
    body: bool,
    /// Whether it declares `security` (its own, or the document's).
    secured: bool,
    /// Whether its summary or description says "Staff only".
    staff_only: bool,
}

impl Operation {
    fn name(&self) -> String {
        format!("{} {}", self.method, self.template)
    }
}

/// What a sweep of one service found.
struct Sweep {
    secured: usize,
    staff_only: usize,
    failures: Vec<String>,
}

/// Every operation of `document`.
fn operations(document: &Value) -> Vec<Operation> {
    let paths = document["paths"].as_object().expect("the document's paths");
    let mut found = Vec::new();
    for (template, item) in paths {
        for (method, operation) in item.as_object().expect("a path item") {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            if operation.get("responses").is_none() {
                continue; // `parameters`, `summary`... of the path item, not an operation
            }
            found.push(operation_of(document, template, item, method, operation));
        }
    }
    found
}

fn operation_of(
    document: &Value,
    template: &str,
    item: &Value,
    method: Method,
    operation: &Value,
) -> Operation {
    let parameters: Vec<&Value> = [&item["parameters"], &operation["parameters"]]
        .into_iter()
        .filter_map(Value::as_array)
        .flatten()
        .collect();
    let mut path = template.to_owned();
    let mut query = Vec::new();
    let mut headers = Vec::new();
    for parameter in parameters {
        let name = parameter["name"].as_str().unwrap_or_default();
        let required = parameter["required"].as_bool().unwrap_or(false);
        match parameter["in"].as_str() {
            Some("path") => {
                path = path.replace(&format!("{{{name}}}"), &path_value(template, name));
            }
            Some("query") if required => {
                query.push(format!("{name}={}", plausible(parameter)));
            }
            Some("header") if required => {
                headers.push((name.to_owned(), plausible(parameter)));
            }
            _ => {}
        }
    }
    let target = if query.is_empty() {
        path
    } else {
        format!("{path}?{}", query.join("&"))
    };
    let security = operation
        .get("security")
        .or_else(|| document.get("security"));
    let secured = security
        .and_then(Value::as_array)
        .is_some_and(|requirements| {
            requirements
                .iter()
                .any(|requirement| requirement.as_object().is_some_and(|r| !r.is_empty()))
        });
    let says = |field: &str| {
        operation[field]
            .as_str()
            .is_some_and(|text| text.contains("Staff only"))
    };
    Operation {
        method,
        template: template.to_owned(),
        target,
        headers,
        body: operation.get("requestBody").is_some(),
        secured,
        staff_only: says("summary") || says("description"),
    }
}

/// A UUID for an order's id, `x` for anything else (a customer, a SKU, a file).
fn path_value(template: &str, name: &str) -> String {
    let order_id = name == "order_id" || (name == "id" && template.starts_with("/orders"));
    if order_id { SOME_ORDER_ID } else { "x" }.to_owned()
}

/// The parameter's example, or its first allowed value, or a value of its type.
fn plausible(parameter: &Value) -> String {
    let schema = &parameter["schema"];
    let given = [
        &parameter["example"],
        &schema["example"],
        &schema["enum"][0],
        &schema["examples"][0],
    ]
    .into_iter()
    .find(|value| !value.is_null());
    match given {
        Some(Value::String(text)) => return text.clone(),
        Some(value @ (Value::Bool(_) | Value::Number(_))) => return value.to_string(),
        _ => {}
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|kind| *kind != "null"),
        kind => kind.as_str(),
    };
    match (kind, schema["format"].as_str()) {
        (Some("boolean"), _) => "true".into(),
        (Some("integer" | "number"), _) => "1".into(),
        (_, Some("uuid")) => SOME_ORDER_ID.into(),
        _ => "x".into(),
    }
}

/// Sends `operation` to `app`, with `token` if there is one.
async fn send<S>(
    app: &TestApp<S>,
    operation: &Operation,
    token: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .client
        .request(operation.method.clone(), app.url(&operation.target));
    for (name, value) in &operation.headers {
        request = request.header(name, value);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if operation.body {
        request = request.json(&serde_json::json!({}));
    }
    request
        .send()
        .await
        .unwrap_or_else(|error| panic!("{}: {error}", operation.name()))
}

/// Whether `response`'s body is JSON (an error body, not a page or nothing).
async fn json_body(response: reqwest::Response) -> Result<Value, String> {
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if !content_type.contains("json") {
        return Err(format!("a body of type {content_type:?}"));
    }
    response
        .json()
        .await
        .map_err(|error| format!("a body that is not JSON: {error}"))
}

/// Sends every operation of `app`'s document without a token, then with a customer's.
async fn sweep<S>(app: &TestApp<S>) -> Sweep {
    let document = app.get_json("/openapi.json").await;
    let operations = operations(&document);
    assert!(!operations.is_empty(), "no operation in {document}");
    let customer = app.tokens().customer(CUSTOMER);
    let mut sweep = Sweep {
        secured: 0,
        staff_only: 0,
        failures: Vec::new(),
    };
    let mut fail = |operation: &Operation, round: &str, what: String| {
        sweep
            .failures
            .push(format!("{} {round}: {what}", operation.name()));
    };
    for operation in &operations {
        let response = send(app, operation, None).await;
        let status = response.status();
        if status.is_server_error() {
            fail(operation, "without a token", format!("answered {status}"));
        } else if operation.secured {
            let challenge = response
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            if status != StatusCode::UNAUTHORIZED {
                fail(
                    operation,
                    "without a token",
                    format!("answered {status}, not 401"),
                );
            } else if !challenge.starts_with("Bearer") {
                fail(
                    operation,
                    "without a token",
                    format!("401 with the challenge {challenge:?}, not `Bearer ...`"),
                );
            } else if let Err(what) = json_body(response).await {
                fail(operation, "without a token", format!("401 with {what}"));
            }
        } else if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            fail(
                operation,
                "without a token",
                format!("declares no security but answered {status}"),
            );
        }

        let response = send(app, operation, Some(&customer)).await;
        let status = response.status();
        if status.is_server_error() {
            fail(operation, "as a customer", format!("answered {status}"));
        } else if operation.staff_only && status != StatusCode::FORBIDDEN {
            fail(
                operation,
                "as a customer",
                format!("is staff only but answered {status}, not 403"),
            );
        }
    }
    sweep.secured = operations.iter().filter(|op| op.secured).count();
    sweep.staff_only = operations.iter().filter(|op| op.staff_only).count();
    sweep
}

impl Sweep {
    /// No failure, and the service has guarded operations to check at all (staff-only ones
    /// when `with_staff_only`).
    fn assert_guarded(&self, service: &str, with_staff_only: bool) {
        assert!(
            self.failures.is_empty(),
            "{service}: {} operations not guarded as documented:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
        assert!(self.secured > 0, "{service} documents no secured operation");
        if with_staff_only {
            assert!(
                self.staff_only > 0,
                "{service} documents no staff-only operation"
            );
        }
    }
}

#[tokio::test]
async fn order_guards_every_operation_as_its_document_says() {
    let app = TestApp::spawn("order", order::DEFAULT_SETTINGS, order::build, |_| {}).await;
    sweep(&app).await.assert_guarded("order", true);
    app.cleanup().await;
}

#[tokio::test]
async fn billing_guards_every_operation_as_its_document_says() {
    let app = TestApp::spawn("billing", billing::DEFAULT_SETTINGS, billing::build, |_| {}).await;
    sweep(&app).await.assert_guarded("billing", true);
    app.cleanup().await;
}

#[tokio::test]
async fn logistics_guards_every_operation_as_its_document_says() {
    let app = TestApp::spawn(
        "logistics",
        logistics::DEFAULT_SETTINGS,
        logistics::build,
        |_| {},
    )
    .await;
    sweep(&app).await.assert_guarded("logistics", true);
    app.cleanup().await;
}

#[tokio::test]
async fn mailer_guards_every_operation_as_its_document_says() {
    let app = TestApp::spawn("mailer", mailer::DEFAULT_SETTINGS, mailer::build, |_| {}).await;
    sweep(&app).await.assert_guarded("mailer", true);
    app.cleanup().await;
}

#[tokio::test]
async fn tracker_guards_every_operation_as_its_document_says() {
    let app = TestApp::spawn("tracker", tracker::DEFAULT_SETTINGS, tracker::build, |_| {}).await;
    sweep(&app).await.assert_guarded("tracker", true);
    app.cleanup().await;
}

/// Loyalty's one operation is for staff or the customer themselves: secured, not staff only.
#[tokio::test]
async fn loyalty_guards_every_operation_as_its_document_says() {
    let app = TestApp::spawn("loyalty", loyalty::DEFAULT_SETTINGS, loyalty::build, |_| {}).await;
    sweep(&app).await.assert_guarded("loyalty", false);
    app.cleanup().await;
}

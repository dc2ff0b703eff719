//! Every kind of bad input is a JSON 4xx that says what is wrong, and stores nothing (sent as
//! staff: who may do what is `access.rs`'s).

use serde_json::{Value, json};

use crate::helpers::{TestApp, order_body, spawn_app};

/// One bad request and the answer it must get.
struct Case {
    name: &'static str,
    request: Request,
    status: u16,
    /// The `error` kind of the JSON body.
    kind: &'static str,
    /// The `field` of a validation error, or a word the message must contain.
    names: Option<&'static str>,
}

enum Request {
    /// `POST /orders` with this JSON body.
    Json(Value),
    /// `POST /orders` with this raw body and content type.
    Raw(&'static str, String),
    /// `POST /orders` with a valid body and this `Idempotency-Key`.
    Keyed(String),
    /// `GET` of this path.
    Get(String),
}

/// [`order_body`] with `change` applied.
fn body(change: impl FnOnce(&mut Value)) -> Request {
    let mut body = order_body();
    change(&mut body);
    Request::Json(body)
}

fn invalid(name: &'static str, field: &'static str, change: impl FnOnce(&mut Value)) -> Case {
    Case {
        name,
        request: body(change),
        status: 422,
        kind: "validation",
        names: Some(field),
    }
}

fn unreadable(name: &'static str, names: &'static str, request: Request) -> Case {
    Case {
        name,
        request,
        status: 400,
        kind: "bad_request",
        names: Some(names),
    }
}

fn cases() -> Vec<Case> {
    let line = json!({"sku": "S", "quantity": 1, "unit_price_cents": 1});
    vec![
        unreadable(
            "malformed JSON",
            "JSON",
            Request::Raw("application/json", r#"{"customer_id": "#.into()),
        ),
        unreadable(
            "not JSON at all",
            "content type",
            Request::Raw("text/plain", "customer_id=alice".into()),
        ),
        unreadable(
            "a missing email",
            "`email`",
            body(|b| drop(b.as_object_mut().map(|o| o.remove("email")))),
        ),
        unreadable(
            "missing lines",
            "`lines`",
            body(|b| drop(b.as_object_mut().map(|o| o.remove("lines")))),
        ),
        unreadable(
            "a missing quantity",
            "`lines[0].quantity`",
            body(|b| drop(b["lines"][0].as_object_mut().map(|o| o.remove("quantity")))),
        ),
        invalid("a null customer_id, from staff", "customer_id", |b| {
            b["customer_id"] = Value::Null
        }),
        invalid("no customer_id, from staff", "customer_id", |b| {
            drop(b.as_object_mut().map(|o| o.remove("customer_id")))
        }),
        unreadable(
            "a numeric customer_id",
            "`customer_id`",
            body(|b| b["customer_id"] = 42.into()),
        ),
        unreadable(
            "a quantity as text",
            "`lines[0].quantity`",
            body(|b| b["lines"][0]["quantity"] = "two".into()),
        ),
        unreadable(
            "a fractional quantity",
            "`lines[0].quantity`",
            body(|b| b["lines"][0]["quantity"] = 1.5.into()),
        ),
        unreadable(
            "lines as an object",
            "`lines`",
            body(|b| b["lines"] = json!({"sku": "S"})),
        ),
        unreadable(
            "an array as the body",
            "JSON object",
            Request::Json(json!([1, 2])),
        ),
        invalid("no lines", "lines", |b| b["lines"] = json!([])),
        invalid("101 lines", "lines", |b| {
            b["lines"] = Value::Array(vec![line.clone(); 101])
        }),
        invalid("a quantity of 0", "lines[0].quantity", |b| {
            b["lines"][0]["quantity"] = 0.into()
        }),
        invalid("a quantity of 1001", "lines[1].quantity", |b| {
            b["lines"][1]["quantity"] = 1001.into()
        }),
        invalid("a negative quantity", "lines[0].quantity", |b| {
            b["lines"][0]["quantity"] = (-1).into()
        }),
        invalid("a negative unit price", "lines[0].unit_price_cents", |b| {
            b["lines"][0]["unit_price_cents"] = (-1).into()
        }),
        invalid("a unit price of 0", "lines[0].unit_price_cents", |b| {
            b["lines"][0]["unit_price_cents"] = 0.into()
        }),
        invalid(
            "a unit price above the catalog's bound",
            "lines[1].unit_price_cents",
            |b| b["lines"][1]["unit_price_cents"] = (i64::MAX / 2 + 1).into(),
        ),
        unreadable(
            "a fractional unit price",
            "`lines[0].unit_price_cents`",
            body(|b| b["lines"][0]["unit_price_cents"] = 19.99.into()),
        ),
        invalid("a SKU not in the catalog", "lines[1].sku", |b| {
            b["lines"][1]["sku"] = "SKU-404".into()
        }),
        Case {
            name: "a unit price that is not the catalog's",
            request: body(|b| b["lines"][0]["unit_price_cents"] = 1899.into()),
            status: 409,
            kind: "conflict",
            names: Some("lines[0]"),
        },
        invalid("an email without @", "email", |b| {
            b["email"] = "alice.example.com".into()
        }),
        invalid("an email with two @", "email", |b| {
            b["email"] = "alice@home@example.com".into()
        }),
        invalid("an email without a local part", "email", |b| {
            b["email"] = "@example.com".into()
        }),
        invalid("an email without a dotted domain", "email", |b| {
            b["email"] = "alice@localhost".into()
        }),
        invalid("an email with a space", "email", |b| {
            b["email"] = "alice smith@example.com".into()
        }),
        invalid("an email of 255 characters", "email", |b| {
            b["email"] = format!("{}@{}.com", "a".repeat(60), "d".repeat(190)).into()
        }),
        invalid("a lowercase currency", "currency", |b| {
            b["currency"] = "eur".into()
        }),
        invalid("a four-letter currency", "currency", |b| {
            b["currency"] = "EURO".into()
        }),
        invalid("a currency of digits", "currency", |b| {
            b["currency"] = "123".into()
        }),
        invalid("a currency other than the shop's", "currency", |b| {
            b["currency"] = "CHF".into()
        }),
        invalid("an empty customer_id", "customer_id", |b| {
            b["customer_id"] = "".into()
        }),
        invalid("a customer_id of 101 characters", "customer_id", |b| {
            b["customer_id"] = "c".repeat(101).into()
        }),
        invalid("an empty sku", "lines[1].sku", |b| {
            b["lines"][1]["sku"] = "".into()
        }),
        invalid("a sku of 101 characters", "lines[0].sku", |b| {
            b["lines"][0]["sku"] = "s".repeat(101).into()
        }),
        Case {
            name: "an empty Idempotency-Key",
            request: Request::Keyed(String::new()),
            status: 422,
            kind: "validation",
            names: Some("Idempotency-Key"),
        },
        Case {
            name: "an Idempotency-Key of 201 characters",
            request: Request::Keyed("k".repeat(201)),
            status: 422,
            kind: "validation",
            names: Some("Idempotency-Key"),
        },
        Case {
            name: "a body over 64 KiB",
            request: body(|b| b["customer_id"] = "c".repeat(70_000).into()),
            status: 413,
            kind: "payload_too_large",
            names: None,
        },
        unreadable(
            "an order id that is not a UUID",
            "path",
            Request::Get("/orders/42".into()),
        ),
        unreadable(
            "a wait that is not a number",
            "`wait`",
            Request::Get(format!("/orders/{}?wait=soon", uuid::Uuid::new_v4())),
        ),
        unreadable(
            "a negative wait",
            "`wait`",
            Request::Get(format!("/orders/{}?wait=-1", uuid::Uuid::new_v4())),
        ),
        unreadable(
            "an unknown until",
            "`until`",
            Request::Get(format!(
                "/orders/{}?wait=5&until=delivered",
                uuid::Uuid::new_v4()
            )),
        ),
        unreadable(
            "an until in capitals",
            "`until`",
            Request::Get(format!("/orders/{}?until=SHIPPED", uuid::Uuid::new_v4())),
        ),
        unreadable(
            "a list of orders without stalled=true",
            "`stalled=true`",
            Request::Get("/orders".into()),
        ),
        unreadable(
            "stalled that is not true",
            "`stalled`",
            Request::Get("/orders?stalled=yes".into()),
        ),
        unreadable(
            "stalled=false",
            "`stalled`",
            Request::Get("/orders?stalled=false".into()),
        ),
        unreadable(
            "a limit that is not a number",
            "`limit`",
            Request::Get("/orders?stalled=true&limit=ten".into()),
        ),
        Case {
            name: "a limit of 0",
            request: Request::Get("/orders?stalled=true&limit=0".into()),
            status: 422,
            kind: "validation",
            names: Some("limit"),
        },
        Case {
            name: "a limit of 1001",
            request: Request::Get("/orders?stalled=true&limit=1001".into()),
            status: 422,
            kind: "validation",
            names: Some("limit"),
        },
        Case {
            name: "an unknown order id",
            request: Request::Get(format!("/orders/{}", uuid::Uuid::new_v4())),
            status: 404,
            kind: "not_found",
            names: None,
        },
    ]
}

async fn send(app: &TestApp, request: &Request) -> reqwest::Response {
    let builder = match request {
        Request::Json(body) => app.post_orders().json(body),
        Request::Raw(content_type, body) => app
            .post_orders()
            .header("content-type", *content_type)
            .body(body.clone()),
        Request::Keyed(key) => app
            .post_orders()
            .header("Idempotency-Key", key.as_str())
            .json(&order_body()),
        Request::Get(path) => app.client.get(app.url(path)).bearer_auth(app.staff_token()),
    };
    builder.send().await.expect("the request is answered")
}

#[tokio::test]
async fn each_kind_of_bad_input_is_refused_with_a_json_error_that_names_the_problem() {
    let app = spawn_app().await;
    let mut failures = Vec::new();

    for case in cases() {
        let response = send(&app, &case.request).await;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = response.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let named = match case.names {
            None => true,
            Some(name) if case.status == 422 => body["field"] == name,
            Some(name) => body["message"]
                .as_str()
                .is_some_and(|message| message.contains(name)),
        };
        if status != case.status
            || !content_type.starts_with("application/json")
            || body["error"] != case.kind
            || !named
        {
            failures.push(format!(
                "{}: expected {} {} naming {:?}, got {status} {content_type} {text}",
                case.name, case.status, case.kind, case.names
            ));
        }
    }

    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert_eq!(app.order_count().await, 0, "a refused order was stored");
    assert_eq!(app.staged("order.v2.submit").await, 0);
    app.cleanup().await;
}

//! The AsyncAPI 3.0 document of the flow, generated from this crate so it cannot drift from it:
//! payload schemas derived from the Rust types (`schemars`), one channel per routing key on its
//! exchange, a `send` operation for each event's producer and a `receive` operation for each
//! service whose binding (from [`catalog::subscriptions`]) catches it.
//!
//! `cargo run -p contracts --example asyncapi` writes it to `contracts/asyncapi.yaml`; a test
//! fails when the committed file is stale.

use schemars::{JsonSchema, SchemaGenerator, generate::SchemaSettings};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::catalog::{self, EventInfo};
use crate::{billing, logistics, mailer, order};

/// Where the committed document lives, relative to the workspace root.
pub const PATH: &str = "contracts/asyncapi.yaml";

/// The command that regenerates [`PATH`].
pub const REGENERATE: &str = "cargo run -p contracts --example asyncapi";

/// Version of the AMQP bindings object used in channels, operations and messages.
const AMQP_BINDING_VERSION: &str = "0.3.0";

/// JSON pointer under which `schemars` files the payload types, so its `$ref`s resolve inside
/// the document.
const SCHEMAS: &str = "/components/schemas";

/// One event of the catalog with its payload schema (a `$ref` into [`SCHEMAS`]).
struct Described {
    info: EventInfo,
    /// The Rust type's name, which is also its schema's name.
    type_name: String,
    payload: Value,
}

fn describe<E: event_bus::Event + JsonSchema>(
    producer: &'static str,
    generator: &mut SchemaGenerator,
) -> Described {
    Described {
        info: catalog::info::<E>(producer),
        type_name: E::schema_name().into_owned(),
        payload: generator.subschema_for::<E>().to_value(),
    }
}

/// The events of [`catalog::all`] with their types; a test checks the two lists agree.
fn described(generator: &mut SchemaGenerator) -> Vec<Described> {
    vec![
        describe::<order::OrderSubmittedV1>("order", generator),
        describe::<order::OrderSubmitted>("order", generator),
        describe::<order::OrderConfirmed>("order", generator),
        describe::<order::OrderCancelled>("order", generator),
        describe::<billing::PaymentCharged>("billing", generator),
        describe::<billing::PaymentDeclined>("billing", generator),
        describe::<billing::PaymentRefunded>("billing", generator),
        describe::<logistics::StockReserved>("logistics", generator),
        describe::<logistics::OutOfStock>("logistics", generator),
        describe::<logistics::StockReleased>("logistics", generator),
        describe::<logistics::OrderShipped>("logistics", generator),
        describe::<logistics::ReplenishmentRequested>("logistics", generator),
        describe::<mailer::EmailSent>("mailer", generator),
    ]
}

/// The top level, in the order people read it (the maps below are sorted by key).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    asyncapi: &'static str,
    info: Value,
    default_content_type: &'static str,
    servers: Value,
    channels: Value,
    operations: Value,
    components: Value,
}

/// The whole document as JSON.
pub fn document() -> Value {
    serde_json::to_value(build()).unwrap_or(Value::Null)
}

/// The document with every map below the top level sorted by key, so the output is the same
/// whatever features of `serde_json` the build enabled.
fn build() -> Document {
    let mut generator = SchemaSettings::draft07()
        .with(|settings| settings.definitions_path = SCHEMAS.into())
        .into_generator();
    let events = described(&mut generator);
    let mut channels = Map::new();
    let mut operations = Map::new();
    let mut messages = Map::new();
    for event in &events {
        let key = event.info.routing_key;
        let definition = generator.definitions().get(&event.type_name);
        messages.insert(key.to_owned(), message(event, definition));
        channels.insert(key.to_owned(), channel(event, definition));
        operations.insert(
            format!("{}.send.{key}", event.info.producer),
            send(&event.info),
        );
        for subscription in catalog::subscriptions() {
            if subscription.receives(event.info.exchange, key) {
                operations.insert(
                    format!("{}.receive.{key}", subscription.service),
                    receive(&event.info, &subscription),
                );
            }
        }
    }
    let mut schemas = generator.take_definitions(true);
    schemas.insert("Headers".into(), headers_schema());
    Document {
        asyncapi: "3.0.0",
        info: sorted(info()),
        default_content_type: "application/json",
        servers: sorted(servers()),
        channels: sorted(Value::Object(channels)),
        operations: sorted(Value::Object(operations)),
        components: sorted(json!({ "messages": messages, "schemas": schemas })),
    }
}

/// The document as YAML, with a header saying where it comes from.
#[cfg(feature = "yaml")]
pub fn to_yaml() -> Result<String, serde_yaml_ng::Error> {
    let body = serde_yaml_ng::to_string(&build())?;
    Ok(format!(
        "# Generated from the contracts crate by `{REGENERATE}`; do not edit.\n{body}"
    ))
}

fn info() -> Value {
    json!({
        "title": "Shop order flow",
        "version": env!("CARGO_PKG_VERSION"),
        "description": "A shop's order flow choreographed over RabbitMQ topic exchanges, with no \
            coordinator. Each producing service owns a durable topic exchange named after it and \
            publishes versioned routing keys `<exchange>.v<version>.<name>`; each subscriber binds \
            its own durable queue, named after itself, to `<exchange>.*.<name>` (every version of \
            an event) and upcasts older versions. Every message carries `message_id` (UUID v7), \
            `correlation_id` (the order id), `timestamp`, `type` (the routing key), `app_id` (the \
            producer) and the headers `x-causation-id` and `x-event-version`.",
        "tags": [
            {"name": "order", "description": "Published by the order service."},
            {"name": "billing", "description": "Published by the billing service."},
            {"name": "logistics", "description": "Published by the logistics service."},
            {"name": "mailer", "description": "Published by the mailer service."},
            {"name": "compensation", "description": "Undoes what an earlier event did."},
        ],
    })
}

fn servers() -> Value {
    json!({
        "local": {
            "host": "127.0.0.1:5672",
            "protocol": "amqp",
            "protocolVersion": "0.9.1",
            "pathname": "/",
            "description": "The local RabbitMQ of `scripts/run` (vhost `/`).",
        },
    })
}

/// The type's doc comment, which `schemars` keeps as the schema's description.
fn doc_of(definition: Option<&Value>) -> Option<&str> {
    definition?.get("description")?.as_str()
}

/// The first paragraph of a doc comment without its leading routing key, capitalised, as a
/// one-line summary.
fn summary_of(doc: &str) -> String {
    let text = doc.split("\n\n").next().unwrap_or(doc).replace('\n', " ");
    let text = match text.split_once(": ") {
        Some((head, rest)) if head.starts_with('`') => rest,
        _ => &text,
    };
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn message(event: &Described, definition: Option<&Value>) -> Value {
    let info = &event.info;
    let mut tags = vec![json!({ "name": info.producer })];
    if catalog::is_compensation(info.exchange, info.name) {
        tags.push(json!({ "name": "compensation" }));
    }
    let mut message = json!({
        "name": event.type_name,
        "title": info.routing_key,
        "contentType": "application/json",
        "headers": { "$ref": "#/components/schemas/Headers" },
        "payload": event.payload,
        "tags": tags,
        "bindings": {
            "amqp": {
                "messageType": info.routing_key,
                "bindingVersion": AMQP_BINDING_VERSION,
            },
        },
    });
    if let Some(doc) = doc_of(definition) {
        message["summary"] = summary_of(doc).into();
        message["description"] = doc.into();
    }
    let has_order_id = definition
        .and_then(|d| d.pointer("/properties/order_id"))
        .is_some();
    if has_order_id {
        message["correlationId"] = json!({
            "description": "The order the event belongs to; also the AMQP `correlation_id`.",
            "location": "$message.payload#/order_id",
        });
    }
    message
}

fn channel(event: &Described, definition: Option<&Value>) -> Value {
    let info = &event.info;
    let mut channel = json!({
        "address": info.routing_key,
        "title": info.routing_key,
        "messages": {
            event.type_name.as_str(): { "$ref": format!("#/components/messages/{}", info.routing_key) },
        },
        "bindings": {
            "amqp": {
                "is": "routingKey",
                "exchange": {
                    "name": info.exchange,
                    "type": "topic",
                    "durable": true,
                    "autoDelete": false,
                    "vhost": "/",
                },
                "bindingVersion": AMQP_BINDING_VERSION,
            },
        },
    });
    if let Some(doc) = doc_of(definition) {
        channel["description"] = doc.into();
    }
    channel
}

fn channel_ref(info: &EventInfo) -> Value {
    json!({ "$ref": format!("#/channels/{}", info.routing_key) })
}

fn send(info: &EventInfo) -> Value {
    json!({
        "action": "send",
        "title": format!("{} publishes {}", info.producer, info.routing_key),
        "summary": format!(
            "{} publishes it on exchange `{}`, persistent and mandatory, with publisher confirms, \
             from its transactional outbox.",
            info.producer, info.exchange
        ),
        "channel": channel_ref(info),
        "tags": [{ "name": info.producer }],
        "bindings": {
            "amqp": {
                "deliveryMode": 2,
                "mandatory": true,
                "timestamp": true,
                "bindingVersion": AMQP_BINDING_VERSION,
            },
        },
    })
}

fn receive(info: &EventInfo, subscription: &catalog::Subscription) -> Value {
    json!({
        "action": "receive",
        "title": format!("{} receives {}", subscription.service, info.routing_key),
        "summary": format!(
            "Queue `{}` is bound to exchange `{}` with `{}`; the message is acked after the \
             handler's transaction commits.",
            subscription.service, subscription.exchange, subscription.pattern
        ),
        "channel": channel_ref(info),
        "tags": [{ "name": subscription.service }],
        "bindings": {
            "amqp": { "ack": true, "bindingVersion": AMQP_BINDING_VERSION },
        },
        "x-queue": subscription.service,
        "x-binding-pattern": subscription.pattern,
    })
}

/// The application headers every message carries, besides the AMQP properties.
fn headers_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "x-causation-id": {
                "type": "string",
                "description": "The message id of the message whose handling published this one; absent at the start of a flow.",
            },
            "x-event-version": {
                "type": "integer",
                "minimum": 1,
                "description": "The event version, also the middle word of the routing key.",
            },
        },
        "required": ["x-event-version"],
    })
}

/// `value` with the keys of every map sorted.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(key, value)| (key, sorted(value)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_exactly_the_catalog() {
        let mut generator = SchemaGenerator::default();
        let infos: Vec<EventInfo> = described(&mut generator)
            .into_iter()
            .map(|d| d.info)
            .collect();
        assert_eq!(infos, catalog::all());
    }

    #[test]
    fn every_routing_key_has_a_channel_a_message_and_its_producer() {
        let document = document();
        for event in catalog::all() {
            let key = event.routing_key;
            assert_eq!(document["channels"][key]["address"], key);
            assert_eq!(
                document["channels"][key]["bindings"]["amqp"]["exchange"]["name"],
                event.exchange
            );
            assert!(document["components"]["messages"][key]["payload"]["$ref"].is_string());
            let send = &document["operations"][format!("{}.send.{key}", event.producer)];
            assert_eq!(send["action"], "send");
        }
    }

    #[test]
    fn receive_operations_follow_the_subscriptions() {
        let document = document();
        let operations = document["operations"].as_object().unwrap();
        let billing = &operations["billing.receive.order.v2.submit"];
        assert_eq!(billing["action"], "receive");
        assert_eq!(billing["x-binding-pattern"], "order.*.submit");
        assert!(operations.contains_key("billing.receive.order.v1.submit"));
        assert!(operations.contains_key("mailer.receive.logistics.v1.shipped"));
        assert!(!operations.contains_key("mailer.receive.order.v2.submit"));
        assert!(operations.contains_key("tracker.receive.mailer.v1.sent"));
    }

    #[test]
    fn payload_schemas_come_from_the_rust_types() {
        let document = document();
        let schemas = &document["components"]["schemas"];
        let submitted = &schemas["OrderSubmitted"];
        assert_eq!(submitted["properties"]["order_id"]["format"], "uuid");
        assert_eq!(
            submitted["properties"]["lines"]["items"]["$ref"],
            "#/components/schemas/OrderLine"
        );
        assert!(
            schemas["CancelReason"]
                .to_string()
                .contains("payment_declined")
        );
        assert!(
            document["components"]["messages"]["billing.v1.refunded"]["tags"]
                .to_string()
                .contains("compensation")
        );
    }

    #[test]
    fn summaries_drop_the_routing_key() {
        assert_eq!(
            summary_of("`billing.v1.charged`: the order's total was taken\nfrom the customer."),
            "The order's total was taken from the customer."
        );
        assert_eq!(summary_of("Plain text.\n\nMore."), "Plain text.");
    }

    /// The committed `contracts/asyncapi.yaml` is what the code generates today.
    #[cfg(feature = "yaml")]
    #[test]
    fn the_committed_asyncapi_document_is_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("asyncapi.yaml");
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        let generated = to_yaml().expect("render the document as YAML");
        assert!(
            committed == generated,
            "{} is stale or missing: regenerate it with `{REGENERATE}` and commit it",
            path.display()
        );
    }
}

//! The body of `POST /dead-letters/replay`, [`ReplayRequest`]: how the handler reads it, and the
//! schema that says exactly that in the OpenAPI document.
//!
//! The two agree on every body: one the schema allows is never refused as invalid (no 400, no
//! 422), and one it forbids is refused with a 400 or a 422 naming the field. The request
//! generator checks both (`tests/api/generated_requests.rs`). What is not about the body's shape
//! stays outside the schema and is answered otherwise:
//! - the queue and its service's queue must exist in the bus's vhost: 404 otherwise (a name of
//!   more than 255 bytes once `.dead` is added, which AMQP cannot hold, names none either);
//! - the whole body must fit in the kit's JSON limit (64 KiB): 413 otherwise, a bound JSON
//!   Schema cannot put on a body.
//!
//! Where the handler's rules and JSON Schema did not meet, the choices were:
//! - `null` stands for a field left out, as the handler always read it, and the schema says so
//!   (`"all": null` beside ids, `"ids": null` beside `"all": true`); so does `"all": false`
//!   beside ids, accepted as before.
//! - Lengths are in characters, as JSON Schema counts them, not in AMQP's bytes: an id longer
//!   than 255 bytes names no message and so replays nothing, and a queue name too long for AMQP
//!   names no queue (404); both safe, neither a 422 for a body the schema allows.
//! - Surrounding whitespace of `queue` is still ignored, and the schema's pattern allows exactly
//!   what `str::trim` removes, spelled out ([`WHITESPACE`]).

use serde::Deserialize;
use serde_json::{Value, json};
use service_kit::ApiError;
use shopctl::{DeadLetterQueue, Selector};
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type,
};
use utoipa::openapi::{RefOr, schema::SchemaType};

/// The most message ids one replay may name.
const MAX_IDS: usize = 1_000;

/// The longest message id named, in characters. A message id is an AMQP short string (at most
/// 255 bytes), but JSON Schema counts characters; an id of more bytes than that names no message
/// and so replays nothing, which is safe, and so is accepted as the schema says.
const MAX_ID_CHARS: usize = 255;

/// The longest `queue` as sent, surrounding whitespace included, in characters.
const MAX_QUEUE_CHARS: usize = 255;

/// The longest queue name AMQP can hold, in bytes: a longer one names no queue (404).
const MAX_QUEUE_BYTES: usize = 255;

/// What `str::trim` removes (Unicode's `White_Space`), as the body of a regex class, spelled out
/// because `\s` means another set in each engine that reads the document (ECMA 262 adds U+FEFF,
/// Python adds U+001C to U+001F).
const WHITESPACE: &str = r"\x09-\x0d\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// What `char::is_control` matches (`Cc`), as the body of a regex class.
const CONTROL: &str = r"\x00-\x1f\x7f-\x9f";

/// Which dead letters to replay: those of `queue` named by `ids`, or all of them; its
/// `PartialSchema` says exactly which bodies are read.
///
/// The fields are read as any JSON and checked by [`ReplayRequest::parse`], so that a mistyped
/// one is a 422 naming it (serde's own message would only give a line and column); an unknown
/// field is a 400 naming it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// The dead-letter queue, `billing.dead`, or its service's queue, `billing`. Required.
    #[serde(default)]
    pub queue: Value,
    /// The message ids to replay (a group's `message_ids`, or one); every copy of an id.
    #[serde(default)]
    pub ids: Value,
    /// `true` to replay every dead letter of the queue, those without a message id included.
    #[serde(default)]
    pub all: Value,
}

impl ReplayRequest {
    /// The queue and the selector; a 422 naming the field at fault, or a 404 for a queue name no
    /// queue can have.
    pub fn parse(self) -> Result<(DeadLetterQueue, Selector), ApiError> {
        let queue = parse_queue(self.queue)?;
        let all = match self.all {
            Value::Null => false,
            Value::Bool(all) => all,
            _ => return Err(ApiError::validation("all", "must be true or false")),
        };
        let selector = match (self.ids, all) {
            (Value::Null, true) => Selector::All,
            (Value::Null, false) => {
                return Err(ApiError::validation(
                    "ids",
                    "give the message ids to replay, or \"all\": true",
                ));
            }
            (_, true) => {
                return Err(ApiError::validation(
                    "all",
                    "give either ids or all, not both",
                ));
            }
            (ids, false) => Selector::Ids(parse_ids(ids)?),
        };
        Ok((queue, selector))
    }
}

fn parse_queue(queue: Value) -> Result<DeadLetterQueue, ApiError> {
    let queue = match queue {
        Value::String(queue) => queue,
        Value::Null => return Err(ApiError::validation("queue", "is required")),
        _ => {
            return Err(ApiError::validation(
                "queue",
                "must be a string: a dead-letter queue or its service's queue",
            ));
        }
    };
    if queue.chars().count() > MAX_QUEUE_CHARS {
        return Err(ApiError::validation(
            "queue",
            format!("must be at most {MAX_QUEUE_CHARS} characters"),
        ));
    }
    let name = queue.trim();
    if name.chars().any(char::is_control) {
        return Err(ApiError::validation(
            "queue",
            "must not contain control characters",
        ));
    }
    let queue: DeadLetterQueue = name
        .parse()
        .map_err(|error: shopctl::Error| ApiError::validation("queue", error.to_string()))?;
    if queue.name().len() > MAX_QUEUE_BYTES {
        return Err(ApiError::not_found(format!(
            "there is no queue {:?} in the bus's vhost: a queue's name is at most \
             {MAX_QUEUE_BYTES} bytes",
            queue.name()
        )));
    }
    Ok(queue)
}

fn parse_ids(ids: Value) -> Result<Vec<String>, ApiError> {
    let not_ids = || ApiError::validation("ids", "must be a list of message ids (strings)");
    let Value::Array(ids) = ids else {
        return Err(not_ids());
    };
    let ids = ids
        .into_iter()
        .map(|id| match id {
            Value::String(id) => Ok(id),
            _ => Err(not_ids()),
        })
        .collect::<Result<Vec<String>, ApiError>>()?;
    if ids.is_empty() {
        return Err(ApiError::validation("ids", "must name at least one id"));
    }
    if ids.len() > MAX_IDS {
        return Err(ApiError::validation(
            "ids",
            format!("at most {MAX_IDS} ids at a time"),
        ));
    }
    if ids
        .iter()
        .any(|id| id.trim().is_empty() || id.chars().count() > MAX_ID_CHARS)
    {
        return Err(ApiError::validation(
            "ids",
            format!("every id must be a non-blank message id of at most {MAX_ID_CHARS} characters"),
        ));
    }
    Ok(ids)
}

/// The schema of `queue`: what [`parse_queue`] takes before it asks the broker.
///
/// A string of at most [`MAX_QUEUE_CHARS`] characters; its surrounding whitespace is ignored
/// (`str::trim`), and what is left is not empty, has no control character, and is a dead-letter
/// queue's name (`<service>.dead`) or a service queue's name (`<service>`), as
/// `shopctl::DeadLetterQueue` reads them: the service part is not empty, does not end in `.dead`
/// and has no `.retry.` in it (a retry queue, `billing.retry.50ms`, has no dead letters). The
/// last three rules are a `not` of what breaks them, JSON Schema's regexes having no lookahead
/// that every generator understands.
fn queue_schema() -> Schema {
    let space = format!("[{WHITESPACE}]*");
    let not_one_of = json!({
        "anyOf": [
            // `.dead` alone: no service.
            {"pattern": format!(r"^{space}\.dead{space}$")},
            // `<x>.dead.dead`: the service part ends in `.dead`.
            {"pattern": format!(r"\.dead\.dead{space}$")},
            // `.retry.` in the service part of `<service>.dead`...
            {"pattern": format!(r"\.retry\.[\s\S]*\.dead{space}$")},
            // ... or anywhere in a service queue's name.
            {"allOf": [
                {"pattern": r"\.retry\."},
                {"not": {"pattern": format!(r"\.dead{space}$")}}
            ]}
        ]
    });
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(
            "The dead-letter queue, `billing.dead`, or its service's queue, `billing` (surrounding \
             whitespace is ignored). Not a retry queue (`billing.retry.50ms`): no `.retry.` in \
             the service's part; not `.dead` alone, nor ending in `.dead.dead`; no control \
             characters. A name that no queue of the bus's vhost has is a 404.",
        ))
        .min_length(Some(1))
        .max_length(Some(MAX_QUEUE_CHARS))
        .pattern(Some(format!(
            "^{space}[^{CONTROL}{WHITESPACE}](?:[^{CONTROL}]*[^{CONTROL}{WHITESPACE}])?{space}$"
        )))
        .examples(["billing.dead", "billing"])
        .extensions(Some(Extensions::from_iter([("not", not_one_of)])))
        .build()
        .into()
}

/// The schema of `ids`: what [`parse_ids`] takes.
fn ids_schema() -> Schema {
    let id = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_ID_CHARS))
        // At least one character that is not whitespace.
        .pattern(Some(format!("[^{WHITESPACE}]")));
    ArrayBuilder::new()
        .items(id)
        .min_items(Some(1))
        .max_items(Some(MAX_IDS))
        .description(Some(format!(
            "The message ids to replay (a group's `message_ids`, or one), 1 to {MAX_IDS}, each \
             not blank and at most {MAX_ID_CHARS} characters; every copy of an id is replayed. \
             An id no dead letter has replays nothing."
        )))
        .into()
}

/// A branch of the body: `queue` and `selector` (the only other field the branch requires),
/// `absent` the field it leaves out (which may be `null`, as if it were absent), and nothing
/// else.
fn branch(
    title: &str,
    description: &str,
    (selector, selector_schema): (&str, Schema),
    (absent, absent_schema): (&str, Schema),
    example: Value,
) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .title(Some(title))
        .description(Some(description))
        .property("queue", queue_schema())
        .property(selector, selector_schema)
        .property(absent, absent_schema)
        .required("queue")
        .required(selector)
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .examples([example])
        .into()
}

/// One of `values`, described.
fn one_of_values(values: &[Value], description: &str) -> Schema {
    ObjectBuilder::new()
        .schema_type(SchemaType::any())
        .enum_values(Some(values.iter().cloned()))
        .description(Some(description))
        .into()
}

impl utoipa::PartialSchema for ReplayRequest {
    /// Exactly one of two shapes: `{"queue", "ids": [...]}` (with `"all"` absent, `false` or
    /// `null`) or `{"queue", "all": true}` (with `"ids"` absent or `null`); nothing else.
    fn schema() -> RefOr<Schema> {
        let ids = branch(
            "By ids",
            "The dead letters of `queue` with these message ids. `all` may be left out, `false` \
             or `null`: it says nothing more.",
            ("ids", ids_schema()),
            (
                "all",
                one_of_values(&[json!(false), Value::Null], "Left out, `false` or `null`."),
            ),
            json!({"queue": "billing.dead", "ids": ["0195f3c4-7b1e-7c2a-9d4e-2b8f6a1c3e5d"]}),
        );
        let all = branch(
            "All",
            "Every dead letter of `queue`, those without a message id included. `ids` may be \
             left out or `null`.",
            (
                "all",
                one_of_values(&[json!(true)], "`true`: every dead letter of the queue."),
            ),
            ("ids", one_of_values(&[Value::Null], "Left out or `null`.")),
            json!({"queue": "billing", "all": true}),
        );
        OneOfBuilder::new()
            .item(ids)
            .item(all)
            .description(Some(
                "Which dead letters to replay: those of `queue` named by `ids`, or all of them \
                 (`\"all\": true`); exactly one of the two. Any other field is a 400; a body the \
                 schema refuses otherwise is a 422 naming the field.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for ReplayRequest {
    fn name() -> std::borrow::Cow<'static, str> {
        "ReplayRequest".into()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use actix_web::ResponseError;
    use serde_json::json;

    use super::*;

    fn parse(body: serde_json::Value) -> Result<(DeadLetterQueue, Selector), (u16, String)> {
        let request: ReplayRequest =
            serde_json::from_value(body).map_err(|e| (400, e.to_string()))?;
        request.parse().map_err(|error| {
            let status = error.status_code().as_u16();
            match error {
                ApiError::Validation { field, .. } => (status, field),
                other => (status, other.to_string()),
            }
        })
    }

    #[test]
    fn a_queue_is_the_dead_letter_queue_or_its_service() {
        for name in [
            "billing.queue.dead",
            "billing",
            " billing ",
            "\tbilling\u{3000}\n",
        ] {
            let (queue, selector) = parse(json!({"queue": name, "all": true})).unwrap();
            assert_eq!(queue.name(), "billing.queue.dead");
            assert_eq!(selector, Selector::All);
        }
        let (_, selector) = parse(json!({"queue": "billing", "ids": ["a", "b"]})).unwrap();
        assert_eq!(selector, Selector::Ids(vec!["a".into(), "b".into()]));
        // `"all": false` or `null` beside ids says nothing more; so does `"ids": null` beside
        // `"all": true`.
        for all in [json!(false), Value::Null] {
            let (_, selector) =
                parse(json!({"queue": "billing", "ids": ["a"], "all": all})).unwrap();
            assert_eq!(selector, Selector::Ids(vec!["a".into()]));
        }
        let (_, selector) = parse(json!({"queue": "billing", "ids": null, "all": true})).unwrap();
        assert_eq!(selector, Selector::All);
        // `a.retry` is a service's name (only `.retry.` inside one is a retry queue).
        let (queue, _) = parse(json!({"queue": "a.retry.dead", "all": true})).unwrap();
        assert_eq!(queue.service_queue(), "a.retry");
    }

    #[test]
    fn ids_are_bounded_in_characters_not_bytes() {
        let long = "é".repeat(MAX_ID_CHARS);
        let (_, selector) = parse(json!({"queue": "billing", "ids": [long]})).unwrap();
        assert_eq!(selector, Selector::Ids(vec![long]));
    }

    #[test]
    fn a_queue_name_too_long_for_amqp_names_no_queue() {
        // 250 characters, 500 bytes: within the schema, beyond AMQP.
        let long = "é".repeat(250);
        let (status, _) = parse(json!({"queue": long, "all": true})).unwrap_err();
        assert_eq!(status, 404);
        let longest = "x".repeat(MAX_QUEUE_BYTES - ".queue.dead".len());
        let (queue, _) = parse(json!({"queue": longest, "all": true})).unwrap();
        assert_eq!(queue.name().len(), MAX_QUEUE_BYTES);
    }

    #[test]
    fn bad_choices_are_refused_naming_the_field() {
        let refused = |body| parse(body).unwrap_err();
        for queue in [
            json!("billing.retry.50ms"),
            json!(""),
            json!("  "),
            json!(".dead"),
            json!("billing.dead.dead"),
            json!("a.retry.b.dead"),
            json!("bill\u{0}ing"),
            json!("billing\u{7f}"),
            json!(" ".repeat(MAX_QUEUE_CHARS) + "billing"),
            json!(7),
            Value::Null,
        ] {
            assert_eq!(
                refused(json!({"queue": queue, "all": true})),
                (422, "queue".into()),
                "{queue}"
            );
        }
        assert_eq!(refused(json!({"queue": "billing"})), (422, "ids".into()));
        assert_eq!(
            refused(json!({"queue": "billing", "all": false})),
            (422, "ids".into())
        );
        assert_eq!(
            refused(json!({"queue": "billing", "ids": null})),
            (422, "ids".into())
        );
        assert_eq!(
            refused(json!({"queue": "billing", "ids": []})),
            (422, "ids".into())
        );
        assert_eq!(
            refused(json!({"queue": "billing", "ids": [" \u{2003}"]})),
            (422, "ids".into())
        );
        assert_eq!(
            refused(json!({"queue": "billing", "ids": ["x".repeat(MAX_ID_CHARS + 1)]})),
            (422, "ids".into())
        );
        let too_many: Vec<String> = (0..=MAX_IDS).map(|i| i.to_string()).collect();
        assert_eq!(
            refused(json!({"queue": "billing", "ids": too_many})),
            (422, "ids".into())
        );
        assert_eq!(
            refused(json!({"queue": "billing", "ids": ["a"], "all": true})),
            (422, "all".into())
        );
        assert_eq!(
            refused(json!({"queue": "billing", "all": "yes"})),
            (422, "all".into())
        );
    }

    #[test]
    fn an_unknown_field_cannot_be_read() {
        let (status, message) = parse(json!({"queue": "billing", "id": "a"})).unwrap_err();
        assert_eq!(status, 400);
        assert!(message.contains("`id`"), "{message}");
    }

    /// The schema as the document shows it.
    fn document_schema() -> Value {
        serde_json::to_value(<ReplayRequest as utoipa::PartialSchema>::schema())
            .expect("the schema serializes")
    }

    #[test]
    fn the_schema_is_one_of_ids_or_all_with_nothing_else() {
        let schema = document_schema();
        let branches = schema["oneOf"].as_array().expect("oneOf");
        assert_eq!(branches.len(), 2, "{schema}");
        let by_title: BTreeMap<&str, &Value> = branches
            .iter()
            .map(|branch| (branch["title"].as_str().expect("a title"), branch))
            .collect();
        let ids = by_title["By ids"];
        assert_eq!(ids["required"], json!(["queue", "ids"]));
        assert_eq!(ids["additionalProperties"], json!(false));
        assert_eq!(ids["properties"]["all"]["enum"], json!([false, null]));
        let list = &ids["properties"]["ids"];
        assert_eq!(
            (&list["minItems"], &list["maxItems"]),
            (&json!(1), &json!(MAX_IDS))
        );
        assert_eq!(list["items"]["maxLength"], json!(MAX_ID_CHARS));
        let all = by_title["All"];
        assert_eq!(all["required"], json!(["queue", "all"]));
        assert_eq!(all["additionalProperties"], json!(false));
        assert_eq!(all["properties"]["all"]["enum"], json!([true]));
        assert_eq!(all["properties"]["ids"]["enum"], json!([null]));
        for branch in [ids, all] {
            let queue = &branch["properties"]["queue"];
            assert_eq!(queue["type"], "string", "{queue}");
            assert_eq!(queue["maxLength"], json!(MAX_QUEUE_CHARS), "{queue}");
            assert!(queue["pattern"].is_string(), "{queue}");
            assert!(queue["not"]["anyOf"].is_array(), "{queue}");
        }
    }
}

//! `shopctl dead` against the real RabbitMQ (and PostgreSQL for a real bus); each test in a vhost
//! of its own.

mod exactly_once;
mod support;

use event_bus::envelope::{self, ORIGINAL_EXCHANGE, ORIGINAL_ROUTING_KEY, header_str, header_u32};
use shopctl::{
    Choice, Error, ListRequest, Selector, audit::Action, dead_letter::TimeSource, list::Group,
};
use support::{Letter, Rig, dead, id_of};

const LIMIT: usize = 1_000;

fn choice(queue: &str, selector: Selector) -> Choice {
    Choice {
        queue: dead(queue),
        selector,
        limit: LIMIT,
    }
}

fn summary(groups: &[Group]) -> Vec<(&str, &str, Option<&str>, usize)> {
    groups
        .iter()
        .map(|g| {
            (
                g.queue.as_str(),
                g.routing_key.as_str(),
                g.reason.as_deref(),
                g.count,
            )
        })
        .collect()
}

#[tokio::test]
async fn list_groups_dead_letters_by_queue_key_and_reason_and_leaves_every_one_in_place() {
    let rig = Rig::new(&["alpha", "beta"]).await;
    // Not dead-letter queues: a retry queue and a service's queue, each with a message.
    rig.declare("alpha.retry.50ms").await;
    let bystander = Letter::new("order.v2.submit", "not dead");
    rig.park("alpha.retry.50ms", &bystander).await;
    rig.park("alpha", &bystander).await;

    let alpha = [
        Letter::new("order.v2.submit", "the ledger is closed").retried_at(1_700_000_100),
        Letter::new("order.v2.submit", "the ledger is closed").retried_at(1_700_000_000),
        Letter::new("order.v1.cancelled", "the ledger is closed"),
        Letter::new("order.v2.submit", "timeout after 10s"),
    ];
    let beta = [Letter::new("logistics.v1.shipped", "no such order")];
    for letter in &alpha {
        rig.park("alpha.dead", letter).await;
    }
    rig.park("beta.dead", &beta[0]).await;

    let everything = ListRequest {
        queue: None,
        reason: None,
        limit: LIMIT,
    };
    let listing = shopctl::list(&rig.shopctl, &everything).await.unwrap();
    assert_eq!(
        summary(&listing.groups),
        vec![
            (
                "alpha.dead",
                "order.v1.cancelled",
                Some("the ledger is closed"),
                1
            ),
            (
                "alpha.dead",
                "order.v2.submit",
                Some("the ledger is closed"),
                2
            ),
            (
                "alpha.dead",
                "order.v2.submit",
                Some("timeout after 10s"),
                1
            ),
            (
                "beta.dead",
                "logistics.v1.shipped",
                Some("no such order"),
                1
            ),
        ]
    );
    assert!(listing.truncated.is_empty());
    // The time of a retried letter is its last retry's.
    let retried = &listing.groups[1];
    assert_eq!(retried.oldest.map(|t| t.timestamp()), Some(1_700_000_000));
    assert_eq!(retried.newest.map(|t| t.timestamp()), Some(1_700_000_100));

    // Read again, one queue and one reason: nothing moved the first time.
    let ledger = ListRequest {
        queue: Some(dead("alpha.dead")),
        reason: Some("LEDGER".into()),
        limit: LIMIT,
    };
    let listing = shopctl::list(&rig.shopctl, &ledger).await.unwrap();
    assert_eq!(
        summary(&listing.groups),
        vec![
            (
                "alpha.dead",
                "order.v1.cancelled",
                Some("the ledger is closed"),
                1
            ),
            (
                "alpha.dead",
                "order.v2.submit",
                Some("the ledger is closed"),
                2
            ),
        ]
    );
    let rendered = shopctl::list::render(&listing);
    assert!(rendered.contains("2023-11-14T22:13:20.000Z"), "{rendered}");

    // A limit below the queue's depth says so, and still gives everything back.
    let two = ListRequest {
        queue: Some(dead("alpha.dead")),
        reason: None,
        limit: 2,
    };
    let listing = shopctl::list(&rig.shopctl, &two).await.unwrap();
    assert_eq!(listing.truncated, vec!["alpha.dead".to_owned()]);
    assert_eq!(listing.groups.iter().map(|g| g.count).sum::<usize>(), 2);

    // Every message is still there, in its order; the other queues were not touched.
    let ids: Vec<String> = alpha.iter().map(|letter| letter.id.clone()).collect();
    assert_eq!(rig.drain_ids("alpha.dead").await, ids);
    assert_eq!(rig.drain_ids("beta.dead").await, vec![beta[0].id.clone()]);
    assert_eq!(rig.depth("alpha.retry.50ms").await, 1);
    assert_eq!(rig.depth("alpha").await, 1);
    assert!(
        rig.audit.records().unwrap().is_empty(),
        "listing is not audited"
    );
    rig.cleanup().await;
}

#[tokio::test]
async fn list_of_a_queue_that_is_missing_or_not_a_dead_letter_queue_is_an_error() {
    let rig = Rig::new(&["alpha"]).await;
    let missing = ListRequest {
        queue: Some(dead("gamma.dead")),
        reason: None,
        limit: LIMIT,
    };
    let error = shopctl::list(&rig.shopctl, &missing).await.unwrap_err();
    assert!(
        matches!(&error, Error::NoSuchQueue(q) if q == "gamma.dead"),
        "{error}"
    );
    assert!(
        "alpha.retry.50ms"
            .parse::<shopctl::DeadLetterQueue>()
            .is_err()
    );
    let listing = shopctl::list(
        &rig.shopctl,
        &ListRequest {
            queue: None,
            reason: None,
            limit: LIMIT,
        },
    )
    .await
    .unwrap();
    assert!(listing.groups.is_empty());
    assert_eq!(shopctl::list::render(&listing), "no dead letters\n");
    rig.cleanup().await;
}

#[tokio::test]
async fn show_prints_every_header_and_the_payload_as_pretty_json() {
    let rig = Rig::new(&["alpha", "beta"]).await;
    let first = Letter::new("order.v2.submit", "the ledger is closed");
    let wanted = Letter::new("order.v1.cancelled", "no such payment").retried_at(1_700_000_000);
    let mut garbage = Letter::new("order.v2.submit", "malformed payload: expected value");
    garbage.payload = b"not json \xff".to_vec();
    rig.park("alpha.dead", &first).await;
    rig.park("alpha.dead", &wanted).await;
    rig.park("alpha.dead", &garbage).await;
    // The same event dead-lettered by a second service keeps its id.
    rig.park("beta.dead", &wanted).await;

    let found = shopctl::show(&rig.shopctl, &wanted.id, Some(&dead("alpha.dead")), LIMIT)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    let letter = &found[0];
    assert_eq!(letter.message_id.as_deref(), Some(wanted.id.as_str()));
    assert_eq!(letter.routing_key, "order.v1.cancelled");
    assert_eq!(letter.exchange, "order");
    assert_eq!(letter.reason.as_deref(), Some("no such payment"));
    assert_eq!(letter.kind.as_deref(), Some("handler"));
    assert_eq!(letter.attempt, Some(3));
    assert_eq!(
        letter.dead_lettered_at.map(|(t, s)| (t.timestamp(), s)),
        Some((1_700_000_000, TimeSource::LastRetry))
    );
    let shown = shopctl::show::render(letter);
    for expected in [
        format!("message {} in alpha.dead", wanted.id),
        r#""x-error": "no such payment""#.to_owned(),
        r#""x-dead-letter-kind": "handler""#.to_owned(),
        r#""x-attempt": 3"#.to_owned(),
        r#""x-original-routing-key": "order.v1.cancelled""#.to_owned(),
        r#""x-original-exchange": "order""#.to_owned(),
        r#""time": "2023-11-14T22:13:20+00:00""#.to_owned(),
        r#""correlation_id": "flow-1""#.to_owned(),
        format!("payload ({} bytes):\n{{\n", wanted.payload.len()),
        format!("  \"order_id\": \"o-{}\"", wanted.id),
        "  \"lines\": [\n    1,\n    2\n  ]".to_owned(),
    ] {
        assert!(shown.contains(&expected), "{expected}\nnot in\n{shown}");
    }

    // Without a queue: every copy. A payload that is not JSON is shown as text.
    let everywhere = shopctl::show(&rig.shopctl, &wanted.id, None, LIMIT)
        .await
        .unwrap();
    let queues: Vec<&str> = everywhere.iter().map(|l| l.queue.name()).collect();
    assert_eq!(queues, vec!["alpha.dead", "beta.dead"]);
    let broken = shopctl::show(&rig.shopctl, &garbage.id, None, LIMIT)
        .await
        .unwrap();
    assert!(shopctl::show::render(&broken[0]).contains("not json \u{fffd}"));
    assert!(
        shopctl::show(&rig.shopctl, "no-such-id", None, LIMIT)
            .await
            .unwrap()
            .is_empty()
    );

    assert_eq!(
        rig.drain_ids("alpha.dead").await,
        vec![first.id.clone(), wanted.id.clone(), garbage.id.clone()]
    );
    rig.cleanup().await;
}

#[tokio::test]
async fn replaying_one_id_moves_exactly_that_message_back_with_its_id_and_a_fresh_attempt() {
    let rig = Rig::new(&["alpha"]).await;
    let letters = [
        Letter::new("order.v2.submit", "the ledger is closed"),
        Letter::new("order.v2.submit", "the ledger is closed"),
        Letter::new("order.v2.submit", "the ledger is closed"),
    ];
    for letter in &letters {
        rig.park("alpha.dead", letter).await;
    }
    let chosen = &letters[1];

    let record = shopctl::replay(
        &rig.shopctl,
        &choice("alpha.dead", Selector::Ids(vec![chosen.id.clone()])),
        &rig.audit,
    )
    .await
    .unwrap();
    assert_eq!(record.error, None);
    assert_eq!(record.count, 1);
    assert_eq!(
        record.messages[0].message_id.as_deref(),
        Some(chosen.id.as_str())
    );
    assert_eq!(record.replayed_to.as_deref(), Some("alpha"));

    // In the service's queue: the same message, read by the consumer as the event it was, at
    // attempt 1, without the verdict of its last attempt.
    let replayed = rig.drain("alpha").await;
    assert_eq!(replayed.len(), 1);
    let copy = &replayed[0];
    assert_eq!(
        (copy.exchange.as_str(), copy.routing_key.as_str()),
        ("alpha.retry", "alpha")
    );
    assert_eq!(id_of(&copy.properties), chosen.id);
    assert_eq!(copy.data, chosen.payload);
    let expected = chosen.properties();
    assert_eq!(copy.properties.correlation_id(), expected.correlation_id());
    assert_eq!(copy.properties.kind(), expected.kind());
    assert_eq!(copy.properties.app_id(), expected.app_id());
    assert_eq!(copy.properties.content_type(), expected.content_type());
    assert_eq!(*copy.properties.delivery_mode(), Some(2));
    let headers = copy.properties.headers().as_ref();
    assert_eq!(header_u32(headers, envelope::ATTEMPT), None);
    assert_eq!(header_str(headers, envelope::ERROR), None);
    assert_eq!(header_str(headers, envelope::DEAD_LETTER_KIND), None);
    assert_eq!(header_u32(headers, envelope::EVENT_VERSION), Some(1));
    assert_eq!(
        header_str(headers, ORIGINAL_ROUTING_KEY).as_deref(),
        Some("order.v2.submit")
    );
    assert_eq!(
        header_str(headers, ORIGINAL_EXCHANGE).as_deref(),
        Some("order")
    );
    // Through the service's own retry path, where its record of the event is believed.
    let read = event_bus::Envelope::decode("alpha.retry", "alpha", &copy.properties, true).unwrap();
    assert_eq!(
        (
            read.exchange.as_str(),
            read.routing_key.as_str(),
            read.attempt
        ),
        ("order", "order.v2.submit", 1)
    );

    // The others stay, in their order.
    assert_eq!(
        rig.drain_ids("alpha.dead").await,
        vec![letters[0].id.clone(), letters[2].id.clone()]
    );
    let audit = rig.audit.records().unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0], record);
    assert_eq!(audit[0].action, Action::Replay);
    assert_eq!(audit[0].queue, "alpha.dead");
    assert_eq!(audit[0].vhost, rig.broker.vhost);
    assert_eq!(audit[0].broker_user, "guest");
    assert!(!audit[0].os_user.is_empty());
    assert_eq!(audit[0].messages[0].routing_key, "order.v2.submit");
    assert_eq!(
        audit[0].messages[0].reason.as_deref(),
        Some("the ledger is closed")
    );
    rig.cleanup().await;
}

#[tokio::test]
async fn a_replay_into_a_missing_service_queue_moves_nothing_and_records_nothing() {
    let rig = Rig::new(&[]).await;
    rig.declare("gamma.dead").await;
    let letter = Letter::new("order.v2.submit", "the ledger is closed");
    rig.park("gamma.dead", &letter).await;

    let error = shopctl::replay(
        &rig.shopctl,
        &choice("gamma.dead", Selector::All),
        &rig.audit,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, Error::NoSuchQueue(q) if q == "gamma"),
        "{error}"
    );
    assert_eq!(rig.drain_ids("gamma.dead").await, vec![letter.id.clone()]);
    assert!(rig.audit.records().unwrap().is_empty());
    rig.cleanup().await;
}

#[tokio::test]
async fn dropping_removes_only_the_chosen_and_a_declined_drop_removes_nothing() {
    let rig = Rig::new(&["alpha"]).await;
    let letters = [
        Letter::new("order.v2.submit", "the ledger is closed"),
        Letter::new("order.v2.submit", "Timeout after 10s"),
        Letter::new("order.v1.cancelled", "the ledger is closed"),
        Letter::new("order.v2.submit", "timeout after 10s"),
    ];
    for letter in &letters {
        rig.park("alpha.dead", letter).await;
    }
    let timeouts = choice("alpha.dead", Selector::Reason("timeout".into()));

    let declined = shopctl::discard(
        &rig.shopctl,
        &timeouts,
        async |_: &[shopctl::DeadLetter]| false,
        &rig.audit,
    )
    .await
    .unwrap();
    assert_eq!(declined, None);
    assert!(rig.audit.records().unwrap().is_empty());
    assert_eq!(rig.depth("alpha.dead").await, 4);

    let mut asked = Vec::new();
    let record = shopctl::discard(
        &rig.shopctl,
        &timeouts,
        async |chosen: &[shopctl::DeadLetter]| {
            asked.extend(chosen.iter().filter_map(|l| l.message_id.clone()));
            true
        },
        &rig.audit,
    )
    .await
    .unwrap()
    .expect("confirmed");
    assert_eq!(asked, vec![letters[1].id.clone(), letters[3].id.clone()]);
    assert_eq!(record.count, 2);
    assert_eq!(record.error, None);

    assert_eq!(
        rig.drain_ids("alpha.dead").await,
        vec![letters[0].id.clone(), letters[2].id.clone()]
    );
    assert_eq!(rig.depth("alpha").await, 0, "a drop replays nothing");
    let audit = rig.audit.records().unwrap();
    assert_eq!(audit, vec![record]);
    assert_eq!(audit[0].action, Action::Drop);
    assert_eq!(audit[0].selector, Selector::Reason("timeout".into()));
    rig.cleanup().await;
}

#[tokio::test]
async fn every_replay_and_drop_appends_one_audit_line() {
    let rig = Rig::new(&["alpha"]).await;
    let submit = Letter::new("order.v2.submit", "the ledger is closed");
    let cancel = Letter::new("order.v1.cancelled", "the ledger is closed");
    let other = Letter::new("order.v1.cancelled", "no such payment");
    for letter in [&submit, &cancel, &other] {
        rig.park("alpha.dead", letter).await;
    }

    let by_key = choice(
        "alpha.dead",
        Selector::RoutingKey("order.v1.cancelled".into()),
    );
    shopctl::replay(&rig.shopctl, &by_key, &rig.audit)
        .await
        .unwrap();
    let all = choice("alpha.dead", Selector::All);
    shopctl::discard(
        &rig.shopctl,
        &all,
        async |_: &[shopctl::DeadLetter]| true,
        &rig.audit,
    )
    .await
    .unwrap();
    // Nothing left to choose: still a line, with nothing in it.
    shopctl::replay(&rig.shopctl, &all, &rig.audit)
        .await
        .unwrap();

    let audit = rig.audit.records().unwrap();
    let lines: Vec<(Action, Vec<String>)> = audit
        .iter()
        .map(|record| {
            let ids = record
                .messages
                .iter()
                .filter_map(|m| m.message_id.clone())
                .collect();
            (record.action, ids)
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            (Action::Replay, vec![cancel.id.clone(), other.id.clone()]),
            (Action::Drop, vec![submit.id.clone()]),
            (Action::Replay, vec![]),
        ]
    );
    let text = std::fs::read_to_string(rig.audit.path()).unwrap();
    assert_eq!(text.lines().count(), 3);
    assert!(text.ends_with('\n'));
    assert_eq!(
        rig.drain_ids("alpha").await,
        vec![cancel.id.clone(), other.id.clone()]
    );
    assert!(rig.drain_ids("alpha.dead").await.is_empty());
    rig.cleanup().await;
}

//! Who published a message, and what it may claim: every publish of the bus carries its
//! connection's broker user as `user_id` (RabbitMQ refuses any other); a retried or dead-lettered
//! copy is republished under the consumer's own identity, the first sender kept in
//! `x-original-user-id`; and the headers that steer the runtime are believed only on a delivery
//! from the queue's own retry path.

use event_bus::{BrokerSettings, Event, EventBus, envelope};
use futures_util::StreamExt;
use lapin::{
    BasicProperties, Connection, ConnectionProperties,
    options::{BasicConsumeOptions, BasicPublishOptions},
    types::{AMQPValue, FieldTable},
};

use crate::{
    header, header_text, ping,
    support::{AlwaysFail, Ping, Record, World},
};

/// Publishes a ping with id `id` as `user`, who sets `user_id` as RabbitMQ's documentation
/// recommends.
async fn publish_as(user: &BrokerSettings, id: &str) -> Connection {
    let connection = Connection::connect_uri(
        user.uri(),
        ConnectionProperties::default().with_connection_name(user.username.as_str().into()),
    )
    .await
    .expect("connect as another producer");
    let channel = connection.create_channel().await.expect("channel");
    channel
        .basic_publish(
            Ping::EXCHANGE.into(),
            Ping::ROUTING_KEY.into(),
            BasicPublishOptions::default(),
            format!(r#"{{"id":"{id}"}}"#).as_bytes(),
            BasicProperties::default()
                .with_message_id(format!("{id}-message").as_str().into())
                .with_user_id(user.username.as_str().into()),
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    connection
}

/// Found by trying a producer that identifies itself, as RabbitMQ's documentation recommends:
/// the copy for the retry queue kept the foreign `user_id`, RabbitMQ refused it and closed the
/// channel, and the message came back as attempt 1 forever. A trusted extra publisher's message
/// is retried and dead-lettered like any other, still believed as its first sender.
#[tokio::test]
async fn a_message_from_another_identity_is_retried_and_dead_lettered_like_any_other() {
    let world = World::new().await;
    let legacy = world.broker.user("legacy-shop").await;
    let mut settings = world.settings("strict");
    settings.senders.trusted = [(Ping::EXCHANGE.to_owned(), vec![legacy.username.clone()])].into();
    let handler = AlwaysFail::default();
    let bus = world
        .start(EventBus::new(settings, world.db.pool.clone()).on::<Ping, _>(handler.clone()))
        .await;

    let connection = publish_as(&legacy, "from-legacy").await;

    let probe = world.broker.raw_channel().await;
    let dead = world.broker.take(&probe, "strict.queue.dead").await;
    let properties = &dead.delivery.properties;
    assert_eq!(
        header_text(properties, envelope::ORIGINAL_USER_ID),
        legacy.username
    );
    assert_eq!(
        properties.user_id().as_ref().map(|id| id.to_string()),
        Some("guest".to_owned()),
        "the copy is published under the consumer's own identity"
    );
    assert!(header(properties, "x-death").is_some());
    assert_eq!(*handler.attempts.lock().expect("lock"), vec![1, 2, 3]);
    let _ = connection.close(200, "done".into()).await;
    world.stop(vec![bus]).await;
}

/// A message on an exchange from a user who is neither its producer nor trusted for it is
/// dead-lettered at once, naming the sender, and no handler runs; then the real producer's
/// message is handled as usual.
#[tokio::test]
async fn a_message_from_an_untrusted_sender_is_dead_lettered_at_once_naming_it() {
    let world = World::new().await;
    let mallory = world.broker.user("mallory").await;
    let producer = world.broker.user("producer").await;
    let mut settings = world.settings("wary");
    // The producer of the exchange by name is `shop-<exchange>`, which no user of this test is;
    // the producer here is an extra trusted publisher.
    settings.senders.user_prefix = "shop-".into();
    settings.senders.trusted =
        [(Ping::EXCHANGE.to_owned(), vec![producer.username.clone()])].into();
    let bus = world
        .start(EventBus::new(settings, world.db.pool.clone()).on::<Ping, _>(Record))
        .await;

    let forged = publish_as(&mallory, "forged").await;
    let probe = world.broker.raw_channel().await;
    let dead = world.broker.take(&probe, "wary.queue.dead").await;
    let reason = header_text(&dead.delivery.properties, envelope::ERROR);
    assert_eq!(
        reason,
        format!(
            "sent by broker user `{}`, but only `shop-{exchange}`, `{}` may publish on exchange \
             `{exchange}`",
            mallory.username,
            producer.username,
            exchange = Ping::EXCHANGE
        )
    );
    assert_eq!(
        header(&dead.delivery.properties, envelope::ATTEMPT),
        Some(&AMQPValue::LongLongInt(1)),
        "dead-lettered at its first attempt, not retried"
    );

    let genuine = publish_as(&producer, "genuine").await;
    assert_eq!(world.wait_effects("ping", 1).await, vec!["genuine"]);
    for connection in [forged, genuine] {
        let _ = connection.close(200, "done".into()).await;
    }
    world.stop(vec![bus]).await;
}

#[tokio::test]
async fn every_publish_names_its_broker_user() {
    let world = World::new().await;
    let probe = world.broker.raw_channel().await;
    let topology = world
        .bus("listener")
        .on::<Ping, _>(AlwaysFail::default())
        .topology();
    topology
        .declare(&world.broker.raw_connection().await)
        .await
        .expect("declare a queue to read");
    let mut consumer = probe
        .basic_consume(
            "listener.queue".into(),
            "probe".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("consume");
    let bus = world.start(world.bus("talker").publishes::<Ping>()).await;
    bus.publisher()
        .publish(&ping("named"), "f")
        .await
        .expect("publish");
    let delivery = consumer
        .next()
        .await
        .expect("a delivery")
        .expect("no error");
    assert_eq!(
        delivery
            .properties
            .user_id()
            .as_ref()
            .map(|id| id.to_string()),
        Some("guest".to_owned())
    );
    world.stop(vec![bus]).await;
}

/// The headers that steer the runtime are believed only on a delivery from the queue's own retry
/// path: on a first delivery a forged attempt count does not skip the retries.
#[tokio::test]
async fn a_forged_attempt_on_a_first_delivery_does_not_skip_the_retries() {
    let world = World::new().await;
    let handler = AlwaysFail::default();
    let bus = world
        .start(world.bus("guarded").on::<Ping, _>(handler.clone()))
        .await;
    let probe = world.broker.raw_channel().await;
    let mut forged = FieldTable::default();
    forged.insert(envelope::ATTEMPT.into(), AMQPValue::LongLongInt(99));
    world
        .broker
        .publish_raw(
            &probe,
            Ping::EXCHANGE,
            Ping::ROUTING_KEY,
            br#"{"id":"forged"}"#,
            BasicProperties::default()
                .with_message_id("forged-attempt".into())
                .with_headers(forged),
        )
        .await;
    let dead = world.broker.take(&probe, "guarded.queue.dead").await;
    assert_eq!(
        header(&dead.delivery.properties, envelope::ATTEMPT),
        Some(&AMQPValue::LongLongInt(3))
    );
    assert_eq!(*handler.attempts.lock().expect("lock"), vec![1, 2, 3]);
    world.stop(vec![bus]).await;
}

/// A message put into the queue by name (through the default exchange, which any user allowed
/// to write there can do) claiming to be a retried event is not believed: it is dead-lettered as
/// what it is, and no handler runs.
#[tokio::test]
async fn a_forged_original_routing_key_takes_no_handler_s_route() {
    let world = World::new().await;
    let bus = world
        .start(world.bus("guarded").on::<Ping, _>(Record))
        .await;
    let probe = world.broker.raw_channel().await;
    let mut forged = FieldTable::default();
    forged.insert(
        envelope::ORIGINAL_ROUTING_KEY.into(),
        AMQPValue::LongString(Ping::ROUTING_KEY.as_bytes().to_vec().into()),
    );
    forged.insert(
        envelope::ORIGINAL_EXCHANGE.into(),
        AMQPValue::LongString(Ping::EXCHANGE.as_bytes().to_vec().into()),
    );
    world
        .broker
        .publish_raw(
            &probe,
            "",
            "guarded.queue",
            br#"{"id":"smuggled"}"#,
            BasicProperties::default()
                .with_message_id("forged-route".into())
                .with_headers(forged),
        )
        .await;
    bus.publisher()
        .publish(&ping("genuine"), "f")
        .await
        .expect("publish");

    let dead = world.broker.take(&probe, "guarded.queue.dead").await;
    let reason = header_text(&dead.delivery.properties, envelope::ERROR);
    assert!(
        reason.contains("`guarded.queue` is not an event routing key"),
        "{reason}"
    );
    assert_eq!(world.wait_effects("ping", 1).await, vec!["genuine"]);
    world.stop(vec![bus]).await;
}

//! `shopctl broker provision` against the real RabbitMQ, tried from the attacker's side: on a vhost
//! of its own, each service's user can do what its wiring needs, and the broker refuses
//! (ACCESS_REFUSED, channel closed) anything else.

use contracts::catalog;
use event_bus::{
    BrokerSettings,
    testing::TestBroker,
    topology::{Topology, dead_letter_queue},
};
use lapin::{
    BasicProperties, Channel, Connection, ConnectionProperties,
    options::{
        BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions,
        QueueDeclareOptions,
    },
    protocol::{AMQPErrorKind, AMQPSoftError},
    types::FieldTable,
};
use secrecy::SecretString;

/// A vhost with the shop's identities provisioned under a prefix of this test's own.
struct Provisioned {
    broker: TestBroker,
    prefix: String,
    secrets: std::path::PathBuf,
}

impl Provisioned {
    async fn new() -> Self {
        let broker = TestBroker::new().await;
        let prefix = format!("{}-", broker.vhost);
        let secrets = std::env::temp_dir().join(format!("{prefix}secrets"));
        let done =
            shopctl::provision::provision(broker.management(), &broker.vhost, &prefix, &secrets)
                .await
                .expect("provision");
        for user in &done.users {
            broker.delete_on_cleanup(user);
        }
        // Again: provisioning is idempotent.
        let again =
            shopctl::provision::provision(broker.management(), &broker.vhost, &prefix, &secrets)
                .await
                .expect("provision again");
        assert_eq!(again, done);
        Self {
            broker,
            prefix,
            secrets,
        }
    }

    fn settings(&self, service: &str) -> BrokerSettings {
        let user = format!("{}{service}", self.prefix);
        let password: SecretString =
            shopctl::provision::password(&self.secrets, &user).expect("password");
        BrokerSettings {
            username: user,
            password,
            ..self.broker.broker_settings()
        }
    }

    async fn connect(&self, service: &str) -> Connection {
        Connection::connect_uri(
            self.settings(service).uri(),
            ConnectionProperties::default().with_connection_name(service.into()),
        )
        .await
        .unwrap_or_else(|error| panic!("connect as {service}: {error}"))
    }

    async fn cleanup(self) {
        self.broker.cleanup().await;
        let _ = std::fs::remove_dir_all(&self.secrets);
    }
}

async fn confirmed_channel(connection: &Connection) -> Channel {
    let channel = connection.create_channel().await.expect("channel");
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    channel
}

/// Publishes as `user`, with `user_id` set as the bus does; the broker's answer.
async fn publish(
    channel: &Channel,
    user: &str,
    exchange: &str,
    routing_key: &str,
) -> lapin::Result<()> {
    let confirm = channel
        .basic_publish(
            exchange.into(),
            routing_key.into(),
            BasicPublishOptions::default(),
            b"{}",
            BasicProperties::default()
                .with_message_id("m-1".into())
                .with_user_id(user.into()),
        )
        .await?;
    confirm.await.map(drop)
}

/// The broker refused with ACCESS_REFUSED and closed the channel.
#[track_caller]
fn assert_refused<T: std::fmt::Debug>(result: lapin::Result<T>, what: &str, channel: &Channel) {
    let error = result.expect_err(what);
    let refused = match error.kind() {
        lapin::ErrorKind::ProtocolError(amqp) => {
            matches!(
                amqp.kind(),
                AMQPErrorKind::Soft(AMQPSoftError::ACCESSREFUSED)
            )
        }
        _ => false,
    } || error.to_string().contains("ACCESS_REFUSED");
    assert!(refused, "{what}: {error}");
    assert!(
        !channel.status().connected(),
        "{what}: the channel is closed"
    );
}

#[tokio::test]
async fn each_service_may_do_what_its_wiring_needs_and_nothing_else() {
    let shop = Provisioned::new().await;
    let billing = shop.connect("billing").await;
    let billing_user = format!("{}billing", shop.prefix);

    // What its wiring needs: declare its queues, bind them to `order`, publish its own events.
    let topology: Topology = catalog::topology("billing");
    topology
        .declare(&billing)
        .await
        .expect("billing declares its topology");
    let channel = confirmed_channel(&billing).await;
    publish(&channel, &billing_user, "billing", "billing.v1.charged")
        .await
        .expect("billing publishes its own event");
    let queue = topology.queue.clone().expect("billing has a queue");
    channel
        .basic_get(queue.as_str().into(), BasicGetOptions::default())
        .await
        .expect("billing reads its own queue");

    // Another service's exchange.
    let channel = confirmed_channel(&billing).await;
    let forged = publish(&channel, &billing_user, "order", "order.v1.cancelled").await;
    assert_refused(forged, "billing publishes on exchange order", &channel);
    // A key outside its own on its own exchange.
    let channel = confirmed_channel(&billing).await;
    let forged = publish(&channel, &billing_user, "billing", "order.v1.cancelled").await;
    assert_refused(forged, "billing publishes order.v1.cancelled", &channel);
    // The default exchange, which reaches any queue by name.
    let channel = confirmed_channel(&billing).await;
    let smuggled = publish(&channel, &billing_user, "", "order.queue").await;
    assert_refused(
        smuggled,
        "billing publishes to the default exchange",
        &channel,
    );

    // Another service's queue, and another's retry path, which is believed about attempts.
    catalog::topology("order")
        .declare(&shop.connect("order").await)
        .await
        .expect("order declares its topology");
    let channel = billing.create_channel().await.expect("channel");
    let stolen = channel
        .basic_get("order.queue".into(), BasicGetOptions::default())
        .await;
    assert_refused(stolen, "billing reads order's queue", &channel);
    let channel = confirmed_channel(&billing).await;
    let forged = publish(&channel, &billing_user, "order.queue.retry", "order.queue").await;
    assert_refused(forged, "billing writes to order's retry path", &channel);

    // A queue or an exchange that is not its own.
    let channel = billing.create_channel().await.expect("channel");
    let declared = channel
        .queue_declare(
            "sneaky".into(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await;
    assert_refused(
        declared,
        "billing declares a queue of its own choosing",
        &channel,
    );
    let channel = billing.create_channel().await.expect("channel");
    let deleted = channel
        .exchange_declare(
            "logistics".into(),
            lapin::ExchangeKind::Fanout,
            ExchangeDeclareOptions::default(),
            FieldTable::default(),
        )
        .await;
    assert_refused(deleted, "billing redeclares logistics' exchange", &channel);

    let _ = billing.close(200, "done".into()).await;
    shop.cleanup().await;
}

#[tokio::test]
async fn the_operator_reads_dead_letters_and_replays_but_touches_nothing_else() {
    let shop = Provisioned::new().await;
    let topology = catalog::topology("billing");
    topology
        .declare(&shop.connect("billing").await)
        .await
        .expect("billing declares its topology");
    let operator = shop.connect("operator").await;
    let operator_user = format!("{}operator", shop.prefix);
    let queue = topology.queue.clone().expect("queue");

    let channel = operator.create_channel().await.expect("channel");
    channel
        .basic_get(
            dead_letter_queue(&queue).as_str().into(),
            BasicGetOptions::default(),
        )
        .await
        .expect("the operator reads a dead-letter queue");
    let channel = confirmed_channel(&operator).await;
    publish(&channel, &operator_user, "billing.queue.retry", &queue)
        .await
        .expect("the operator replays through the retry path");

    let channel = operator.create_channel().await.expect("channel");
    let stolen = channel
        .basic_get(queue.as_str().into(), BasicGetOptions::default())
        .await;
    assert_refused(stolen, "the operator reads a service's queue", &channel);
    let channel = confirmed_channel(&operator).await;
    let forged = publish(&channel, &operator_user, "order", "order.v1.cancelled").await;
    assert_refused(forged, "the operator publishes an event", &channel);

    let _ = operator.close(200, "done".into()).await;
    shop.cleanup().await;
}

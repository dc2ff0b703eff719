//! A vhost per test with services' queues and dead letters made the way the bus makes them, a
//! shopctl connection to it, an audit log of its own, and a probe to look behind shopctl's back.

use std::time::Duration;

use event_bus::{
    envelope::{
        ATTEMPT, DEAD_LETTER_KIND, ERROR, EVENT_VERSION, ORIGINAL_EXCHANGE, ORIGINAL_ROUTING_KEY,
    },
    testing::TestBroker,
};
use lapin::{
    BasicProperties, Channel,
    options::{BasicAckOptions, BasicGetOptions, ConfirmSelectOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldArray, FieldTable, LongString},
};
use shopctl::{AuditLog, Broker, DeadLetterQueue};

/// One test's world.
pub struct Rig {
    pub broker: TestBroker,
    /// shopctl's connection, as the CLI makes it.
    pub shopctl: Broker,
    /// A confirm channel for the test's own publishing and reading.
    pub probe: Channel,
    pub audit: AuditLog,
}

/// A dead letter as the bus parks one (`event-bus/src/consumer/disposition.rs`).
pub struct Letter {
    pub id: String,
    pub routing_key: &'static str,
    pub reason: &'static str,
    pub payload: Vec<u8>,
    /// The `time` of an `x-death` entry, as left by a retry queue.
    pub retried_at: Option<u64>,
}

impl Letter {
    pub fn new(routing_key: &'static str, reason: &'static str) -> Self {
        let id = uuid::Uuid::now_v7().to_string();
        Self {
            payload: format!(r#"{{"order_id":"o-{id}","lines":[1,2]}}"#).into_bytes(),
            id,
            routing_key,
            reason,
            retried_at: None,
        }
    }

    pub fn retried_at(mut self, seconds: u64) -> Self {
        self.retried_at = Some(seconds);
        self
    }

    pub fn properties(&self) -> BasicProperties {
        let exchange = self.routing_key.split('.').next().unwrap_or_default();
        let mut headers = FieldTable::default();
        headers.insert(EVENT_VERSION.into(), AMQPValue::LongLongInt(1));
        headers.insert(ORIGINAL_ROUTING_KEY.into(), text(self.routing_key));
        headers.insert(ORIGINAL_EXCHANGE.into(), text(exchange));
        headers.insert(ERROR.into(), text(self.reason));
        headers.insert(DEAD_LETTER_KIND.into(), text("handler"));
        headers.insert(ATTEMPT.into(), AMQPValue::LongLongInt(3));
        if let Some(seconds) = self.retried_at {
            let mut death = FieldTable::default();
            death.insert("queue".into(), text("retry"));
            death.insert("reason".into(), text("expired"));
            death.insert("count".into(), AMQPValue::LongLongInt(1));
            death.insert("time".into(), AMQPValue::Timestamp(seconds));
            headers.insert(
                "x-death".into(),
                AMQPValue::FieldArray(FieldArray::from(vec![AMQPValue::FieldTable(death)])),
            );
        }
        BasicProperties::default()
            .with_message_id(self.id.as_str().into())
            .with_correlation_id("flow-1".into())
            .with_content_type("application/json".into())
            .with_type(self.routing_key.into())
            .with_app_id(exchange.into())
            .with_delivery_mode(2)
            .with_headers(headers)
    }
}

pub fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value.as_bytes().to_vec()))
}

impl Rig {
    /// A fresh vhost with, for each of `services`, its queue and its dead-letter queue.
    pub async fn new(services: &[&str]) -> Self {
        let broker = TestBroker::new().await;
        let shopctl = Broker::connect(&broker.broker_settings(), &management_url())
            .await
            .expect("shopctl connects");
        let rig = Self::from_parts(broker, shopctl).await;
        for service in services {
            rig.declare(service).await;
            rig.declare(&format!("{service}.dead")).await;
            event_bus::testing::declare_retry_path(&rig.probe, service).await;
        }
        rig
    }

    /// A rig on an existing vhost and shopctl connection, with an audit log of its own.
    pub async fn from_parts(broker: TestBroker, shopctl: Broker) -> Self {
        let probe = broker.raw_channel().await;
        probe
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .expect("confirm mode");
        let audit = AuditLog::new(
            std::env::temp_dir()
                .join(format!("shopctl-test-{}", uuid::Uuid::new_v4().simple()))
                .join("audit.log"),
        );
        Self {
            broker,
            shopctl,
            probe,
            audit,
        }
    }

    pub async fn declare(&self, queue: &str) {
        self.probe
            .queue_declare(
                queue.into(),
                QueueDeclareOptions::durable(),
                FieldTable::default(),
            )
            .await
            .unwrap_or_else(|error| panic!("declare {queue}: {error}"));
    }

    /// Parks `letter` in `queue`, confirmed.
    pub async fn park(&self, queue: &str, letter: &Letter) {
        self.put(queue, &letter.payload, letter.properties()).await;
    }

    /// Publishes straight into `queue`, confirmed.
    pub async fn put(&self, queue: &str, payload: &[u8], properties: BasicProperties) {
        self.broker
            .publish_raw(&self.probe, "", queue, payload, properties)
            .await;
    }

    /// Takes every message of `queue` (acked: they are gone), in order.
    pub async fn drain(&self, queue: &str) -> Vec<lapin::message::Delivery> {
        let mut taken = Vec::new();
        while let Some(message) = self
            .probe
            .basic_get(queue.into(), BasicGetOptions::default())
            .await
            .expect("basic.get")
        {
            message
                .delivery
                .ack(BasicAckOptions::default())
                .await
                .expect("ack");
            taken.push(message.delivery);
        }
        taken
    }

    /// The message ids of every message of `queue`, in order; the queue is emptied.
    pub async fn drain_ids(&self, queue: &str) -> Vec<String> {
        self.drain(queue)
            .await
            .iter()
            .map(|delivery| id_of(&delivery.properties))
            .collect()
    }

    pub async fn depth(&self, queue: &str) -> u32 {
        self.shopctl
            .queue_depth(queue)
            .await
            .expect("queue depth")
            .unwrap_or_else(|| panic!("no queue {queue}"))
    }

    /// Waits (bounded) until `queue` holds `count` messages ready.
    pub async fn wait_depth(&self, queue: &str, count: u32) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let depth = self.depth(queue).await;
            if depth == count {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{queue} holds {depth} messages, not {count}, after 20 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn cleanup(self) {
        if let Some(directory) = self.audit.path().parent() {
            let _ = std::fs::remove_dir_all(directory);
        }
        self.shopctl.close().await;
        self.broker.cleanup().await;
    }
}

/// The management API of the test broker.
pub fn management_url() -> String {
    std::env::var("TEST_RABBITMQ_MANAGEMENT_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:15672".into())
}

pub fn dead(name: &str) -> DeadLetterQueue {
    DeadLetterQueue::parse(name).expect("a dead-letter queue")
}

pub fn id_of(properties: &BasicProperties) -> String {
    properties
        .message_id()
        .as_ref()
        .map(|id| id.to_string())
        .unwrap_or_default()
}

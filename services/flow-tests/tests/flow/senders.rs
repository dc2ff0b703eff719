//! Tried as an attacker with broker credentials of their own: a cancellation of a real order,
//! published on the order service's exchange by a user that is not the order service, is
//! dead-lettered by every consumer with a reason naming the sender, and changes nothing: the
//! order stays shipped, the money charged, the stock as it was.

use contracts::order::{CancelReason, OrderCancelled};
use event_bus::{Envelope, Event, envelope};
use flow_tests::shop::{Options, Service, Shop};
use lapin::{Connection, ConnectionProperties, options::BasicPublishOptions};
use uuid::Uuid;

#[tokio::test]
async fn a_cancellation_forged_by_another_broker_user_changes_no_order_money_or_stock() {
    let shop = Shop::started(Options::default()).await;
    let id = shop.post_order("alice", "SKU-7", 1, 1500).await;
    shop.order_reaches(&id, "shipped").await;
    let stock_before = shop.get(Service::Logistics, "/stock/SKU-7").await;

    let mallory = shop.broker.user("mallory").await;
    let connection = Connection::connect_uri(
        mallory.uri(),
        ConnectionProperties::default().with_connection_name("mallory".into()),
    )
    .await
    .expect("connect as mallory");
    let channel = connection.create_channel().await.expect("channel");
    let forged = OrderCancelled {
        order_id: id.parse::<Uuid>().expect("order id"),
        customer_id: "alice".into(),
        email: "alice@example.com".into(),
        reason: CancelReason::Timeout,
        detail: Some("forged".into()),
    };
    let properties = Envelope::new::<OrderCancelled>(id.clone(), None)
        .properties("order")
        .with_user_id(mallory.username.as_str().into());
    channel
        .basic_publish(
            OrderCancelled::EXCHANGE.into(),
            OrderCancelled::ROUTING_KEY.into(),
            BasicPublishOptions::default(),
            &serde_json::to_vec(&forged).expect("encode"),
            properties,
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");

    let probe = shop.broker.raw_channel().await;
    for queue in [
        "billing.queue.dead",
        "logistics.queue.dead",
        "mailer.queue.dead",
    ] {
        let dead = shop.broker.take(&probe, queue).await;
        let headers = dead.delivery.properties.headers().as_ref();
        let reason = envelope::header_str(headers, envelope::ERROR).unwrap_or_default();
        assert!(
            reason.contains(&format!("sent by broker user `{}`", mallory.username)),
            "{queue}: {reason}"
        );
    }

    let order = shop.get(Service::Order, &format!("/orders/{id}")).await;
    assert_eq!(order["status"], "shipped");
    let customer = shop.get(Service::Billing, "/customers/alice").await;
    let payments: Vec<_> = customer["payments"]
        .as_array()
        .expect("payments")
        .iter()
        .filter(|payment| payment["order_id"] == id.as_str())
        .collect();
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0]["status"], "charged", "no refund: {payments:?}");
    let stock_after = shop.get(Service::Logistics, "/stock/SKU-7").await;
    assert_eq!(stock_after, stock_before, "no stock released");
    let _ = connection.close(200, "done".into()).await;
    shop.cleanup().await;
}

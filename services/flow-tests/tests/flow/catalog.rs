//! The catalog's price is what billing charges: the order service prices an order's lines from
//! its catalog (a price the client states must be the catalog's), and the total it announces is
//! what billing takes from the customer's credit.

use flow_tests::shop::{Options, Service, Shop};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The customer's payments for `order_id`, read with the customer's own token.
async fn payments_for(shop: &Shop, customer: &str, order_id: &str) -> Vec<Value> {
    let response = shop
        .http
        .get(shop.url(Service::Billing, &format!("/customers/{customer}")))
        .bearer_auth(shop.customer_token(customer))
        .send()
        .await
        .expect("GET /customers/{id}");
    assert_eq!(response.status(), StatusCode::OK);
    let customer: Value = response.json().await.expect("a customer");
    customer["payments"]
        .as_array()
        .expect("payments")
        .iter()
        .filter(|payment| payment["order_id"] == order_id)
        .cloned()
        .collect()
}

#[tokio::test]
async fn billing_charges_the_quantity_times_the_catalog_price_of_an_order_that_states_none() {
    let shop = Shop::started(Options::default()).await;
    shop.set_price("SKU-CAT", 1234).await;
    let response = shop
        .submit_as(
            &shop.customer_token("paula"),
            &json!({
                "email": "paula@example.com",
                "lines": [{"sku": "SKU-CAT", "quantity": 3}],
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let order: Value = response.json().await.expect("an order");
    let id = order["id"].as_str().expect("an order id").to_owned();
    assert_eq!(order["customer_id"], "paula", "the token's customer");

    let order = shop.order_reaches(&id, "shipped").await;
    assert_eq!(order["total_cents"], 3 * 1234);
    let payments = payments_for(&shop, "paula", &id).await;
    assert_eq!(payments.len(), 1, "{payments:?}");
    assert_eq!(payments[0]["status"], "charged");
    assert_eq!(payments[0]["amount_cents"], 3 * 1234);
    shop.cleanup().await;
}

#[tokio::test]
async fn an_order_stating_another_price_than_the_catalogs_is_refused_and_changes_nothing() {
    let shop = Shop::started(Options::default()).await;
    shop.set_price("SKU-DEAR", 2500).await;
    let quinn = shop.customer_token("quinn");
    let order = |unit_price_cents: i64| {
        json!({
            "email": "quinn@example.com",
            "lines": [{"sku": "SKU-DEAR", "quantity": 2, "unit_price_cents": unit_price_cents}],
        })
    };
    let refused = shop.submit_as(&quinn, &order(1999)).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let body: Value = refused.json().await.expect("a JSON error body");
    assert!(body.is_object(), "{body}");

    // The same customer then orders at the right price: once it has shipped, whatever the
    // refused order would have set off would have been handled too, and nothing was.
    let accepted = shop.submit_as(&quinn, &order(2500)).await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    let accepted: Value = accepted.json().await.expect("an order");
    let id = accepted["id"].as_str().expect("an order id").to_owned();
    shop.order_reaches(&id, "shipped").await;

    let customer = shop.get(Service::Billing, "/customers/quinn").await;
    let payments = customer["payments"].as_array().expect("payments");
    assert_eq!(
        payments.len(),
        1,
        "only the accepted order paid: {payments:?}"
    );
    assert_eq!(payments[0]["order_id"], id.as_str());
    assert_eq!(payments[0]["amount_cents"], 2 * 2500);
    let stock = shop.get(Service::Logistics, "/stock/SKU-DEAR").await;
    let default_stock = logistics::load_settings()
        .expect("settings")
        .service
        .default_stock;
    assert_eq!(
        (stock["on_hand"].clone(), stock["reserved"].clone()),
        (json!(i64::from(default_stock) - 2), json!(0)),
        "only the accepted order's units reserved and shipped"
    );
    shop.cleanup().await;
}

//! Requests generated from each service's OpenAPI document (Schemathesis, see
//! `service_kit::testing::request_generator`), against the real shop: no answer is a 5xx, every
//! answer is as documented, what the document allows is not refused as invalid, what it forbids
//! is refused, and every secured operation refuses a request without a token.
//!
//! Its own test binary: the generator is a subprocess busy for about a minute, which should not
//! hold a slot of the flow tests.

use flow_tests::shop::{Options, Service, Shop};
use service_kit::testing::generated_requests;

#[tokio::test(flavor = "multi_thread")]
async fn no_request_a_document_generates_gets_a_5xx_or_an_undocumented_answer() {
    let mut shop = Shop::started(Options::default()).await;
    shop.start(Service::Loyalty).await;
    // A product, so that generated orders can name one.
    shop.set_price("SKU-1", 1999).await;
    let staff = shop.staff_token();
    let customer = shop.customer_token("alice");
    let base = |service| shop.url(service, "");

    for service in [
        Service::Billing,
        Service::Logistics,
        Service::Mailer,
        Service::Loyalty,
    ] {
        generated_requests(&base(service), &staff, &[]).await;
    }
    // The order service as a customer, who orders for themselves...
    generated_requests(
        &base(Service::Order),
        &customer,
        &["--exclude-method", "POST"],
    )
    .await;
    // ... with one documented exception: an order naming a SKU the catalog lacks is valid by
    // the document (it cannot list the catalog) and refused with 422 naming the line, as the
    // API promises; every other check still applies to it.
    generated_requests(
        &base(Service::Order),
        &customer,
        &[
            "--include-method",
            "POST",
            "--exclude-checks",
            "positive_data_acceptance",
        ],
    )
    .await;
    // And as staff, who keep the catalog (staff orders name their customer: the document's
    // `customer_id` is optional for the customers' sake, so staff's POST is left to the
    // customer run above).
    generated_requests(&base(Service::Order), &staff, &["--exclude-method", "POST"]).await;

    shop.cleanup().await;
}

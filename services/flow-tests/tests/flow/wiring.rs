//! Who binds and publishes what is written once, in each service's startup (`wiring`); the
//! contracts' catalog, which feeds the AsyncAPI document and the tracker, must say the same. Each
//! service is started for real and its declared topology compared with the catalog, so a binding
//! or a publication added on either side alone fails here.

use std::collections::BTreeSet;

use contracts::catalog;
use event_bus::{event::RoutingKey, permissions::Permissions};
use flow_tests::shop::{CORE, Options, Service, Shop};

fn name(service: Service) -> &'static str {
    match service {
        Service::Order => "order",
        Service::Billing => "billing",
        Service::Logistics => "logistics",
        Service::Mailer => "mailer",
        Service::Loyalty => "loyalty",
    }
}

/// `exchange.name` of a routing key: the event family, whatever its version.
fn family(routing_key: &str) -> String {
    let key = RoutingKey::parse(routing_key).expect("an event routing key");
    format!("{}.{}", key.exchange, key.name)
}

#[tokio::test]
async fn every_service_binds_and_publishes_what_the_catalog_says() {
    let mut shop = Shop::started(Options::default()).await;
    shop.start(Service::Loyalty).await;
    for service in CORE.into_iter().chain([Service::Loyalty]) {
        let service_name = name(service);
        let topology = shop.topology(service);

        let bound: BTreeSet<(String, String)> = topology
            .bindings
            .iter()
            .map(|binding| (binding.exchange.clone(), binding.pattern.clone()))
            .collect();
        let listed: BTreeSet<(String, String)> = catalog::subscriptions()
            .into_iter()
            .filter(|subscription| subscription.service == service_name)
            .map(|subscription| (subscription.exchange.to_owned(), subscription.pattern))
            .collect();
        assert_eq!(bound, listed, "bindings of {service_name}");

        // The broker users `shopctl broker provision` makes are derived from the catalog: they
        // must allow exactly what the real wiring needs.
        assert_eq!(
            Permissions::of(topology),
            Permissions::of(&catalog::topology(service_name)),
            "permissions of {service_name}"
        );

        let published: BTreeSet<String> = topology.publications.iter().cloned().collect();
        let catalogued: Vec<&str> = catalog::all()
            .into_iter()
            .filter(|event| event.producer == service_name)
            .map(|event| event.routing_key)
            .collect();
        for key in &published {
            assert!(
                catalogued.contains(&key.as_str()),
                "{service_name} publishes {key}, which the catalog does not list as its own"
            );
        }
        // The catalog keeps older versions (still in flight); each is a version of an event
        // the service publishes today.
        let families: BTreeSet<String> = published.iter().map(|key| family(key)).collect();
        for key in catalogued {
            assert!(
                families.contains(&family(key)),
                "the catalog lists {key} as {service_name}'s, but {service_name} does not publish it"
            );
        }
    }
    shop.cleanup().await;
}

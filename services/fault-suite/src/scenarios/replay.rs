//! A broken billing dead-letters what it cannot apply; once the cause is fixed, the operator's
//! remedy, `shopctl dead replay` (its library, here), brings every message back, and each is
//! applied exactly once: every order final, every charge kept or refunded, nothing left dead.

use std::time::Instant;

use event_bus::BrokerSettings;
use secrecy::SecretString;
use shopctl::{AuditLog, Broker, Choice, DeadLetterQueue, Selector};

use super::{
    Lab,
    aftermath::{self, Aftermath},
};
use crate::{catch_up, report::Report, service::Service};

pub async fn run(lab: &Lab) -> anyhow::Result<Report> {
    let started = Instant::now();
    let name = "dead-letters-replayed";
    let shop = lab.shop(name, lab.options()).await?;
    // A cause of the handlers' own (not an outage): the table they write is gone, so every
    // charge and refund fails, uses up its attempts and is dead-lettered.
    set_payments_table(&shop, "payments", "payments_away").await?;
    let posted = shop.traffic(lab.plan(name)).finish().await;
    let bound = aftermath::patience(&shop);
    if let Err(motion) = catch_up::quiet(&shop, bound * 2).await {
        anyhow::bail!("the broken shop did not settle: {motion:?}");
    }

    set_payments_table(&shop, "payments_away", "payments").await?;
    let replayed = replay_dead_letters(&shop, Service::Billing, Selector::All).await?;
    let lifted = catch_up::database_now(&shop).await?;
    let recovered = catch_up::caught_up(&shop, lifted, bound).await;
    let fault = format!(
        "billing's payments table gone during the load, then back; {} dead letters replayed",
        replayed.count
    );
    let mut violations = Vec::new();
    if replayed.count == 0 {
        violations.push("nothing was dead-lettered while billing was broken".to_owned());
    }
    let aftermath = Aftermath {
        fault,
        recovered,
        violations,
        ..Aftermath::default()
    };
    aftermath::conclude(shop, posted, aftermath, started).await
}

async fn set_payments_table(shop: &crate::shop::Shop, from: &str, to: &str) -> anyhow::Result<()> {
    sqlx::raw_sql(&format!("ALTER TABLE {from} RENAME TO {to}"))
        .execute(shop.pool(Service::Billing))
        .await?;
    Ok(())
}

/// Replays the dead letters of `service` that `selector` chooses, as an operator would with
/// `shopctl dead replay` (`--all`, `--reason <text>`...).
pub(super) async fn replay_dead_letters(
    shop: &crate::shop::Shop,
    service: Service,
    selector: Selector,
) -> anyhow::Result<shopctl::AuditRecord> {
    let settings = BrokerSettings {
        host: "127.0.0.1".into(),
        port: shop.broker.amqp_port,
        username: "guest".into(),
        password: SecretString::from("guest"),
        vhost: shop.vhost.clone(),
        ..BrokerSettings::default()
    };
    let broker = Broker::connect(&settings, &shop.broker.management.url()).await?;
    let choice = Choice {
        queue: DeadLetterQueue::of_service(service.name())?,
        selector,
        limit: 100_000,
    };
    let audit = AuditLog::new(shop.dir.join("audit.log"));
    let record = shopctl::replay(&broker, &choice, &audit).await;
    broker.close().await;
    Ok(record?)
}

//! TLS on the hops to the broker and to the database, against real servers of the test's own:
//! a private RabbitMQ node with a TLS listener that requires client certificates, and a private
//! PostgreSQL cluster with `ssl = on`, both presenting a certificate made at test time for
//! 127.0.0.1 (see `service_kit::testing::certificates`). The machine's shared servers are not
//! touched, except for a database of the bus test's own on the shared PostgreSQL.
//!
//! Each test starts its servers and stops them through their drop guards, passed or failed, so
//! the tests run in parallel with each other and with any other test.

use std::time::Duration;

use event_bus::{
    BrokerSettings, BrokerTls, BusSettings, Error, EventBus, Handler, HandlerContext,
    HandlerResult, SenderSettings, senders::ANY_EXCHANGE, testing::TestDatabase,
};
use fault_suite::{broker::PrivateBroker, postgres::PrivatePostgres, server_tls::ServerTls};
use lapin::ConnectionProperties;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use service_kit::{DatabaseSettings, DatabaseSslMode, testing::TestCertificates};
use sqlx::migrate::Migrator;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How long the bus may take to connect and a message to come back: the private node has just
/// booted on a busy two-core machine.
const PATIENCE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Ping {
    id: String,
}
event_bus::event!(Ping, exchange = "tlsprobe", name = "ping", version = 1);

/// Hands every ping it handles to the test.
struct Forward(mpsc::UnboundedSender<String>);

impl Handler<Ping> for Forward {
    async fn handle(&self, _: &mut HandlerContext<'_>, event: Ping) -> HandlerResult {
        self.0
            .send(event.id)
            .map_err(|_| anyhow::anyhow!("the test stopped listening"))?;
        Ok(())
    }
}

fn server_tls(certificates: &TestCertificates) -> ServerTls {
    ServerTls {
        ca_file: certificates.ca_file(),
        cert_file: certificates.server_cert_file(),
        key_file: certificates.server_key_file(),
    }
}

#[tokio::test]
async fn the_bus_round_trips_an_event_over_amqps_and_refuses_a_broker_signed_by_another_ca() {
    let certificates = TestCertificates::generate().await;
    let broker = PrivateBroker::start_with_tls("tls", &server_tls(&certificates))
        .await
        .expect("start a private RabbitMQ node with a TLS listener");
    let port = broker.amqps_port().expect("the node has a TLS listener");
    let tls = BrokerTls {
        enabled: true,
        ca_file: Some(certificates.ca_file()),
        client_cert_file: Some(certificates.client_cert_file()),
        client_key_file: Some(certificates.client_key_file()),
        ..BrokerTls::default()
    };
    let broker_settings = BrokerSettings {
        host: "127.0.0.1".into(),
        port,
        username: "guest".into(),
        password: SecretString::from("guest"),
        vhost: "/".into(),
        heartbeat_secs: 5,
        tls: tls.clone(),
        ..BrokerSettings::default()
    };
    assert_eq!(
        broker_settings.uri().scheme,
        lapin::uri::AMQPScheme::AMQPS,
        "TLS on means an amqps URI"
    );
    let settings = BusSettings {
        broker: broker_settings.clone(),
        reconnect_min_ms: 50,
        reconnect_max_ms: 500,
        senders: SenderSettings {
            user_prefix: String::new(),
            trusted: [(ANY_EXCHANGE.to_owned(), vec!["guest".to_owned()])].into(),
        },
        ..BusSettings::for_service("tls-probe")
    };

    let db = TestDatabase::new().await;
    let (seen, mut handled) = mpsc::unbounded_channel();
    let shutdown = CancellationToken::new();
    let bus = EventBus::new(settings, db.pool.clone())
        .on::<Ping, _>(Forward(seen))
        .start(shutdown.clone())
        .await
        .expect("start the bus");
    tokio::time::timeout(PATIENCE, bus.connected())
        .await
        .expect("the bus connects to the TLS listener (the only one it is given)");
    bus.publisher()
        .publish(&Ping { id: "p-tls".into() }, "flow-tls")
        .await
        .expect("the broker confirms the ping");
    let id = tokio::time::timeout(PATIENCE, handled.recv())
        .await
        .expect("the ping comes back over AMQPS")
        .expect("the handler is alive");
    assert_eq!(id, "p-tls");

    // The same CA and no client certificate: this listener requires one.
    let anonymous = BrokerSettings {
        tls: BrokerTls {
            client_cert_file: None,
            client_key_file: None,
            ..tls.clone()
        },
        ..broker_settings.clone()
    };
    let error = anonymous
        .connect(ConnectionProperties::default())
        .await
        .expect_err("a listener that verifies peers refuses a client without a certificate");
    assert!(matches!(error, Error::TlsConnect(_)), "{error}");

    // A CA that did not sign the broker's certificate.
    let misled = BrokerSettings {
        tls: BrokerTls {
            ca_file: Some(certificates.other_ca_file()),
            ..tls
        },
        ..broker_settings
    };
    let error = misled
        .connect(ConnectionProperties::default())
        .await
        .expect_err("a broker certificate from another CA is refused");
    let message = error.to_string();
    assert!(matches!(error, Error::TlsConnect(_)), "{message}");
    assert!(
        message.contains(&format!("127.0.0.1:{port}")),
        "the error names the endpoint: {message}"
    );
    assert!(
        message.contains("other-ca.pem"),
        "the error names the CA it trusted: {message}"
    );
    assert!(
        message.contains("UnknownIssuer"),
        "the error says why the certificate was refused: {message}"
    );

    shutdown.cancel();
    bus.stopped().await;
    db.cleanup().await;
    drop(broker);
}

#[tokio::test]
async fn the_kit_database_connects_with_verify_full_and_the_right_root_cert_and_is_refused_with_a_wrong_one()
 {
    let certificates = TestCertificates::generate().await;
    let cluster = PrivatePostgres::start_with_tls("tls", &server_tls(&certificates))
        .await
        .expect("start a private PostgreSQL cluster with ssl = on");
    let settings = DatabaseSettings {
        host: "127.0.0.1".into(),
        port: cluster.port(),
        username: "postgres".into(),
        password: SecretString::default(),
        database_name: "kit_tls".into(),
        max_connections: 2,
        acquire_timeout_secs: 10,
        test_before_acquire: false,
        statement_timeout_ms: 30_000,
        ssl_mode: Some(DatabaseSslMode::VerifyFull),
        ssl_root_cert: Some(certificates.ca_file()),
    };

    let pool = service_kit::database::prepare(&settings, &Migrator::DEFAULT)
        .await
        .expect("the database is prepared over verified TLS");
    let encrypted: bool =
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&pool)
            .await
            .expect("read the connection's TLS state");
    assert!(encrypted, "the pool's connection is encrypted");
    pool.close().await;

    let misled = DatabaseSettings {
        ssl_root_cert: Some(certificates.other_ca_file()),
        ..settings
    };
    let error = service_kit::database::prepare(&misled, &Migrator::DEFAULT)
        .await
        .expect_err("a server certificate from another CA is refused");
    let report = format!("{error:#}");
    assert!(
        report.contains(&format!("127.0.0.1:{}", cluster.port())),
        "the error names the server: {report}"
    );
    assert!(
        report.contains("UnknownIssuer"),
        "the error says why the certificate was refused: {report}"
    );
    drop(cluster);
}

//! Layers around the handler call, as a service adds them through `EventBus::layer`.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use event_bus::{
    Handler, HandlerContext, HandlerResult,
    layer::{HandlerFuture, Handling, Layer, Timeout},
};

use crate::{
    ping,
    support::{Ping, World},
};

/// Hangs on the first attempt, records the event on any later one.
struct HangsOnce;

impl Handler<Ping> for HangsOnce {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: Ping) -> HandlerResult {
        if ctx.metadata().attempt == 1 {
            std::future::pending::<()>().await;
        }
        let attempt = ctx.metadata().attempt;
        let message_id = ctx.metadata().message_id.clone();
        sqlx::query("INSERT INTO effects (kind, detail, message_id) VALUES ('ping', $1, $2)")
            .bind(format!("{} on attempt {attempt}", event.id))
            .bind(message_id)
            .execute(ctx.db())
            .await?;
        Ok(())
    }
}

#[tokio::test]
async fn a_timeout_layer_turns_a_hung_handler_into_a_retried_failure() {
    let world = World::new().await;
    let bus = world
        .start(
            world
                .bus("hangs")
                .layer(Timeout::new(Duration::from_millis(200)))
                .on::<Ping, _>(HangsOnce),
        )
        .await;
    bus.publisher()
        .publish(&ping("stuck"), "f")
        .await
        .expect("publish");
    // Without the layer the worker would wait forever and nothing would be recorded.
    assert_eq!(
        world.wait_effects("ping", 1).await,
        vec!["stuck on attempt 2"]
    );
    world.stop(vec![bus]).await;
}

/// Notes its name when a call enters it and when it leaves.
struct Trail {
    name: &'static str,
    trail: Arc<Mutex<Vec<String>>>,
}

impl Layer for Trail {
    fn call<'a>(&'a self, handling: Handling<'a>, next: HandlerFuture<'a>) -> HandlerFuture<'a> {
        Box::pin(async move {
            let note = |at: &str| {
                let entry = format!("{at} {} {}", self.name, handling.envelope.routing_key);
                self.trail.lock().expect("trail").push(entry);
            };
            note("enter");
            let result = next.await;
            note("leave");
            result
        })
    }
}

#[tokio::test]
async fn a_service_s_layers_wrap_every_call_the_first_added_outermost() {
    let world = World::new().await;
    let trail = Arc::new(Mutex::new(Vec::new()));
    let layer = |name| Trail {
        name,
        trail: Arc::clone(&trail),
    };
    let bus = world
        .start(
            world
                .bus("layered")
                .layer(layer("outer"))
                .layer(layer("inner"))
                .on::<Ping, _>(crate::support::Record),
        )
        .await;
    bus.publisher()
        .publish(&ping("through"), "f")
        .await
        .expect("publish");
    assert_eq!(world.wait_effects("ping", 1).await, vec!["through"]);
    world.stop(vec![bus]).await;
    assert_eq!(
        *trail.lock().expect("trail"),
        vec![
            "enter outer probe.v1.ping",
            "enter inner probe.v1.ping",
            "leave inner probe.v1.ping",
            "leave outer probe.v1.ping",
        ]
    );
}

//! The routes of a queue: for each event family (exchange and event name), how to decode a
//! delivery and which handler takes it, with the type of the event erased so that one table
//! holds them all.

use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc};

use sqlx::PgConnection;

use crate::{
    envelope::Envelope,
    error::{DecodeError, HandlerResult},
    event::{Event, RoutingKey, binding_pattern, decode_json},
    handler::{Handler, HandlerContext},
    layer::{Handling, Layers},
    outbox::Staged,
    topology::Binding,
};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a handler took one message, inside a transaction its caller owns.
pub(crate) enum Applied {
    Done,
    Undecodable(DecodeError),
    Failed(crate::error::HandlerError),
}

/// One event family's decoder and handler.
pub(crate) trait Route: Send + Sync {
    fn binding(&self) -> Binding;
    fn apply<'a>(&'a self, step: Step<'a>) -> BoxFuture<'a, Applied>;
}

/// One message to apply in an open transaction, and where to put what its handler publishes.
pub(crate) struct Step<'a> {
    pub(crate) connection: &'a mut PgConnection,
    pub(crate) handling: Handling<'a>,
    pub(crate) payload: &'a [u8],
    pub(crate) staged: &'a mut Staged,
    /// Set when the handler takes the transaction (see [`HandlerContext::db`]).
    pub(crate) touched: &'a mut bool,
    /// What goes around the handler call.
    pub(crate) layers: &'a Layers,
}

/// How a route turns the bytes of a delivery into what its handler takes.
type Decoder<T> = fn(&Envelope, &[u8]) -> Result<T, DecodeError>;

/// A decoder and a handler for what it decodes, bound to one pattern of one exchange.
pub(crate) struct HandlerRoute<T, H> {
    binding: Binding,
    decode: Decoder<T>,
    handler: H,
}

impl<T: Send + 'static, H: Handler<T>> HandlerRoute<T, H> {
    async fn run(&self, step: Step<'_>) -> Applied {
        let Step {
            connection,
            handling,
            payload,
            staged,
            touched,
            layers,
        } = step;
        let event = match (self.decode)(handling.envelope, payload) {
            Ok(event) => event,
            Err(reason) => return Applied::Undecodable(reason),
        };
        let call: crate::layer::HandlerFuture<'_> = Box::pin(async move {
            let mut context = HandlerContext::new(connection, handling.envelope, staged, touched);
            self.handler.handle(&mut context, event).await
        });
        let result: HandlerResult = layers.wrap(handling, call).await;
        match result {
            Ok(()) => Applied::Done,
            Err(error) => Applied::Failed(error),
        }
    }
}

impl<T: Send + 'static, H: Handler<T>> Route for HandlerRoute<T, H> {
    fn binding(&self) -> Binding {
        self.binding.clone()
    }

    fn apply<'a>(&'a self, step: Step<'a>) -> BoxFuture<'a, Applied> {
        Box::pin(self.run(step))
    }
}

/// The route of every version of `E`, bound with `<exchange>.*.<name>`.
pub(crate) fn typed_route<E: Event, H: Handler<E>>(handler: H) -> HandlerRoute<E, H> {
    HandlerRoute {
        binding: Binding {
            exchange: E::EXCHANGE.to_owned(),
            pattern: binding_pattern::<E>(),
        },
        decode: |envelope, payload| E::decode(envelope.version, payload),
        handler,
    }
}

/// The route of everything published on `exchange`, bound with `#`, decoded as any JSON.
pub(crate) fn observer_route<H: Handler<AnyEvent>>(
    exchange: &str,
    handler: H,
) -> HandlerRoute<AnyEvent, H> {
    HandlerRoute {
        binding: Binding {
            exchange: exchange.to_owned(),
            pattern: "#".to_owned(),
        },
        decode: |_, payload| decode_json(payload).map(|payload| AnyEvent { payload }),
        handler,
    }
}

/// Any event, for observers that record what flows rather than interpret it (an audit log, a flow
/// tracker). Its routing key, ids and producer are in the [`HandlerContext::metadata`].
#[derive(Debug, Clone, PartialEq)]
pub struct AnyEvent {
    pub payload: serde_json::Value,
}

/// The key under which an exchange's observer is filed: no event name contains `#`.
pub(crate) const OBSERVER: &str = "#";

/// The routes of one queue, by `(exchange, event name)`.
pub(crate) type Routes = HashMap<(String, String), Arc<dyn Route>>;

/// The route that takes `routing_key`: the event's own, else its exchange's observer.
pub(crate) fn find<'r>(
    routes: &'r Routes,
    routing_key: &str,
) -> Result<&'r Arc<dyn Route>, DecodeError> {
    let key = RoutingKey::parse(routing_key)?;
    routes
        .get(&(key.exchange.to_owned(), key.name.to_owned()))
        .or_else(|| routes.get(&(key.exchange.to_owned(), OBSERVER.to_owned())))
        .ok_or_else(|| DecodeError::NoHandler(routing_key.to_owned()))
}

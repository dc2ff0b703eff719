//! A delivery read off the wire: its [`Envelope`], the route that takes it, and the span its
//! handling runs in; or why it cannot be handled.

use std::sync::Arc;

use lapin::message::Delivery;
use tracing::{Span, field};

use crate::{
    consumer::route::{self, Route, Routes},
    envelope::{self, Envelope},
    error::DecodeError,
    senders::SenderSettings,
    topology::retry_exchange,
    trace_context::{TRACEPARENT, TraceContext},
};

/// A delivery as read off the wire: the key it first arrived with, its attempt, and the span and
/// trace its handling runs in.
pub(crate) struct Received {
    pub(crate) delivery: Delivery,
    /// Whether it came back from the queue's own retry path (its steering headers believed).
    pub(crate) retried: bool,
    pub(crate) routing_key: String,
    pub(crate) attempt: u32,
    pub(crate) span: Span,
    pub(crate) trace: TraceContext,
}

/// A delivery that can be handled: its envelope is complete and a route takes its key.
pub(crate) struct Ready {
    pub(crate) received: Received,
    pub(crate) envelope: Envelope,
    pub(crate) route: Arc<dyn Route>,
}

/// Reads what a delivery says about itself and opens the span its handling runs in; the delivery
/// ready to be handled, or why it cannot be, with what is needed to dispose of it.
pub(crate) fn receive(
    queue: &str,
    routes: &Routes,
    senders: &SenderSettings,
    max_message_bytes: usize,
    delivery: Delivery,
) -> Result<Ready, Box<(Received, DecodeError)>> {
    let properties = &delivery.properties;
    let headers = properties.headers().as_ref();
    // Only the queue's own retry path is believed about where a message first came from and
    // which attempt it is at; on a first delivery those headers are ignored.
    let retried = delivery.exchange.as_str() == retry_exchange(queue);
    let (exchange, routing_key) = envelope::arrival(
        delivery.exchange.as_str(),
        delivery.routing_key.as_str(),
        properties,
        retried,
    );
    let attempt = envelope::attempt(properties, retried);
    let trace = envelope::header_str(headers, TRACEPARENT)
        .and_then(|header| TraceContext::parse(&header))
        .map(|parent| parent.child())
        .unwrap_or_else(TraceContext::root);
    let span = tracing::info_span!(
        "handle",
        queue = %queue,
        event = %routing_key,
        trace_id = %trace.trace_id(),
        message_id = field::Empty,
        correlation_id = field::Empty,
        causation_id = field::Empty,
        attempt,
        outcome = field::Empty,
    );
    let size = delivery.data.len();
    let target = if size > max_message_bytes {
        Err(DecodeError::TooLarge {
            size,
            limit: max_message_bytes,
        })
    } else {
        let sender = envelope::sender(properties, retried);
        Envelope::read(exchange, routing_key.clone(), attempt, sender, properties)
    }
    .and_then(|envelope| {
        // Before any handler: a message from a user who may not publish here changes nothing.
        senders.check(&envelope.exchange, envelope.sender.as_deref())?;
        span.record("message_id", envelope.message_id.as_str());
        if let Some(id) = &envelope.correlation_id {
            span.record("correlation_id", id.as_str());
        }
        if let Some(id) = &envelope.causation_id {
            span.record("causation_id", id.as_str());
        }
        let route = Arc::clone(route::find(routes, &routing_key)?);
        Ok((envelope, route))
    });
    let received = Received {
        delivery,
        retried,
        routing_key,
        attempt,
        span,
        trace,
    };
    match target {
        Ok((envelope, route)) => Ok(Ready {
            received,
            envelope,
            route,
        }),
        // Boxed: the rare path should not make every result as large as a delivery.
        Err(reason) => Err(Box::new((received, reason))),
    }
}

//! W3C trace context (`traceparent`) carried from an HTTP request through every hop of a flow.
//!
//! The id of a trace is fixed where a flow starts (an HTTP request, or the first message without
//! one); each hop gets a span id of its own. The context of the work in progress lives in a task
//! local: the HTTP middleware and the consumer set it, and [`OutgoingMessage::new`] reads it, so
//! an event staged or published while handling a request or a message carries the trace on, with
//! no parameter threaded through handlers. A tracing backend joins the spans by the ids.
//!
//! [`OutgoingMessage::new`]: crate::OutgoingMessage::new

use std::{fmt, future::Future};

use uuid::Uuid;

/// The message and HTTP header name, as the W3C recommendation spells it.
pub const TRACEPARENT: &str = "traceparent";

tokio::task_local! {
    static CURRENT: TraceContext;
}

/// One position in a trace: the trace and the span (hop) within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    sampled: bool,
}

impl TraceContext {
    /// Starts a new trace.
    pub fn root() -> Self {
        Self {
            trace_id: *Uuid::new_v4().as_bytes(),
            span_id: span_id(),
            sampled: true,
        }
    }

    /// The next hop of the same trace.
    pub fn child(&self) -> Self {
        Self {
            span_id: span_id(),
            ..*self
        }
    }

    /// Parses `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`; `None` for anything else,
    /// including the all-zero ids the recommendation declares invalid.
    pub fn parse(header: &str) -> Option<Self> {
        let mut parts = header.trim().split('-');
        let (Some(version), Some(trace), Some(span), Some(flags)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        if version.len() != 2 || version == "ff" || (version == "00" && parts.next().is_some()) {
            return None;
        }
        let trace_id: [u8; 16] = hex(trace)?.try_into().ok()?;
        let span_id: [u8; 8] = hex(span)?.try_into().ok()?;
        let flags = hex(flags)?;
        if flags.len() != 1 || trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(Self {
            trace_id,
            span_id,
            sampled: flags[0] & 1 == 1,
        })
    }

    /// The trace id as 32 hex digits, how logs name the trace.
    pub fn trace_id(&self) -> String {
        to_hex(&self.trace_id)
    }

    /// The context of the work in progress, if any.
    pub fn current() -> Option<Self> {
        CURRENT.try_with(|context| *context).ok()
    }

    /// Runs `work` with `self` as the current context.
    pub async fn scope<F: Future>(self, work: F) -> F::Output {
        CURRENT.scope(self, work).await
    }
}

impl fmt::Display for TraceContext {
    /// The `traceparent` header value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flags = if self.sampled { "01" } else { "00" };
        write!(
            f,
            "00-{}-{}-{flags}",
            to_hex(&self.trace_id),
            to_hex(&self.span_id)
        )
    }
}

fn span_id() -> [u8; 8] {
    let random = Uuid::new_v4();
    let mut id = [0; 8];
    id.copy_from_slice(&random.as_bytes()[..8]);
    id
}

fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2)
        || !text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_traceparent_round_trips_and_a_child_keeps_the_trace() {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let context = TraceContext::parse(header).expect("valid");
        assert_eq!(context.to_string(), header);
        let child = context.child();
        assert_eq!(child.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_ne!(child.to_string(), header);
    }

    #[test]
    fn malformed_traceparents_are_refused() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert!(
                TraceContext::parse(bad).is_none(),
                "{bad:?} should be refused"
            );
        }
    }

    #[tokio::test]
    async fn the_current_context_is_the_scoped_one() {
        assert!(TraceContext::current().is_none());
        let context = TraceContext::root();
        let seen = context.scope(async { TraceContext::current() }).await;
        assert_eq!(seen, Some(context));
    }
}

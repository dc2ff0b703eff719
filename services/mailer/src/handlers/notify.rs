//! [`Notify`], the mailer's one handler type, and the path every email takes: record, send,
//! announce.

use std::sync::Arc;

use anyhow::Context;
use event_bus::{EventTransaction, HandlerContext, HandlerResult};

use crate::domain::Email;
use crate::postman::{Postman, recipient};
use crate::store;

/// Handles all three triggers; cheap to clone, one clone per route.
#[derive(Clone)]
pub struct Notify {
    postman: Arc<Postman>,
}

impl Notify {
    pub fn new(postman: Postman) -> Self {
        Self {
            postman: Arc::new(postman),
        }
    }

    /// Records (as sent), sends and announces `email`, unless it was recorded before.
    pub(super) async fn deliver(
        &self,
        ctx: &mut HandlerContext<'_>,
        email: Email,
    ) -> HandlerResult {
        let message_id = self.postman.message_id(&email);
        let to = recipient(&email);
        let recorded = store::record_email(ctx.db(), &email, &message_id, to.is_some()).await?;
        if recorded.is_none() {
            tracing::debug!(order_id = %email.order_id, kind = %email.kind, "email already sent");
            return Ok(());
        }
        let Some(to) = to else {
            tracing::warn!(
                order_id = %email.order_id,
                kind = %email.kind,
                "the order has no usable email address; the email is recorded but not sent"
            );
            return Ok(());
        };
        self.postman
            .send(&email, to)
            .await
            .with_context(|| format!("Failed to send the {} email", email.kind))?;
        ctx.publish(&email.sent())?;
        tracing::info!(order_id = %email.order_id, kind = %email.kind, "email sent");
        Ok(())
    }
}

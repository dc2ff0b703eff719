//! The bus handlers: one email for each `order.confirmed`, `order.cancelled` and
//! `logistics.shipped`, then `mailer.sent`.
//!
//! Each runs in the transaction that also records the message in the inbox, in this order:
//! record the email, stamped sent (the `(order_id, kind)` key makes a second copy of the trigger
//! a no-op), send it, stage `EmailSent`, and the runtime commits. A failed send returns an
//! error, which rolls all of it back, the stamp included, and has the bus retry the message.
//!
//! Delivery is therefore *at least once*: if the process dies after the mail server accepted an
//! email but before the commit, the message is redelivered and the email sent again. Sending
//! after the commit instead would make it *at most once*, losing emails on such a crash; a
//! duplicate is the lesser evil, and it carries the same `Message-ID`, so mail systems can
//! recognise it.
//!
//! An order without a usable address (legacy orders have an empty email) gets its email
//! recorded with that recipient and `sent_at` NULL, is logged as a warning, and is neither sent
//! nor announced with `EmailSent` (nothing was sent). It is not dead-lettered: no retry can
//! produce an address, and the row records that the customer was not told.

use std::sync::Arc;

use anyhow::{Context, anyhow};
use contracts::logistics::OrderShipped;
use contracts::order::{OrderCancelled, OrderConfirmed};
use event_bus::{Handler, HandlerContext, HandlerResult};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::compose::Email;
use crate::postman::{Postman, recipient};
use crate::{emails, recipients};

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
    async fn deliver(&self, ctx: &mut HandlerContext<'_>, email: Email) -> HandlerResult {
        let message_id = self.postman.message_id(&email);
        let to = recipient(&email);
        let recorded = emails::record(ctx.db(), &email, &message_id, to.is_some())
            .await
            .context("Failed to record the email")?;
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
        ctx.publish(&email.sent()).await?;
        tracing::info!(order_id = %email.order_id, kind = %email.kind, "email sent");
        Ok(())
    }
}

/// Serialises the handling of one order's events across handlers and instances, until commit.
async fn lock_order(connection: &mut PgConnection, order_id: Uuid) -> HandlerResult {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))")
        .bind(order_id)
        .execute(connection)
        .await
        .context("Failed to lock the order")?;
    Ok(())
}

impl Handler<OrderConfirmed> for Notify {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: OrderConfirmed) -> HandlerResult {
        lock_order(ctx.db(), event.order_id).await?;
        recipients::remember(ctx.db(), event.order_id, &event.email, &event.customer_id)
            .await
            .context("Failed to remember the recipient")?;
        self.deliver(ctx, Email::confirmed(&event)).await
    }
}

impl Handler<OrderCancelled> for Notify {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: OrderCancelled) -> HandlerResult {
        lock_order(ctx.db(), event.order_id).await?;
        recipients::remember(ctx.db(), event.order_id, &event.email, &event.customer_id)
            .await
            .context("Failed to remember the recipient")?;
        self.deliver(ctx, Email::cancelled(&event)).await
    }
}

/// A shipment carries no address. If it is handled before the confirmation that gave one (both
/// are in flight at once), it fails, and the broker-held retry delays give the confirmation
/// time to be handled first.
impl Handler<OrderShipped> for Notify {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: OrderShipped) -> HandlerResult {
        lock_order(ctx.db(), event.order_id).await?;
        let to = recipients::find(ctx.db(), event.order_id)
            .await
            .context("Failed to look the recipient up")?
            .ok_or_else(|| anyhow!("recipient of order {} not known yet", event.order_id))?;
        self.deliver(ctx, Email::shipped(&event, to)).await
    }
}

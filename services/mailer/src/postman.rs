//! Turns a composed [`Email`] into a MIME message from the shop's address, and sends it.

use anyhow::Context;
use lettre::Message;
use lettre::message::{Mailbox, header::ContentType};

use crate::delivery::Mailer;
use crate::domain::Email;

/// The sender: a transport and the `From` address.
pub struct Postman {
    mailer: Mailer,
    from: Mailbox,
}

impl Postman {
    /// Fails on a `from` that is not an address: a configuration mistake, found at startup.
    pub fn new(mailer: Mailer, from: &str) -> anyhow::Result<Self> {
        let from = from
            .parse()
            .with_context(|| format!("The from address `{from}` is not a valid address"))?;
        Ok(Self { mailer, from })
    }

    /// The `Message-ID` of `email`, in the domain of the `From` address.
    pub fn message_id(&self, email: &Email) -> String {
        email.message_id(self.from.email.domain())
    }

    /// Sends `email` to `to`, a parsed [`recipient`] of it.
    pub async fn send(&self, email: &Email, to: Mailbox) -> anyhow::Result<()> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&email.subject)
            .message_id(Some(self.message_id(email)))
            .header(ContentType::TEXT_PLAIN)
            .body(email.body.clone())
            .context("Failed to build the email")?;
        self.mailer.send(&message).await
    }
}

/// The address of `email` if it has a usable one: `None` for the empty address of a legacy
/// order, or one that is not an address at all. Neither gets better by retrying.
pub fn recipient(email: &Email) -> Option<Mailbox> {
    if !email.has_recipient() {
        return None;
    }
    email.to.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use contracts::mailer::EmailKind;
    use uuid::Uuid;

    use super::*;

    fn email_to(to: &str) -> Email {
        Email {
            order_id: Uuid::new_v4(),
            kind: EmailKind::OrderConfirmed,
            to: to.into(),
            subject: "s".into(),
            body: "b".into(),
        }
    }

    #[test]
    fn a_valid_address_is_a_recipient() {
        let to = recipient(&email_to("ada@example.com")).expect("valid");
        assert_eq!(to.email.to_string(), "ada@example.com");
    }

    #[test]
    fn an_empty_or_malformed_address_is_no_recipient() {
        assert!(recipient(&email_to("")).is_none());
        assert!(recipient(&email_to("   ")).is_none());
        assert!(recipient(&email_to("not an address")).is_none());
    }

    #[tokio::test]
    async fn a_from_that_is_not_an_address_is_refused() {
        let dir = std::env::temp_dir().join(format!("mailer-postman-{}", Uuid::new_v4()));
        let mailer = Mailer::from_settings(&crate::settings::MailerSettings {
            data_dir: dir.clone(),
            ..Default::default()
        })
        .await
        .expect("a file mailer");
        assert!(Postman::new(mailer.clone(), "nobody").is_err());
        let postman = Postman::new(mailer, "shop@example.com").expect("valid from");
        assert!(postman.message_id(&email_to("")).ends_with("@example.com>"));
        std::fs::remove_dir_all(dir).ok();
    }
}

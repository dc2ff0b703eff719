//! The mailer's rules, free of HTTP, SQL and the mail transport: what each email says, whom it
//! is for, and its `Message-ID`. Pure and unit-tested; the handlers carry events in and emails
//! out.

mod email;

pub use email::Email;

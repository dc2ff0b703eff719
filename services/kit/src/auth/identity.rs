//! The extractors handlers take to know who calls: [`Identity`] for anyone with a valid token,
//! [`Staff`] for staff only. A handler that takes neither is open.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::{Role, TokenError, Verifier};
use crate::ApiError;
use crate::identifier::BoundedId;

/// The caller of a request, from its verified bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A customer; the token's subject is the customer id.
    Customer(BoundedId),
    /// A member of staff, by the token's subject.
    Staff(String),
}

impl Identity {
    /// The customer id of a customer; `None` for staff.
    pub fn customer_id(&self) -> Option<&BoundedId> {
        match self {
            Self::Customer(id) => Some(id),
            Self::Staff(_) => None,
        }
    }

    pub fn is_staff(&self) -> bool {
        matches!(self, Self::Staff(_))
    }

    /// Who the token names, for logs and audit trails.
    pub fn subject(&self) -> &str {
        match self {
            Self::Customer(id) => id.as_str(),
            Self::Staff(name) => name,
        }
    }

    /// Whether the caller may see what belongs to `customer_id`: staff, or that customer.
    pub fn may_see(&self, customer_id: &str) -> bool {
        match self {
            Self::Staff(_) => true,
            Self::Customer(id) => id.as_str() == customer_id,
        }
    }

    /// `Ok` when [`Self::may_see`] `customer_id`; a 403 otherwise.
    pub fn require_access_to(&self, customer_id: &str) -> Result<(), ApiError> {
        if self.may_see(customer_id) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "a customer may only see what is their own",
            ))
        }
    }

    /// `Ok` for staff; a 403 otherwise.
    pub fn require_staff(&self) -> Result<(), ApiError> {
        if self.is_staff() {
            Ok(())
        } else {
            Err(ApiError::forbidden("this operation is for staff only"))
        }
    }

    /// Verifies the bearer token of `request`.
    async fn from_token(request: HttpRequest) -> Result<Self, ApiError> {
        let verifier = request
            .app_data::<web::Data<Verifier>>()
            .cloned()
            .ok_or_else(|| {
                ApiError::Unexpected(anyhow::anyhow!(
                    "No token verifier is registered: the route cannot check who calls"
                ))
            })?;
        let token = bearer_token(&request)?;
        let claims = verifier
            .verify(token)
            .await
            .map_err(|error| refuse(refusal(&error), error.to_string()))?;
        match Role::strongest(&claims.roles) {
            Some(Role::Staff) => Ok(Self::Staff(claims.sub)),
            Some(Role::Customer) => BoundedId::parse(&claims.sub)
                .map(Self::Customer)
                .map_err(|problem| refuse("bad_subject", format!("the token's subject {problem}"))),
            None => Err(ApiError::forbidden("the token grants no role of the shop")),
        }
    }
}

/// A refused token: counted by `reason` (`http_tokens_refused_total`), answered 401 with
/// `error="invalid_token"`.
fn refuse(reason: &'static str, message: String) -> ApiError {
    metrics::counter!("http_tokens_refused_total", "reason" => reason).increment(1);
    ApiError::invalid_token(message)
}

/// The token of `Authorization: Bearer <token>`; a 401 when there is none.
///
/// Another scheme (`Basic ...`) is no bearer token at all: its challenge carries no error code
/// (RFC 6750 §3.1), like a request without the header. A `Bearer` header without a token is a
/// malformed request, refused as an invalid token.
fn bearer_token(request: &HttpRequest) -> Result<&str, ApiError> {
    let Some(value) = request.headers().get(AUTHORIZATION) else {
        return Err(ApiError::missing_token());
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::invalid_token("the Authorization header is not printable ASCII"))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthorized {
            message: "the Authorization header must be `Bearer <token>`".into(),
            token_sent: false,
        });
    }
    match token.trim() {
        "" => Err(ApiError::invalid_token(
            "the Authorization header must be `Bearer <token>`",
        )),
        token => Ok(token),
    }
}

/// The metric label of a refused token.
fn refusal(error: &TokenError) -> &'static str {
    match error {
        TokenError::Expired => "expired",
        TokenError::NotYetValid => "not_yet_valid",
        TokenError::BadSignature => "bad_signature",
        TokenError::WrongAudience => "wrong_audience",
        TokenError::WrongIssuer => "wrong_issuer",
        TokenError::WrongAlgorithm => "wrong_algorithm",
        TokenError::UnknownKey => "unknown_key",
        TokenError::Malformed(_) => "malformed",
    }
}

impl FromRequest for Identity {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(Self::from_token(request.clone()))
    }
}

/// A caller with the staff role; anyone else gets 401 (no valid token) or 403.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    /// The token's subject.
    pub name: String,
}

impl FromRequest for Staff {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let identity = Identity::from_token(request).await?;
            identity.require_staff()?;
            Ok(Self {
                name: identity.subject().to_owned(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn with_authorization(value: &str) -> HttpRequest {
        TestRequest::default()
            .insert_header((AUTHORIZATION, value))
            .to_http_request()
    }

    /// Whether the refusal of `request` says a token was sent (`error="invalid_token"`).
    fn refusal_of(request: &HttpRequest) -> bool {
        match bearer_token(request) {
            Err(ApiError::Unauthorized { token_sent, .. }) => token_sent,
            other => panic!("expected a 401, got {other:?}"),
        }
    }

    #[test]
    fn the_token_is_read_whatever_the_case_of_the_scheme() {
        assert_eq!(
            bearer_token(&with_authorization("Bearer abc")).ok(),
            Some("abc")
        );
        assert_eq!(
            bearer_token(&with_authorization("bearer  abc ")).ok(),
            Some("abc")
        );
    }

    #[test]
    fn no_header_or_another_scheme_is_a_challenge_without_an_error_code() {
        assert!(!refusal_of(&TestRequest::default().to_http_request()));
        assert!(!refusal_of(&with_authorization("Basic YWxpY2U6c2VjcmV0")));
        assert!(!refusal_of(&with_authorization("Bearerabc")));
    }

    #[test]
    fn a_bearer_header_without_a_token_is_an_invalid_token() {
        assert!(refusal_of(&with_authorization("Bearer")));
        assert!(refusal_of(&with_authorization("Bearer   ")));
    }

    #[test]
    fn a_customer_may_see_only_their_own_and_staff_everything() {
        let alice = Identity::Customer(BoundedId::parse("alice").unwrap());
        assert!(alice.require_access_to("alice").is_ok());
        assert!(matches!(
            alice.require_access_to("bob"),
            Err(ApiError::Forbidden(_))
        ));
        assert!(matches!(alice.require_staff(), Err(ApiError::Forbidden(_))));
        let staff = Identity::Staff("ops".into());
        assert!(staff.require_access_to("bob").is_ok() && staff.require_staff().is_ok());
        assert_eq!(staff.customer_id(), None);
        assert_eq!(alice.subject(), "alice");
    }
}

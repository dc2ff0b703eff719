//! The service's OpenAPI document, derived from the handlers' annotations, with the one rule
//! known only at startup filled in: the shop's currency.

use serde_json::Value;
use utoipa::OpenApi;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{OpenApi as Document, RefOr};

use super::{products, show, stalled, submit};
use crate::domain::Currency;

/// Every operation of the service. Those that need a token name the `bearer` security scheme,
/// which the kit adds to every document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "order",
        description = "Takes orders and follows them to shipped or cancelled; keeps the catalog \
                       that prices them. Every operation needs a bearer token; each says which \
                       role it admits."
    ),
    paths(
        submit::submit,
        show::show,
        stalled::list,
        products::put,
        products::list,
        products::show
    ),
    tags(
        (name = "orders", description = "Placing orders and following them"),
        (name = "products", description = "The catalog: what the shop sells, at which price"),
        (name = "operations", description = "For operators")
    )
)]
pub struct ApiDoc;

/// The document, with the `currency` of an order restricted to the shop's: an order that names
/// another is refused, so the document says so.
pub fn document(currency: &Currency) -> Document {
    let mut api = ApiDoc::openapi();
    let order_currency = api
        .components
        .as_mut()
        .and_then(|components| components.schemas.get_mut("OrderRequest"))
        .and_then(|schema| match schema {
            RefOr::T(Schema::Object(object)) => object.properties.get_mut("currency"),
            _ => None,
        });
    if let Some(RefOr::T(Schema::Object(property))) = order_currency {
        property.enum_values = Some(vec![Value::from(currency.as_str()), Value::Null]);
    }
    api
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::{
        MAX_ID_LENGTH, MAX_LINES, MAX_NAME_LENGTH, MAX_QUANTITY, MAX_UNIT_PRICE_CENTS,
    };

    fn document_json() -> Value {
        let api = document(&Currency::parse("CHF").unwrap());
        serde_json::to_value(api).unwrap()
    }

    #[test]
    fn an_orders_currency_is_the_shops() {
        let api = document_json();
        let currency = &api["components"]["schemas"]["OrderRequest"]["properties"]["currency"];
        assert_eq!(currency["enum"], json!(["CHF", null]));
    }

    #[test]
    fn every_operation_needs_a_bearer_token_and_says_which_role() {
        let api = document_json();
        let paths = api["paths"].as_object().unwrap();
        let mut operations = 0;
        for (path, item) in paths {
            for (method, operation) in item.as_object().unwrap() {
                operations += 1;
                let name = format!("{method} {path}");
                assert_eq!(operation["security"], json!([{"bearer": []}]), "{name}");
                assert!(operation["responses"]["401"].is_object(), "{name}: no 401");
                let description = operation["description"].as_str().unwrap_or_default();
                assert!(
                    [
                        "Staff only.",
                        "A customer, for themselves, or staff.",
                        "A customer or staff."
                    ]
                    .iter()
                    .any(|role| description.starts_with(role)),
                    "{name} does not say which role: {description:?}"
                );
            }
        }
        assert_eq!(operations, 6);
    }

    #[test]
    fn the_schemas_state_the_bounds_the_handlers_enforce() {
        let api = document_json();
        let schemas = &api["components"]["schemas"];
        let order = &schemas["OrderRequest"]["properties"];
        assert_eq!(order["customer_id"]["maxLength"], json!(MAX_ID_LENGTH));
        assert_eq!(order["lines"]["minItems"], json!(1));
        assert_eq!(order["lines"]["maxItems"], json!(MAX_LINES));
        assert_eq!(
            schemas["OrderRequest"]["required"],
            json!(["email", "lines"])
        );
        let line = &schemas["LineRequest"]["properties"];
        assert_eq!(line["sku"]["maxLength"], json!(MAX_ID_LENGTH));
        assert_eq!(line["quantity"]["maximum"], json!(MAX_QUANTITY));
        assert_eq!(line["unit_price_cents"]["minimum"], json!(1));
        assert_eq!(
            line["unit_price_cents"]["maximum"],
            json!(MAX_UNIT_PRICE_CENTS)
        );
        assert_eq!(
            schemas["LineRequest"]["required"],
            json!(["sku", "quantity"])
        );
        let product = &schemas["ProductRequest"]["properties"];
        assert_eq!(product["name"]["maxLength"], json!(MAX_NAME_LENGTH));
        assert_eq!(product["unit_price_cents"]["minimum"], json!(1));
        assert_eq!(
            product["unit_price_cents"]["maximum"],
            json!(MAX_UNIT_PRICE_CENTS)
        );
        assert_eq!(
            schemas["ProductRequest"]["required"],
            json!(["name", "unit_price_cents"])
        );
    }
}

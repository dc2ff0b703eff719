//! Loyalty points: a subscriber added later; queue `loyalty` binds `order.*.confirmed`.
use actix_web::{HttpResponse, web};
use anyhow::Context;
use contracts::order::OrderConfirmed;
use event_bus::{EventBus, Handler, HandlerContext, HandlerResult};
use service_kit::{ApiError, ServiceApp};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

pub const DEFAULT_SETTINGS: &str = include_str!("../configuration/default.toml");
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
pub type Settings = service_kit::Settings<()>;

struct Award; // one row per order: the primary key ignores a repeated event
impl Handler<OrderConfirmed> for Award {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, order: OrderConfirmed) -> HandlerResult {
        sqlx::query("INSERT INTO points VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(order.order_id)
            .bind(order.customer_id)
            .bind(order.total_cents / 100)
            .execute(ctx.db())
            .await?;
        Ok(())
    }
}

/// `GET /points/{customer_id}` → `{"customer_id", "points", "orders"}`.
async fn points(db: web::Data<PgPool>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let sql = "SELECT coalesce(sum(points), 0)::int8, count(*) FROM points WHERE customer_id = $1";
    let (points, orders): (i64, i64) = sqlx::query_as(sql)
        .bind(id.as_str())
        .fetch_one(db.get_ref())
        .await
        .context("Failed to add the points up")?;
    let body = serde_json::json!({"customer_id": *id, "points": points, "orders": orders});
    Ok(HttpResponse::Ok().json(body))
}

pub async fn build(settings: Settings, stop: CancellationToken) -> anyhow::Result<ServiceApp> {
    let bus = |bus: EventBus| bus.on::<OrderConfirmed, _>(Award);
    let routes = |config: &mut web::ServiceConfig| {
        config.route("/points/{customer_id}", web::get().to(points));
    };
    ServiceApp::build(settings, &MIGRATOR, stop, bus, routes).await
}

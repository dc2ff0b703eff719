-- One row per confirmed order: the primary key makes a repeated confirmation count once.
CREATE TABLE points (
    order_id    UUID PRIMARY KEY,
    customer_id TEXT NOT NULL,
    points      BIGINT NOT NULL
);

CREATE INDEX points_by_customer ON points (customer_id);

-- +goose Up
-- Nothing changes on PostgreSQL (the shipper reads its log by moment, as
-- transactions commit in any order). The number keeps both engines at the
-- same schema version, which archives record and imports compare.
SELECT 1;

-- +goose Down
SELECT 1;

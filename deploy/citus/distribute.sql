-- Distributes the Shimizu Order Suite schema over a Citus cluster, sharded
-- by tenant. Run it once, on the coordinator, as a superuser, after
-- `ordersuite migrate` has built the schema there and before the product
-- serves traffic from it:
--
--   psql "$COORDINATOR_URL" -v ON_ERROR_STOP=1 -f deploy/citus/distribute.sql
--
-- Each step is its own transaction and skips a table already distributed
-- by hash, so after a failure (a worker down, a lock timeout) the script is
-- run again as it is and carries on where it stopped; a table Citus turned
-- into a coordinator-local Citus table meanwhile is distributed all the same. Existing rows are copied to the
-- workers as each table is distributed; see docs/scaling.md for large data.
--
-- What goes where:
--   restaurants        distributed by id: the tenants themselves, so each
--                      tenant's row lives with its data.
--   tenant tables      distributed by restaurant_id and colocated with
--                      restaurants (store.TenantTables, in dependency order:
--                      a table comes after every table it references, which
--                      Citus needs for the composite foreign keys).
--   reference tables   none. No tenant table references a platform table
--                      and no query joins one with tenant rows, so nothing
--                      needs copying to every worker.
--   coordinator only   every platform table (store.PlatformTables): River's
--                      queue tables and its LISTEN/NOTIFY, jobs, api_keys,
--                      audit_log, super_admins, revoked_tokens,
--                      global_feature_flags, login_failures and goose's
--                      version table. They stay plain PostgreSQL tables.
--
-- The internal/store Citus rules test holds the schema and this file to each
-- other: every tenant table is listed here and nothing else is distributed.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'the citus extension is not installed in this database'
            USING HINT = 'run CREATE EXTENSION citus on the coordinator and add the workers (citus_add_node) first';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_dist_node WHERE noderole = 'primary' AND groupid <> 0) THEN
        RAISE EXCEPTION 'the cluster has no worker node'
            USING HINT = 'add the workers with SELECT citus_add_node(host, port) first';
    END IF;
    IF to_regclass('restaurants') IS NULL THEN
        RAISE EXCEPTION 'no restaurants table on the search_path'
            USING HINT = 'run ordersuite migrate against the coordinator first, and set search_path to its schema';
    END IF;
END
$$;

-- The tenants first: every tenant table is colocated with it.
SELECT create_distributed_table('restaurants', 'id')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'restaurants'::regclass AND partmethod = 'h');

-- The tenant tables, each after the tables it references.
SELECT create_distributed_table('users', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'users'::regclass AND partmethod = 'h');
SELECT create_distributed_table('menu_categories', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'menu_categories'::regclass AND partmethod = 'h');
SELECT create_distributed_table('menu_items', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'menu_items'::regclass AND partmethod = 'h');
SELECT create_distributed_table('tenant_events', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'tenant_events'::regclass AND partmethod = 'h');
SELECT create_distributed_table('customers', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'customers'::regclass AND partmethod = 'h');
SELECT create_distributed_table('staff_members', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'staff_members'::regclass AND partmethod = 'h');
SELECT create_distributed_table('tables', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'tables'::regclass AND partmethod = 'h');
SELECT create_distributed_table('special_events', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'special_events'::regclass AND partmethod = 'h');
SELECT create_distributed_table('promotions', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'promotions'::regclass AND partmethod = 'h');
SELECT create_distributed_table('number_counters', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'number_counters'::regclass AND partmethod = 'h');
SELECT create_distributed_table('orders', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'orders'::regclass AND partmethod = 'h');
SELECT create_distributed_table('order_items', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'order_items'::regclass AND partmethod = 'h');
SELECT create_distributed_table('payment_methods', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'payment_methods'::regclass AND partmethod = 'h');
SELECT create_distributed_table('payments', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'payments'::regclass AND partmethod = 'h');
SELECT create_distributed_table('reservations', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'reservations'::regclass AND partmethod = 'h');
SELECT create_distributed_table('loyalty_programs', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'loyalty_programs'::regclass AND partmethod = 'h');
SELECT create_distributed_table('loyalty_rewards', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'loyalty_rewards'::regclass AND partmethod = 'h');
SELECT create_distributed_table('customer_loyalty', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'customer_loyalty'::regclass AND partmethod = 'h');
SELECT create_distributed_table('feedback', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'feedback'::regclass AND partmethod = 'h');
SELECT create_distributed_table('notifications', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'notifications'::regclass AND partmethod = 'h');
SELECT create_distributed_table('feature_flags', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'feature_flags'::regclass AND partmethod = 'h');
SELECT create_distributed_table('flag_evaluations', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'flag_evaluations'::regclass AND partmethod = 'h');
SELECT create_distributed_table('tenant_event_rollups', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'tenant_event_rollups'::regclass AND partmethod = 'h');
SELECT create_distributed_table('tenant_daily_users', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'tenant_daily_users'::regclass AND partmethod = 'h');
SELECT create_distributed_table('tenant_route_rollups', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'tenant_route_rollups'::regclass AND partmethod = 'h');
SELECT create_distributed_table('idempotency_keys', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'idempotency_keys'::regclass AND partmethod = 'h');
-- The change log: its capture triggers on every distributed tenant table
-- write to the log's shard beside the changed row's (same restaurant_id,
-- same colocation group). Citus runs triggers on distributed tables only
-- with citus.enable_unsafe_triggers on (docs/disaster-recovery.md).
SELECT create_distributed_table('tenant_changes', 'restaurant_id', colocate_with => 'restaurants')
WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'tenant_changes'::regclass AND partmethod = 'h');

-- A summary to read: 28 tables, one colocation group.
SELECT table_name, distribution_column, colocation_id, shard_count
FROM citus_tables ORDER BY colocation_id, table_name::text;

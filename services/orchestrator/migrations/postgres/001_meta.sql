-- The saga store creates its own tables (createSqliteSagaStore().migrate()); this keeps the service's migration history.
CREATE TABLE IF NOT EXISTS orchestrator_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

/** The event log's tables, created by migrations recorded in `es_migrations`. */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Migration } from "../Migrations.ts"

/** `PRAGMA application_id` of a Codewhale event-log file ("CWLG"). */
export const ApplicationId = 0x43574c47

/** The migrations table of the event log. */
export const MigrationsTable = "es_migrations"

const statements = (...sqls: ReadonlyArray<string>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.forEach(sqls, (s) => sql.unsafe(s), { discard: true }))

/** The event log's migrations, in order. */
export const eventLogMigrations: ReadonlyArray<Migration> = [
  {
    id: 1,
    name: "create_events",
    up: statements(
      `CREATE TABLE events (
        position INTEGER PRIMARY KEY,
        stream_id TEXT NOT NULL,
        category TEXT NOT NULL CHECK (substr(stream_id, 1, length(category) + 1) = category || '-'),
        stream_version INTEGER NOT NULL CHECK (stream_version >= 1),
        event_id TEXT NOT NULL UNIQUE,
        event_type TEXT NOT NULL,
        schema_version INTEGER NOT NULL CHECK (schema_version >= 1),
        payload TEXT NOT NULL CHECK (json_valid(payload)),
        metadata TEXT NOT NULL CHECK (json_valid(metadata)),
        recorded_at INTEGER NOT NULL,
        UNIQUE (stream_id, stream_version)
      ) STRICT`,
      `CREATE INDEX events_by_category ON events (category, position)`,
      `CREATE TRIGGER events_gapless BEFORE INSERT ON events
        WHEN NEW.stream_version <> (SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = NEW.stream_id) + 1
        BEGIN SELECT RAISE(ABORT, 'stream versions are gapless: the next version of this stream is its version + 1'); END`,
      `CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only: UPDATE of events is not allowed'); END`,
      `CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only: DELETE of events is not allowed'); END`,
      `CREATE TABLE snapshots (
        stream_id TEXT NOT NULL,
        projection TEXT NOT NULL,
        projection_version INTEGER NOT NULL,
        stream_version INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (json_valid(state)),
        PRIMARY KEY (stream_id, projection)
      ) STRICT`,
      `CREATE TABLE projection_checkpoints (
        name TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        position INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT`,
      `PRAGMA application_id = ${ApplicationId}`
    )
  },
  {
    // `REPLACE` / `INSERT OR REPLACE` deletes the conflicting row without firing delete triggers
    // (recursive_triggers is off by default), so it could rewrite history by position or event id.
    id: 2,
    name: "events_no_replace",
    // Only guards writes: a read-only open of a file from before it reads the same events.
    readCompatible: true,
    up: statements(
      `CREATE TRIGGER events_no_replace BEFORE INSERT ON events
        WHEN EXISTS (SELECT 1 FROM events WHERE position = NEW.position)
          OR EXISTS (SELECT 1 FROM events WHERE event_id = NEW.event_id)
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only: an insert may not replace a stored event (same position or event id)'); END`
    )
  }
]

/* Schema checks, creation and forward migrations of schema.h. The current schema is traces/schema.sql; a
 * migration upgrades a version v file to v + 1 (ALTER TABLE …), then schema.sql (all IF NOT EXISTS) adds what
 * is missing and sets the new user_version. Everything happens in one IMMEDIATE transaction. */
#include "store/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace_schema.h"

/* migrations[v - 1] upgrades a version v file to v + 1, making what version v + 1 had. 1 → 2: run.pid, run.host
 * and op_pending; 2 → 3: op_pending.codec (a killed run's blocks written by version 2 keep codec 1). */
static const char *const migrations[] = {
    "ALTER TABLE run ADD COLUMN pid INTEGER; ALTER TABLE run ADD COLUMN host TEXT; "
    "CREATE TABLE op_pending (run INTEGER NOT NULL, step INTEGER, n INTEGER NOT NULL, data BLOB NOT NULL);",
    "ALTER TABLE op_pending ADD COLUMN codec INTEGER NOT NULL DEFAULT 1;"};

static long long pragma_value(const char *name)
{
    const char *at = strstr(trace_schema_sql, name);
    const char *eq = at ? strchr(at, '=') : NULL;
    return eq ? strtoll(eq + 1, NULL, 10) : -1;
}

int store_schema_version(void)
{
    return (int)pragma_value("PRAGMA user_version");
}
int32_t store_application_id(void)
{
    return (int32_t)pragma_value("PRAGMA application_id");
}
const char *store_schema_text(void)
{
    return trace_schema_sql;
}

int store_sqlite_fail(sqlite3 *db, int rc, const char *path, const char *what, xq_err *err)
{
    int primary = rc & 0xff;
    int code = primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT ? XQ_EINPUT : XQ_ERUN; /* the file is bad */
    const char *why = primary == SQLITE_NOTADB ? "not an SQLite database"
                      : db                     ? sqlite3_errmsg(db)
                                               : sqlite3_errstr(rc);
    int sys = db && (primary == SQLITE_IOERR || primary == SQLITE_FULL || primary == SQLITE_CANTOPEN)
                  ? sqlite3_system_errno(db)
                  : 0;
    if (sys) return xq_fail(err, code, "%s: %s: %s (%s)", path, what, why, strerror(sys)); /* e.g. "No space left" */
    return xq_fail(err, code, "%s: %s: %s", path, what, why);
}

int store_query_int(sqlite3 *db, const char *sql, long long *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

/* version: user_version; objects: rows of sqlite_schema. */
static int read_identity(sqlite3 *db, const char *path, long long *app, long long *version, long long *objects,
                         xq_err *err)
{
    int rc = store_query_int(db, "PRAGMA application_id", app);
    if (rc == SQLITE_OK) rc = store_query_int(db, "PRAGMA user_version", version);
    if (rc == SQLITE_OK) rc = store_query_int(db, "SELECT count(*) FROM sqlite_master", objects);
    return rc == SQLITE_OK ? XQ_OK : store_sqlite_fail(db, rc, path, "cannot read", err);
}

static int apply_schema(sqlite3 *db, const char *path, long long from_version, xq_err *err)
{
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    for (long long v = from_version; rc == SQLITE_OK && v >= 1 && v < store_schema_version(); v++)
        if (migrations[v - 1]) rc = sqlite3_exec(db, migrations[v - 1], NULL, NULL, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, trace_schema_sql, NULL, NULL, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK) return XQ_OK;
    store_sqlite_fail(db, rc, path, from_version ? "cannot upgrade the schema" : "cannot create the schema", err);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return err ? err->code : XQ_ERUN;
}

/* Whether a file of `version` may lack the table (column NULL) or column: a migration since that version adds
 * it (a file opened read-only is not upgraded). */
static bool added_since(long long version, const char *table, const char *column)
{
    char what[160];
    if (column)
        snprintf(what, sizeof what, "ALTER TABLE %s ADD COLUMN %s ", table, column);
    else
        snprintf(what, sizeof what, "CREATE TABLE %s ", table);
    for (long long v = version; v >= 1 && v < store_schema_version(); v++)
        if (strstr(migrations[v - 1], what)) return true;
    return false;
}

/* "" when the file has every column of `table` that the reference schema (ref) has, else the first missing. */
static int missing_column(sqlite3 *ref, sqlite3 *db, const char *table, long long version, char *missing, size_t size)
{
    sqlite3_stmt *want = NULL, *have = NULL;
    int rc = sqlite3_prepare_v2(ref, "SELECT name FROM pragma_table_info(?1)", -1, &want, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", -1, &have, NULL);
    if (rc == SQLITE_OK) sqlite3_bind_text(want, 1, table, -1, SQLITE_STATIC);
    while (rc == SQLITE_OK && !missing[0] && sqlite3_step(want) == SQLITE_ROW) {
        const char *column = (const char *)sqlite3_column_text(want, 0);
        sqlite3_bind_text(have, 1, table, -1, SQLITE_STATIC);
        sqlite3_bind_text(have, 2, column, -1, SQLITE_STATIC);
        int found = sqlite3_step(have);
        if (found == SQLITE_DONE && !added_since(version, table, column))
            snprintf(missing, size, "column %s.%s", table, column);
        else if (found != SQLITE_ROW && found != SQLITE_DONE)
            rc = found;
        sqlite3_reset(have);
    }
    sqlite3_finalize(want);
    sqlite3_finalize(have);
    return rc;
}

/* The first table, view or column of schema.sql that the file lacks ("" if none) into missing. */
static int find_missing(sqlite3 *db, long long version, char *missing, size_t size)
{
    sqlite3 *ref = NULL;
    sqlite3_stmt *objects = NULL, *have = NULL;
    missing[0] = '\0';
    int rc = sqlite3_open_v2(":memory:", &ref, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_exec(ref, trace_schema_sql, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(ref, "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view')", -1,
                                &objects, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = ?1 AND name = ?2", -1, &have, NULL);
    while (rc == SQLITE_OK && !missing[0] && sqlite3_step(objects) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(objects, 0),
                   *name = (const char *)sqlite3_column_text(objects, 1);
        sqlite3_bind_text(have, 1, type, -1, SQLITE_STATIC);
        sqlite3_bind_text(have, 2, name, -1, SQLITE_STATIC);
        int found = sqlite3_step(have);
        sqlite3_reset(have);
        if (found == SQLITE_DONE && !added_since(version, name, NULL))
            snprintf(missing, size, "%s %s", type, name);
        else if (found == SQLITE_ROW && !strcmp(type, "table"))
            rc = missing_column(ref, db, name, version, missing, size);
        else if (found != SQLITE_DONE && found != SQLITE_ROW)
            rc = found;
    }
    sqlite3_finalize(objects);
    sqlite3_finalize(have);
    sqlite3_close(ref);
    return rc;
}

/* A file that is ours but lacks a table, view or column of its schema version was damaged (or edited): bad
 * input, said once here rather than as "no such table" by whichever query meets the gap first. */
static int check_objects(sqlite3 *db, const char *path, long long version, xq_err *err)
{
    char missing[192];
    int rc = find_missing(db, version, missing, sizeof missing);
    if (rc != SQLITE_OK) return store_sqlite_fail(db, rc, path, "cannot read", err);
    if (missing[0]) return xq_fail(err, XQ_EINPUT, "%s: damaged trace: the %s is missing", path, missing);
    return XQ_OK;
}

int store_schema_prepare(sqlite3 *db, const char *path, bool writable, xq_err *err)
{
    long long app = 0, version = 0, objects = 0;
    int rc = read_identity(db, path, &app, &version, &objects, err);
    if (rc) return rc;
    bool empty = app == 0 && version == 0 && objects == 0;
    if (!empty && app != store_application_id())
        return xq_fail(err, XQ_EINPUT, "%s: not an xqprof trace (an SQLite file of another program)", path);
    if (version > store_schema_version())
        return xq_fail(err, XQ_EINPUT, "%s: written by a newer xqprof (trace schema %lld, this build reads up to %d)",
                       path, version, store_schema_version());
    if (empty && !writable) return xq_fail(err, XQ_EINPUT, "%s: empty file, not an xqprof trace", path);
    if (!empty && (rc = check_objects(db, path, version, err))) return rc;
    if (!writable) return XQ_OK;
    /* WAL only after the file proved ours: a foreign database must be left exactly as it was. */
    rc = sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
    if (rc != SQLITE_OK) return store_sqlite_fail(db, rc, path, "cannot switch to WAL", err);
    if (version == store_schema_version()) return XQ_OK;
    return apply_schema(db, path, version, err);
}

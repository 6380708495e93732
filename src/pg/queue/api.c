/*-------------------------------------------------------------------------
 *
 * api.c
 *	  SQL functions of the task queue: backtest_submit, backtest_submit_query,
 *	  backtest_cancel, backtest_delete, backtest_running_tasks; and helpers
 *	  shared with the launcher and the workers (extension owner/schema,
 *	  NOTIFY payloads, the submitter's settings a task runs under).
 *
 * Users have no write privilege on backtest.tasks: these functions write
 * the rows as the tables' owner, pg_database_owner (SetUserIdAndSecContext,
 * as pg_cron does; never a superuser, see seal.h), after checking what the
 * caller may do, and seal each new task (seal.c).  Reads that decide permissions run
 * as the caller, so row-level security applies.  Every statement run here,
 * as the owner or as the caller, runs with search_path pinned to
 * pg_catalog, pg_temp (exec_pinned): a caller's own operators or functions
 * first on its search_path must not decide which row a check reads.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/queue/api.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "core/bookkeeper.h"
#include "core/columns.h"
#include "core/loader.h"
#include "core/params.h"
#include "queue.h"
#include "seal.h"
#include "task_kind.h"

PG_FUNCTION_INFO_V1(backtest_submit);
PG_FUNCTION_INFO_V1(backtest_submit_query);
PG_FUNCTION_INFO_V1(backtest_cancel);
PG_FUNCTION_INFO_V1(backtest_delete);
PG_FUNCTION_INFO_V1(backtest_running_tasks);

/* pg_backtest.full_payloads: results, messages and errors in events */
static bool btpg_full_payloads = false;

/*
 * The settings of the submitting session a task depends on, captured at
 * submit in backtest.tasks.settings and applied by the worker before it
 * touches the source: search_path (resolving the names of a query source),
 * TimeZone (timestamp/date columns become timestamptz in the session time
 * zone), DateStyle and IntervalStyle (how a query source's literals are
 * read), and the sweep limit the submit check used.  ctx: the context the
 * worker sets it in (max_combinations is superuser-only).
 */
static const struct
{
	const char *name;
	GucContext	ctx;
}			task_settings[] =
{
	{"search_path", PGC_USERSET},
	{"TimeZone", PGC_USERSET},
	{"DateStyle", PGC_USERSET},
	{"IntervalStyle", PGC_USERSET},
	{"pg_backtest.max_combinations", PGC_SUSET},
};

/* ---- helpers ------------------------------------------------------------ */

/*
 * btpg_tasks_define_gucs
 *		Define the settings of the task queue's SQL surface; from _PG_init.
 */
void
btpg_tasks_define_gucs(void)
{
	DefineCustomBoolVariable("pg_backtest.full_payloads",
							 "Puts results, messages and errors in backtest_progress events.",
							 "NOTIFY has no access control: any role may LISTEN and read every "
							 "payload.  Off, an event carries only the task id, status, progress, "
							 "step and timings, and clients read the rest from the task row "
							 "(row-level security applies).  Turn it on only where every role "
							 "that can connect may see every task.",
							 &btpg_full_payloads, false, PGC_SUSET, 0, NULL, NULL, NULL);
}

/* The pg_extension row of pg_backtest, or NULL tuple (caller frees) */
static HeapTuple
extension_tuple(void)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup,
				copy = NULL;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("pg_backtest"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		copy = heap_copytuple(tup);
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return copy;
}

/*
 * btpg_extension_owner
 *		The role that owns the extension (and its tables).  Caller must be
 *		in a transaction; errors if the extension is missing.
 */
Oid
btpg_extension_owner(void)
{
	HeapTuple	tup = extension_tuple();
	Oid			owner;

	if (tup == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"pg_backtest\" is not installed in this database")));
	owner = ((Form_pg_extension) GETSTRUCT(tup))->extowner;
	heap_freetuple(tup);
	return owner;
}

/*
 * btpg_extension_schema
 *		The quoted name of the schema holding the extension's functions.
 */
char *
btpg_extension_schema(void)
{
	HeapTuple	tup = extension_tuple();
	Oid			nsp;

	if (tup == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"pg_backtest\" is not installed in this database")));
	nsp = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
	heap_freetuple(tup);
	return (char *) quote_identifier(get_namespace_name(nsp));
}

/*
 * Run one SQL statement with arguments with search_path pinned to
 * pg_catalog, pg_temp for its duration, as role `as_user` (InvalidOid: as
 * the current user, so row-level security applies).  Caller has SPI
 * connected; returns the SPI code (errors on failure).
 */
static int
exec_pinned_ex(Oid as_user, const char *sql, int nargs, Oid *types, Datum *values,
			   const char *nulls, bool read_only, long count, bool generic);

static int
exec_pinned(Oid as_user, const char *sql, int nargs, Oid *types, Datum *values,
			const char *nulls, bool read_only, long count)
{
	return exec_pinned_ex(as_user, sql, nargs, types, values, nulls, read_only, count, false);
}

/*
 * btpg_exec_as_owner_generic
 *		btpg_exec_as_owner with a generic plan: the parameters are read where
 *		they are, not folded into the plan as constants (a copy of each), for
 *		statements that pass very large values (the equity curve's arrays).
 */
int
btpg_exec_as_owner_generic(Oid owner, const char *sql, int nargs, Oid *types, Datum *values,
						   const char *nulls)
{
	return exec_pinned_ex(owner, sql, nargs, types, values, nulls, false, 0, true);
}

/* exec_pinned; generic: plan without looking at the parameters' values */
static int
exec_pinned_ex(Oid as_user, const char *sql, int nargs, Oid *types, Datum *values,
			   const char *nulls, bool read_only, long count, bool generic)
{
	Oid			save_userid;
	int			save_sec;
	int			save_nestlevel;
	int			rc;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	if (OidIsValid(as_user))
		SetUserIdAndSecContext(as_user, save_sec | SECURITY_LOCAL_USERID_CHANGE);
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	if (generic)
	{
		SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, types, CURSOR_OPT_GENERIC_PLAN);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		rc = SPI_execute_plan(plan, values, nulls, read_only, count);
		SPI_freeplan(plan);
	}
	else
		rc = SPI_execute_with_args(sql, nargs, types, values, nulls, read_only, count);
	AtEOXact_GUC(true, save_nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec);
	if (rc < 0)
		elog(ERROR, "pg_backtest bookkeeping failed: %s", SPI_result_code_string(rc));
	return rc;
}

/*
 * btpg_exec_as_owner
 *		Run one SQL statement with arguments as role `owner` (the extension
 *		owner), with search_path pinned to pg_catalog, pg_temp for its
 *		duration: SQL run with the owner's privileges on a user's behalf must
 *		not resolve names through the user's (or the owner's ALTER ROLE)
 *		search_path, or the user's functions and operators would run with
 *		those privileges.  Caller has SPI connected; returns the SPI code
 *		(errors on failure).
 */
int
btpg_exec_as_owner(Oid owner, const char *sql, int nargs, Oid *types, Datum *values,
				   const char *nulls)
{
	return exec_pinned(owner, sql, nargs, types, values, nulls, false, 0);
}

/*
 * btpg_task_settings_json
 *		The current values of the settings a task depends on (task_settings),
 *		as a jsonb object, for backtest.tasks.settings.
 */
static Jsonb *
btpg_task_settings_json(void)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < lengthof(task_settings); i++)
	{
		const char *v = GetConfigOption(task_settings[i].name, true, false);

		if (v == NULL)
			continue;
		if (buf.len > 1)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, task_settings[i].name);
		appendStringInfoString(&buf, ": ");
		escape_json(&buf, v);
	}
	appendStringInfoChar(&buf, '}');
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

/*
 * btpg_apply_task_settings
 *		In a task worker: set the submitter's settings recorded in the task
 *		row (jsonb text; NULL for a task queued before 0.4.0), for the rest of
 *		the session.  Only the settings of task_settings are applied, whatever
 *		else the object holds.  Caller is in a transaction; a value the server
 *		no longer accepts is an error (the task fails with it).
 */
void
btpg_apply_task_settings(const char *settings_json)
{
	Jsonb	   *jb;

	if (settings_json == NULL)
		return;
	jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(settings_json)));
	for (int i = 0; i < lengthof(task_settings); i++)
	{
		JsonbValue	key;
		JsonbValue *v;

		key.type = jbvString;
		key.val.string.val = (char *) task_settings[i].name;
		key.val.string.len = strlen(task_settings[i].name);
		v = findJsonbValueFromContainer(&jb->root, JB_FOBJECT, &key);
		if (v == NULL || v->type != jbvString)
			continue;
		(void) set_config_option(task_settings[i].name,
								 pnstrdup(v->val.string.val, v->val.string.len),
								 task_settings[i].ctx, PGC_S_SESSION, GUC_ACTION_SET,
								 true, ERROR, false);
	}
}

/* Append "key": number or null to a JSON object being built */
static void
json_num(StringInfo buf, const char *key, double v)
{
	appendStringInfo(buf, ", \"%s\": ", key);
	if (isfinite(v))
		appendStringInfo(buf, "%.10g", v);
	else
		appendStringInfoString(buf, "null");
}

/* Append "key": "escaped string" or null */
static void
json_str(StringInfo buf, const char *key, const char *s)
{
	appendStringInfo(buf, ", \"%s\": ", key);
	if (s)
		escape_json(buf, s);
	else
		appendStringInfoString(buf, "null");
}

/*
 * btpg_notify_task
 *		Queue a NOTIFY backtest_progress event for a task (sent when the
 *		current transaction commits).  NOTIFY has no access control, so by
 *		default the payload carries only what says how far the task got: its
 *		id, status, progress, step and timings; message and extra_json (the
 *		results, the error) go into the payload only with the superuser-only
 *		pg_backtest.full_payloads.  The task row, under row-level security,
 *		is the source of truth.  extra_json, if given, is appended inside the
 *		object (", \"k\": v, ...").  Strings are escaped with PostgreSQL's
 *		JSON escaping; long messages are cut so the payload stays far below
 *		NOTIFY's 8000-byte limit.
 */
void
btpg_notify_task(int64 task_id, const char *status, double progress,
				 const char *step, int step_index, int total_steps,
				 const char *message, double elapsed_s, double eta_s,
				 const char *extra_json)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"task_id\": " INT64_FORMAT, task_id);
	json_str(&buf, "status", status);
	json_num(&buf, "progress", progress);
	json_str(&buf, "current_step", step);
	appendStringInfo(&buf, ", \"step_index\": %d, \"total_steps\": %d", step_index, total_steps);
	json_num(&buf, "elapsed_s", elapsed_s);
	json_num(&buf, "eta_s", eta_s);
	if (btpg_full_payloads)
	{
		char	   *msg = NULL;

		if (message)
			msg = pnstrdup(message, pg_mbcliplen(message, strlen(message), 1000));
		json_str(&buf, "message", msg);
		if (extra_json)
			appendStringInfoString(&buf, extra_json);
	}
	appendStringInfoChar(&buf, '}');
	Async_Notify(BTPG_CHANNEL, buf.data);
}

/* Error unless role `roleid` may log in (a background worker connects as it) */
static void
require_login_role(Oid roleid)
{
	HeapTuple	tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(roleid));
	bool		canlogin;
	char	   *name;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for role %u", roleid);
	canlogin = ((Form_pg_authid) GETSTRUCT(tup))->rolcanlogin;
	name = pstrdup(NameStr(((Form_pg_authid) GETSTRUCT(tup))->rolname));
	ReleaseSysCache(tup);
	if (!canlogin)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" cannot log in, so a background worker cannot run a backtest as it",
						name),
				 errhint("Submit as a role with LOGIN (tasks run as the role that submitted them).")));
}

/*
 * Checks of the environment a task needs, after the input is validated: the
 * library preloaded (every database is served), a role that can log in.
 */
static void
require_environment(void)
{
	btpg_require_shared();
	require_login_role(GetUserId());
}

/*
 * Queue a task after its input was validated: check the environment
 * (preloaded, a role that can log in), insert the row as the tables' owner
 * with the caller (by name) as its owner and the source by its qualified
 * name, seal it, announce it and wake the launcher at commit.  kind:
 * "backtest", "sweep" (with grid) or another registered kind (symbols: a
 * text[] or NULL).
 */
static int64
insert_task(const char *kind, Oid relid, const char *query, const char *symbol,
			const char *strategy, Jsonb *params, bool has_start, TimestampTz start_ts,
			bool has_end, TimestampTz end_ts, Jsonb *grid, ArrayType *symbols)
{
	Oid			argtypes[13] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID,
		TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID, TEXTOID, JSONBOID, JSONBOID, INT8OID,
	TEXTARRAYOID};
	Datum		values[13];
	char		nulls[13];
	const char *sql;
	Jsonb	   *settings;
	BtpgSealFields seal;
	bool		isnull;

	require_environment();
	memset(&seal, 0, sizeof(seal));
	/* the source by its qualified name: a dump restores it by name */
	seal.source = OidIsValid(relid) ?
		quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), get_rel_name(relid)) :
		NULL;
	seal.query = query;
	seal.symbol = symbol;
	seal.strategy = strategy;
	seal.params = JsonbToCString(NULL, &params->root, VARSIZE(params));
	seal.has_start = has_start;
	seal.start_ts = start_ts;
	seal.has_end = has_end;
	seal.end_ts = end_ts;
	seal.owner = GetUserNameFromId(GetUserId(), false);
	seal.database = get_database_name(MyDatabaseId);
	seal.kind = kind;
	seal.grid = grid ? JsonbToCString(NULL, &grid->root, VARSIZE(grid)) : NULL;
	/* the array's text form, as the worker reads it back (symbols::text) */
	seal.symbols = symbols ?
		DatumGetCString(OidFunctionCall1(F_ARRAY_OUT, PointerGetDatum(symbols))) : NULL;
	/* the worker runs the task under the settings of this session */
	settings = btpg_task_settings_json();
	seal.settings = JsonbToCString(NULL, &settings->root, VARSIZE(settings));

	memset(nulls, ' ', sizeof(nulls));
	values[0] = seal.source ? CStringGetTextDatum(seal.source) : (Datum) 0;
	if (!seal.source)
		nulls[0] = 'n';
	values[1] = query ? CStringGetTextDatum(query) : (Datum) 0;
	if (!query)
		nulls[1] = 'n';
	values[2] = symbol ? CStringGetTextDatum(symbol) : (Datum) 0;
	if (!symbol)
		nulls[2] = 'n';
	values[3] = CStringGetTextDatum(strategy);
	values[4] = JsonbPGetDatum(params);
	values[5] = TimestampTzGetDatum(start_ts);
	if (!has_start)
		nulls[5] = 'n';
	values[6] = TimestampTzGetDatum(end_ts);
	if (!has_end)
		nulls[6] = 'n';
	values[7] = CStringGetTextDatum(seal.owner);
	values[8] = CStringGetTextDatum(seal.kind);
	values[9] = grid ? JsonbPGetDatum(grid) : (Datum) 0;
	if (!grid)
		nulls[9] = 'n';
	values[10] = JsonbPGetDatum(settings);
	values[12] = symbols ? PointerGetDatum(symbols) : (Datum) 0;
	if (!symbols)
		nulls[12] = 'n';

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* on Citus, only the coordinator queues (citus_task.c) */
	btpg_citus_check_submit();
	/* the id first: the seal covers it */
	if (btpg_exec_as_owner(BTPG_BOOKKEEPER,
						   "SELECT pg_catalog.nextval('backtest.tasks_id_seq'::pg_catalog.regclass)",
						   0, NULL, NULL, NULL) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not allocate a task id");
	seal.id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	values[11] = Int64GetDatum(seal.id);

	sql = "INSERT INTO backtest.tasks (source, query, symbol, strategy, params, start_ts, end_ts, "
		"owner, kind, grid, settings, id, symbols, database) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, pg_catalog.current_database())";
	if (btpg_exec_as_owner(BTPG_BOOKKEEPER, sql, 13, argtypes, values, nulls) != SPI_OK_INSERT)
		elog(ERROR, "could not insert the task");
	btpg_seal_store(&seal);
	SPI_finish();

	btpg_notify_task(seal.id, "pending", 0, NULL, 0, 5, "queued", 0, NAN, NULL);
	btpg_wake_launcher_at_commit();
	return seal.id;
}

/*
 * btpg_insert_task
 *		Queue a backtest (grid NULL) or a sweep: insert_task.
 */
int64
btpg_insert_task(Oid relid, const char *query, const char *symbol, const char *strategy,
				 Jsonb *params, bool has_start, TimestampTz start_ts, bool has_end,
				 TimestampTz end_ts, Jsonb *grid)
{
	return insert_task(grid ? "sweep" : "backtest", relid, query, symbol, strategy, params,
					   has_start, start_ts, has_end, end_ts, grid, NULL);
}

/*
 * btpg_insert_task_of
 *		Queue a task of a feature's kind (task_kind.h): insert_task.
 */
int64
btpg_insert_task_of(const char *kind, Oid relid, const char *query, const char *strategy,
					Jsonb *params, ArrayType *symbols, bool has_start, TimestampTz start_ts,
					bool has_end, TimestampTz end_ts)
{
	if (btpg_find_task_kind(kind) == NULL)
		elog(ERROR, "unknown task kind \"%s\"", kind);
	return insert_task(kind, relid, query, NULL, strategy, params, has_start, start_ts,
					   has_end, end_ts, NULL, symbols);
}

/* Parse and check the common arguments (strategy, params); returns the strategy */
static const BtStrategyDef *
check_strategy_params(FunctionCallInfo fcinfo, int sarg, BtpgLoadSpec *spec)
{
	const BtStrategyDef *st;
	BtConfig	cfg;

	st = btpg_args_strategy(fcinfo, sarg);
	btpg_parse_backtest_params(PG_ARGISNULL(sarg + 1) ? NULL : PG_GETARG_JSONB_P(sarg + 1),
							   st, &cfg, &spec->cols);
	spec->need_volume = spec->cols.name[BTCOL_VOLUME] != NULL;
	spec->need_signal = st->needs_signal;
	return st;
}

/*
 * backtest_submit(source regclass, symbol text, strategy text, params jsonb,
 *				   start_ts timestamptz, end_ts timestamptz) returns bigint
 *		Validate like backtest_run, queue, and return the task id at once.
 */
Datum
backtest_submit(PG_FUNCTION_ARGS)
{
	BtpgLoadSpec	spec;
	const BtStrategyDef *st;
	Jsonb	   *params;

	memset(&spec, 0, sizeof(spec));
	btpg_args_require_source(fcinfo);
	st = check_strategy_params(fcinfo, 2, &spec);
	btpg_args_table_source(fcinfo, 1, 4, 5, &spec);
	btpg_validate_source(&spec);
	params = PG_ARGISNULL(3) ? DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")))
		: PG_GETARG_JSONB_P(3);
	PG_RETURN_INT64(btpg_insert_task(spec.relid, NULL, spec.symbol, st->name, params,
									 spec.has_start, spec.start_ts, spec.has_end, spec.end_ts,
									 NULL));
}

/*
 * backtest_submit_query(query text, strategy text, params jsonb) returns bigint
 *		The query-source form: the query is parsed and its columns checked
 *		now; it runs in the worker as the submitting role.
 */
Datum
backtest_submit_query(PG_FUNCTION_ARGS)
{
	BtpgLoadSpec	spec;
	const BtStrategyDef *st;
	Jsonb	   *params;

	memset(&spec, 0, sizeof(spec));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the query must not be NULL")));
	st = check_strategy_params(fcinfo, 1, &spec);
	spec.query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	btpg_validate_source(&spec);
	params = PG_ARGISNULL(2) ? DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")))
		: PG_GETARG_JSONB_P(2);
	PG_RETURN_INT64(btpg_insert_task(InvalidOid, spec.query, NULL, st->name, params,
									 false, 0, false, 0, NULL));
}

/*
 * Is the caller the owner (the role the task's owner name names, if it
 * exists), a superuser or a member of backtest_admin?
 */
static bool
may_manage(const char *owner_name)
{
	Oid			admin = get_role_oid("backtest_admin", true);
	Oid			owner = get_role_oid(owner_name, true);

	return (OidIsValid(owner) && owner == GetUserId()) || superuser() ||
		(OidIsValid(admin) && has_privs_of_role(GetUserId(), admin));
}

/* Run an UPDATE or DELETE on one task as the tables' owner; returns rows changed */
static uint64
update_task_as_owner(const char *sql, int64 task_id)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(task_id)};

	/* a delete removes the result rows, on Citus on the other nodes too */
	(void) btpg_exec_as_owner(btpg_bookkeeper(), sql, 1, argtypes, values, NULL);
	return SPI_processed;
}

/*
 * Look up a task the caller wants to act on (`what`: "cancel", "delete"):
 * read as the caller, so row-level security hides other roles' tasks, with
 * search_path pinned and the operator qualified, so no function of the
 * caller's takes part in choosing the row; then check the caller may manage
 * it.  Returns the status (palloc'd).  Caller has SPI connected.
 */
static char *
lookup_task_to_manage(int64 task_id, const char *what)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(task_id)};
	char	   *owner;
	int64		found_id;
	bool		isnull;

	(void) exec_pinned(InvalidOid,
					   "SELECT t.owner, t.status, t.id FROM backtest.tasks t "
					   "WHERE t.id OPERATOR(pg_catalog.=) $1",
					   1, argtypes, values, NULL, true, 2);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("task " INT64_FORMAT " does not exist", task_id),
				 errhint("Only your own tasks are visible to you.")));
	found_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	if (SPI_processed != 1 || found_id != task_id)
		elog(ERROR, "task lookup returned the wrong row");
	owner = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (!may_manage(owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s task " INT64_FORMAT, what, task_id),
				 errhint("Only the task's owner, a superuser or a member of backtest_admin can %s it.",
						 what)));
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
}

/*
 * backtest_cancel(task_id bigint) returns boolean
 *		Cancel a pending task at once, or ask a running one to stop; false
 *		when the task had already finished.
 */
Datum
backtest_cancel(PG_FUNCTION_ARGS)
{
	int64		task_id = PG_GETARG_INT64(0);
	bool		result = false;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	(void) lookup_task_to_manage(task_id, "cancel");

	if (update_task_as_owner("UPDATE backtest.tasks SET status = 'cancelled', "
							 "finished_at = pg_catalog.clock_timestamp(), "
							 "message = 'cancelled before it started', eta = NULL "
							 "WHERE id = $1 AND status = 'pending'", task_id) > 0)
	{
		btpg_notify_task(task_id, "cancelled", 0, NULL, 0, 5, "cancelled before it started",
						 0, NAN, NULL);
		result = true;
	}
	else if (update_task_as_owner("UPDATE backtest.tasks SET cancel_requested = true "
								  "WHERE id = $1 AND status = 'running'", task_id) > 0)
	{
		/* the worker is told when (and only if) this transaction commits */
		result = true;
		btpg_cancel_at_commit(task_id);
	}
	SPI_finish();
	PG_RETURN_BOOL(result);
}

/*
 * backtest_delete(task_id bigint) returns void
 *		Delete a finished task with its results (owner, superuser or a member
 *		of backtest_admin); an error for a task that is pending or running.
 */
Datum
backtest_delete(PG_FUNCTION_ARGS)
{
	int64		task_id = PG_GETARG_INT64(0);
	char	   *status;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	status = lookup_task_to_manage(task_id, "delete");
	if (strcmp(status, "pending") == 0 || strcmp(status, "running") == 0 ||
		update_task_as_owner("DELETE FROM backtest.tasks WHERE id = $1 "
							 "AND status IN ('completed', 'failed', 'cancelled')", task_id) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("task " INT64_FORMAT " is %s, and only a finished task can be deleted",
						task_id, status),
				 errhint("Cancel it with backtest_cancel(" INT64_FORMAT "), then delete it once its status is cancelled.",
						 task_id)));
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * backtest_running_tasks() returns integer
 *		Worker slots in use now (NULL when the library is not preloaded).
 */
Datum
backtest_running_tasks(PG_FUNCTION_ARGS)
{
	int			n = 0;

	if (btpg_shared == NULL)
		PG_RETURN_NULL();
	LWLockAcquire(btpg_shared->lock, LW_SHARED);
	for (int i = 0; i < BTPG_MAX_SLOTS; i++)
		n += btpg_shared->slots[i].in_use ? 1 : 0;
	LWLockRelease(btpg_shared->lock);
	PG_RETURN_INT32(n);
}

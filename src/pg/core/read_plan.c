/*-------------------------------------------------------------------------
 *
 * read_plan.c
 *	  How the loader reads one symbol of a table source: from the local
 *	  shard when the table is a Citus table whose shard of that symbol is
 *	  on this node, and through the symbol index (enable_seqscan off for
 *	  that read) when the statistics say the planner would pick a slower
 *	  sequential scan.  The loader (loader.c) builds and runs the query.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/core/read_plan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_statistic.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "core/read_plan.h"

/*
 * The local shard holding symbol's rows when relid is a Citus table
 * hash-distributed by symcol and this node has an active placement of that
 * shard (a delegated call runs on that node); else InvalidOid.  Reading the
 * shard skips Citus' executor (about 3x the read on one node); the shard
 * carries the table's privileges and policies.  The shard is found in
 * Citus' metadata (dynamic SQL: its catalogs exist only with Citus), and
 * only for a caller who may SELECT the table (Citus' shard lookup demands
 * it; otherwise the ordinary read reports the missing privilege).
 */
Oid
btpg_citus_local_shard(Oid relid, const char *symcol, const char *symbol)
{
	static const char *sql =
		"SELECT pg_catalog.to_regclass(pg_catalog.shard_name(p.logicalrelid, s.shardid))"
		" FROM pg_catalog.pg_dist_partition p,"
		" LATERAL (SELECT CASE WHEN pg_catalog.has_table_privilege(p.logicalrelid, 'SELECT')"
		"  THEN pg_catalog.get_shard_id_for_distribution_column(p.logicalrelid, $2) END AS shardid) s"
		" WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1"
		" AND p.partmethod OPERATOR(pg_catalog.=) 'h'"
		" AND pg_catalog.column_to_column_name(p.logicalrelid, p.partkey) OPERATOR(pg_catalog.=) $3"
		" AND EXISTS (SELECT FROM pg_catalog.pg_dist_placement pl"
		"  WHERE pl.shardid OPERATOR(pg_catalog.=) s.shardid AND pl.shardstate OPERATOR(pg_catalog.=) 1"
		"  AND pl.groupid OPERATOR(pg_catalog.=) (SELECT g.groupid FROM pg_catalog.pg_dist_local_group g))";
	Oid			argtypes[3] = {OIDOID, TEXTOID, TEXTOID};
	Datum		values[3];
	Oid			shard = InvalidOid;
	int			rc;

	if (symcol == NULL || !OidIsValid(get_extension_oid("citus", true)))
		return InvalidOid;
	values[0] = ObjectIdGetDatum(relid);
	values[1] = CStringGetTextDatum(symbol);
	values[2] = CStringGetTextDatum(symcol);
	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	rc = SPI_execute_with_args(sql, 3, argtypes, values, NULL, true, 1);
	if (rc == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			shard = DatumGetObjectId(d);
	}
	SPI_finish();
	/*
	 * shard_name leaves a shard of a table in public unqualified, so
	 * to_regclass looked it up through the caller's search_path: only the
	 * relation of that name in the table's own schema is the shard
	 */
	if (OidIsValid(shard) && get_rel_namespace(shard) != get_rel_namespace(relid))
		shard = InvalidOid;
	return shard;
}

/*
 * Whether relid has a valid btree or hash index whose first key is column
 * attnum, and no predicate.
 */
static bool
index_leads_with(Oid relid, AttrNumber attnum)
{
	Relation	rel = table_open(relid, AccessShareLock);
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	bool		found = false;

	foreach(lc, indexes)
	{
		HeapTuple	itup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(lfirst_oid(lc)));
		HeapTuple	ctup = SearchSysCache1(RELOID, ObjectIdGetDatum(lfirst_oid(lc)));

		if (HeapTupleIsValid(itup) && HeapTupleIsValid(ctup))
		{
			Form_pg_index ix = (Form_pg_index) GETSTRUCT(itup);
			Oid			am = ((Form_pg_class) GETSTRUCT(ctup))->relam;

			found |= ix->indisvalid && ix->indnkeyatts > 0 && ix->indkey.values[0] == attnum &&
				heap_attisnull(itup, Anum_pg_index_indpred, NULL) &&
				(am == BTREE_AM_OID || am == HASH_AM_OID);
		}
		if (HeapTupleIsValid(ctup))
			ReleaseSysCache(ctup);
		if (HeapTupleIsValid(itup))
			ReleaseSysCache(itup);
	}
	list_free(indexes);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * btpg_symbol_via_index
 *		Whether to read symbol's rows of relid through an index on its
 *		symbol column (attnum): the statistics' most common values say the
 *		symbol is between a twentieth and nine tenths of the rows.  There
 *		the planner prefers a sequential scan that reads and filters every
 *		row: 36-39 ms against 27-30 through the index for 200k bars of one
 *		of two symbols written symbol by symbol (a table loaded per symbol,
 *		a Citus shard of a few symbols); with the rows interleaved in time
 *		order both take the same.  Nearly all of the rows: the sequential
 *		scan is faster (25 ms against 28).
 */
bool
btpg_symbol_via_index(Oid relid, AttrNumber attnum, const char *symbol)
{
	HeapTuple	stats;
	AttStatsSlot sslot;
	double		freq = -1;

	if (attnum == InvalidAttrNumber)
		return false;
	stats = SearchSysCache3(STATRELATTINH, ObjectIdGetDatum(relid), Int16GetDatum(attnum),
							BoolGetDatum(false));
	if (!HeapTupleIsValid(stats))
		return false;
	if (get_attstatsslot(&sslot, stats, STATISTIC_KIND_MCV, InvalidOid,
						 ATTSTATSSLOT_VALUES | ATTSTATSSLOT_NUMBERS))
	{
		Oid			outfn;
		bool		isvarlena;

		getTypeOutputInfo(sslot.valuetype, &outfn, &isvarlena);
		for (int i = 0; i < sslot.nvalues && i < sslot.nnumbers && freq < 0; i++)
			if (strcmp(OidOutputFunctionCall(outfn, sslot.values[i]), symbol) == 0)
				freq = sslot.numbers[i];
		free_attstatsslot(&sslot);
	}
	ReleaseSysCache(stats);
	return freq >= 0.05 && freq <= 0.9 && index_leads_with(relid, attnum);
}

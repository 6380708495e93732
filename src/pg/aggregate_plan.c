/*-------------------------------------------------------------------------
 *
 * aggregate_plan.c
 *	  A planner hook for the backtest() aggregate's parallel plans: never sort
 *	  its partial states.
 *
 * In a parallel plan PostgreSQL aggregates partially in the workers and
 * combines in the leader.  For the combine it has two shapes: Gather and a
 * Finalize HashAggregate, or Sort (in each worker) + Gather Merge and a
 * Finalize GroupAggregate.  It costs the Sort with the width it estimates
 * for a serialized state, 32 bytes; but a backtest() state carries all the
 * bars the worker saw of its group (48 bytes a bar: a group of 1M bars is a
 * 32 MB tuple), so the Sort spills every state to temporary files and reads
 * it back, which measured as most of the query's time (EXPLAIN ANALYZE:
 * "Sort Method: external merge  Disk: 160 MB" per worker for 1000 groups of
 * 10k bars).  With so few, so big tuples the two shapes cost the planner
 * about the same and the sorted one usually wins on its pathkeys.
 *
 * So when a query's grouping runs the backtest() aggregate's transition
 * function, this hook (create_upper_paths_hook, UPPERREL_GROUP_AGG) drops
 * the finalize paths that sort partial states, and adds the hashed finalize
 * over the Gather of the partial paths, as the planner itself builds it.
 * Nothing else changes: queries without the aggregate, serial plans, plans
 * that cannot hash, grouping sets.  The hook is set when the library loads
 * (shared_preload_libraries, or the session's first call of one of its
 * functions).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/aggregate_plan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "nodes/pathnodes.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/prep.h"
#include "optimizer/planner.h"
#include "optimizer/tlist.h"
#include "utils/builtins.h"
#include "utils/syscache.h"

#include "aggregate_plan.h"

static create_upper_paths_hook_type prev_upper_paths_hook = NULL;

/* Is fnoid backtest_agg_sfunc (any of its SQL declarations)? */
static bool
is_backtest_sfunc(Oid fnoid)
{
	HeapTuple	tup;
	bool		result = false;

	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fnoid));
	if (!HeapTupleIsValid(tup))
		return false;
	if (((Form_pg_proc) GETSTRUCT(tup))->prolang == ClanguageId)
	{
		bool		isnull;
		Datum		src = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_prosrc, &isnull);
		Datum		bin = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_probin, &isnull);

		if (!isnull)
		{
			char	   *s = TextDatumGetCString(src);
			char	   *b = TextDatumGetCString(bin);

			result = strcmp(s, "backtest_agg_sfunc") == 0 && strstr(b, "pg_backtest") != NULL;
		}
	}
	ReleaseSysCache(tup);
	return result;
}

/* Does the query aggregate with backtest()? */
static bool
query_has_backtest_agg(PlannerInfo *root)
{
	ListCell   *lc;

	foreach(lc, root->aggtransinfos)
	{
		AggTransInfo *ti = (AggTransInfo *) lfirst(lc);

		if (is_backtest_sfunc(ti->transfn_oid))
			return true;
	}
	return false;
}

/* Does the path sort partial aggregate states (a Sort above a partial Agg)? */
static bool
sorts_partial_states(Path *path, bool below_sort)
{
	switch (nodeTag(path))
	{
		case T_AggPath:
			{
				AggPath    *ap = (AggPath *) path;

				if (DO_AGGSPLIT_SERIALIZE(ap->aggsplit))
					return below_sort;
				return sorts_partial_states(ap->subpath, below_sort);
			}
		case T_SortPath:
		case T_IncrementalSortPath:
			return sorts_partial_states(((SortPath *) path)->subpath, true);
		case T_GatherMergePath:
			return sorts_partial_states(((GatherMergePath *) path)->subpath, below_sort);
		case T_GatherPath:
			return sorts_partial_states(((GatherPath *) path)->subpath, below_sort);
		case T_ProjectionPath:
			return sorts_partial_states(((ProjectionPath *) path)->subpath, below_sort);
		default:
			return false;
	}
}

/* Does the path aggregate partially (parallel workers, then a combine)? */
static bool
uses_partial_states(Path *path)
{
	switch (nodeTag(path))
	{
		case T_AggPath:
			return DO_AGGSPLIT_SERIALIZE(((AggPath *) path)->aggsplit) ||
				uses_partial_states(((AggPath *) path)->subpath);
		case T_SortPath:
		case T_IncrementalSortPath:
			return uses_partial_states(((SortPath *) path)->subpath);
		case T_GatherMergePath:
			return uses_partial_states(((GatherMergePath *) path)->subpath);
		case T_GatherPath:
			return uses_partial_states(((GatherPath *) path)->subpath);
		case T_ProjectionPath:
			return uses_partial_states(((ProjectionPath *) path)->subpath);
		default:
			return false;
	}
}

/*
 * create_upper_paths_hook, for the grouping (or plain aggregate) of a query
 * that runs backtest():
 *	- the paths that aggregate partially are charged parallel_tuple_cost per
 *	  row aggregated: their states carry every bar to the leader, through
 *	  the same tuple queues as tuples (64 kB rings), so passing a bar costs
 *	  about what passing a row does;
 *	- those that sort partial states are dropped, and the hashed finalize
 *	  over a Gather is added in their place;
 *	- the serial aggregate is added again (add_path may have discarded it
 *	  against the parallel plan's underestimated cost).
 * Then the planner picks the cheapest as usual: serial with the default
 * settings, parallel when parallel_tuple_cost is low (or 0).
 */
static void
backtest_upper_paths(PlannerInfo *root, UpperRelationKind stage, RelOptInfo *input_rel,
					 RelOptInfo *output_rel, void *extra)
{
	GroupPathExtraData *gextra = (GroupPathExtraData *) extra;
	Query	   *parse = root->parse;
	RelOptInfo *partial_rel;
	Path	   *cheapest = NULL;
	List	   *paths;
	AggStrategy strategy;
	AggClauseCosts costs;
	Cost		penalty;
	double		groups = -1;
	bool		partial = false;
	ListCell   *lc;

	if (prev_upper_paths_hook)
		prev_upper_paths_hook(root, stage, input_rel, output_rel, extra);
	if (stage != UPPERREL_GROUP_AGG || extra == NULL || parse->groupingSets != NIL ||
		gextra->patype != PARTITIONWISE_AGGREGATE_NONE || input_rel->cheapest_total_path == NULL)
		return;
	if (parse->groupClause == NIL)
		strategy = AGG_PLAIN;
	else if (grouping_is_hashable(parse->groupClause))
		strategy = AGG_HASHED;
	else
		return;
	if (!query_has_backtest_agg(root))
		return;

	foreach(lc, output_rel->pathlist)
	{
		Path	   *p = (Path *) lfirst(lc);

		if (uses_partial_states(p))
			partial = true;
		if (IsA(p, AggPath))
			groups = p->rows;
	}
	if (!partial || groups < 0)
		return;					/* a serial plan already */

	/* the charge, and the cheapest partial path that does not sort */
	penalty = parallel_tuple_cost * input_rel->rows;
	partial_rel = fetch_upper_rel(root, UPPERREL_PARTIAL_GROUP_AGG, output_rel->relids);
	foreach(lc, partial_rel->partial_pathlist)
	{
		Path	   *p = (Path *) lfirst(lc);

		if (!sorts_partial_states(p, false) &&
			(cheapest == NULL || p->total_cost < cheapest->total_cost))
			cheapest = p;
	}

	paths = output_rel->pathlist;
	output_rel->pathlist = NIL;
	foreach(lc, paths)
	{
		Path	   *p = (Path *) lfirst(lc);

		if (sorts_partial_states(p, false))
			continue;
		if (uses_partial_states(p))
		{
			p->startup_cost += penalty;
			p->total_cost += penalty;
		}
		add_path(output_rel, p);
	}
	if (cheapest != NULL)
	{
		double		rows = cheapest->rows * cheapest->parallel_workers;
		Path	   *gather = (Path *) create_gather_path(root, partial_rel, cheapest,
														 partial_rel->reltarget, NULL, &rows);
		Path	   *final = (Path *) create_agg_path(root, output_rel, gather, output_rel->reltarget,
													 strategy, AGGSPLIT_FINAL_DESERIAL,
													 parse->groupClause,
													 (List *) gextra->havingQual,
													 &gextra->agg_final_costs, groups);

		final->startup_cost += penalty;
		final->total_cost += penalty;
		add_path(output_rel, final);
	}
	MemSet(&costs, 0, sizeof(costs));
	get_agg_clause_costs(root, AGGSPLIT_SIMPLE, &costs);
	add_path(output_rel, (Path *)
			 create_agg_path(root, output_rel, input_rel->cheapest_total_path,
							 output_rel->reltarget, strategy, AGGSPLIT_SIMPLE,
							 parse->groupClause, (List *) gextra->havingQual, &costs, groups));
}

/*
 * btpg_aggregate_plan_init
 *		Install the planner hook (from _PG_init).
 */
void
btpg_aggregate_plan_init(void)
{
	prev_upper_paths_hook = create_upper_paths_hook;
	create_upper_paths_hook = backtest_upper_paths;
}

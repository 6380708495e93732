/*-------------------------------------------------------------------------
 *
 * bgworker.c
 *	  The fill of a BackgroundWorker that every process pg_backtest starts
 *	  shares (the launcher, dispatchers, task workers, sweep workers).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/core/bgworker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "postmaster/bgworker.h"

#include "core/bgworker.h"

/*
 * btpg_bgworker_init
 *		One of our workers: entry point `function` of this library, named
 *		`name` and of type `type`; it connects to a database, starts once
 *		recovery has finished, is never restarted and notifies this process
 *		of its start and stop.  Callers change what differs (a static
 *		worker has bgw_notify_pid 0) and set bgw_main_arg, bgw_extra.
 */
void
btpg_bgworker_init(BackgroundWorker *w, const char *function, const char *name,
				   const char *type)
{
	memset(w, 0, sizeof(*w));
	w->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w->bgw_start_time = BgWorkerStart_RecoveryFinished;
	w->bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(w->bgw_library_name, BGW_MAXLEN, "pg_backtest");
	snprintf(w->bgw_function_name, BGW_MAXLEN, "%s", function);
	snprintf(w->bgw_name, BGW_MAXLEN, "%s", name);
	snprintf(w->bgw_type, BGW_MAXLEN, "%s", type);
	w->bgw_notify_pid = MyProcPid;
}

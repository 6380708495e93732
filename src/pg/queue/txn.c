/*-------------------------------------------------------------------------
 *
 * txn.c
 *	  The skeleton the queue's processes share: a short transaction with
 *	  SPI and a snapshot (dispatcher, reuse, task workers and their task
 *	  kinds), and the head and the error recovery of a background worker's
 *	  main loop (launcher, dispatcher).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/queue/txn.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "queue.h"
#include "task_kind.h"

/* The memory context current when btpg_begin_txn began the transaction */
static MemoryContext txn_caller_cxt = NULL;

/*
 * btpg_begin_txn
 *		Start a transaction with SPI connected and a snapshot pushed, the
 *		backend shown as running `activity`.  Leaves CurrentMemoryContext in
 *		SPI's procedure context; undo with btpg_end_txn, which comes back to
 *		the caller's context.  (Transactions of a worker do not nest.)
 */
void
btpg_begin_txn(const char *activity)
{
	txn_caller_cxt = CurrentMemoryContext;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

/*
 * btpg_end_txn
 *		Commit the transaction of btpg_begin_txn and switch back to the
 *		memory context that was current when it began (CommitTransaction
 *		leaves TopMemoryContext current: whatever a worker allocated next
 *		would stay there for its life).
 */
void
btpg_end_txn(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(txn_caller_cxt);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * btpg_loop_start
 *		The head of a main loop: into scratch, reset it (what the last round
 *		allocated is gone), handle interrupts and a pending config reload.
 */
void
btpg_loop_start(MemoryContext scratch)
{
	MemoryContextSwitchTo(scratch);
	MemoryContextReset(scratch);
	CHECK_FOR_INTERRUPTS();
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

/*
 * btpg_loop_recover
 *		In a main loop's PG_CATCH: log the error, abort the transaction and
 *		go on, in scratch (the queue must not stop on an SQL error).
 */
void
btpg_loop_recover(MemoryContext scratch)
{
	MemoryContextSwitchTo(scratch);
	EmitErrorReport();
	AbortCurrentTransaction();
	FlushErrorState();
	pgstat_report_activity(STATE_IDLE, NULL);
}

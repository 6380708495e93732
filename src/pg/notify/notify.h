/*-------------------------------------------------------------------------
 *
 * notify.h
 *	  The notification centre (notify.c): rows of backtest.notifications,
 *	  recorded in the transaction of their event, and a NOTIFY
 *	  backtest_notifications carrying the new row's id and kind; and the
 *	  system status (status.c).
 *
 * Other features record a notification for the current role with
 * btpg_notification_add(), e.g. a live stream's signal:
 *
 *		btpg_notification_add("signal", "SYNTH: long", "sma_cross ...",
 *							  "normal", "{\"stream\": 3, ...}", NULL);
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/notify/notify.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_NOTIFY_H
#define BTPG_NOTIFY_H

#include "postgres.h"

/* NOTIFY channels (payloads: README, "Notifications" and "System status") */
#define BTPG_NOTIFICATIONS_CHANNEL	"backtest_notifications"
#define BTPG_STATUS_CHANNEL			"backtest_system_status"

/* GUCs */
extern int	btpg_max_notifications;
extern int	btpg_status_interval;

extern void btpg_notify_define_gucs(void);

/*
 * btpg_notification_add
 *		Record a notification for the current role (GetUserId()), honouring
 *		its preferences (backtest_notification_settings), and queue NOTIFY
 *		backtest_notifications {"id": N, "kind": "..."} for commit.  kind:
 *		task_completed, task_failed, task_cancelled, sweep_completed, signal
 *		or system; priority: low, normal, high or urgent (NULL: normal);
 *		metadata_json: a JSON object as text (NULL: {}); message and action
 *		may be NULL.  Returns the new id, or 0 when the role's preferences
 *		leave it out.  Caller is in a transaction (SPI connected or not); the
 *		row is written as the tables' owner, so the caller needs no
 *		privilege on backtest.notifications; it goes away with a rollback.
 */
extern int64 btpg_notification_add(const char *kind, const char *title, const char *message,
								   const char *priority, const char *metadata_json,
								   const char *action);

/* The same for the role named owner (the task trigger: a task's owner) */
extern int64 btpg_notification_add_for(const char *owner, const char *kind, const char *title,
									   const char *message, const char *priority,
									   const char *metadata_json, const char *action);

/* status.c: the dispatcher's periodic NOTIFY backtest_system_status */
extern long btpg_status_maybe_notify(bool force);

#endif							/* BTPG_NOTIFY_H */

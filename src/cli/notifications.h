/*-------------------------------------------------------------------------
 *
 * notifications.h
 *	  The CLI's notification centre commands: "notifications"
 *	  (notifications.c) and "watch --all" (watch_all.c).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/cli/notifications.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_BACKTEST_NOTIFICATIONS_H
#define PG_BACKTEST_NOTIFICATIONS_H

#include "cli.h"

#define NOTIFICATIONS_CHANNEL	"backtest_notifications"
#define STATUS_CHANNEL			"backtest_system_status"

/* The select list print_notification reads (from backtest.notifications n) */
extern const char *const notification_columns;

/* Print row ROW of a result of notification_columns as one line */
extern void print_notification(const PGresult *res, int row, int show_read);

/* Usage checks before connecting: -1 when fine, else the exit status */
extern int	check_notifications_args(const Options *opt);

extern int	cmd_notifications(PGconn *conn, const Options *opt);
extern int	cmd_watch_all(PGconn *conn, const Options *opt);

#endif

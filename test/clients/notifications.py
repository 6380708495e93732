# pg_backtest notifications and chart updates with psycopg2 (README,
# "Clients"): prints each of my new notifications, marks it read, and
# prints each chart update; stops after COUNT notifications (argument;
# default: never).  Connects with the libpq environment (PGHOST, ...).
import json, select, sys, psycopg2

count = int(sys.argv[1]) if len(sys.argv) > 1 else None
conn = psycopg2.connect("")
conn.autocommit = True
cur = conn.cursor()
cur.execute("LISTEN backtest_notifications")
cur.execute("LISTEN backtest_chart")
print("listening", flush=True)
seen = 0
while count is None or seen < count:
    if select.select([conn], [], [], 5) == ([], [], []):
        continue
    conn.poll()
    while conn.notifies:
        n = conn.notifies.pop(0)
        ev = json.loads(n.payload)
        if n.channel == "backtest_chart":
            # the stream, the symbol and the new bars' timestamps: read the bars (as me)
            if not ev.get("ts"):
                continue
            cur.execute('SELECT ts::text, close, "values"::text FROM backtest_live_bars(%s, %s)'
                        " WHERE symbol IS NOT DISTINCT FROM %s ORDER BY ts",
                        (ev["stream"], ev["ts"][0], ev["symbol"]))
            for ts, close, values in cur.fetchall():
                print(f'chart: stream {ev["stream"]} {ev["symbol"]} {ts} close {close} {values}', flush=True)
            continue
        # the event is a cue: read the row (none if it is not mine, or forged)
        cur.execute("SELECT kind, priority, title, message, action FROM backtest.notifications"
                    " WHERE id = %s AND owner = current_user", (ev["id"],))
        row = cur.fetchone()
        if row is None:
            continue
        kind, priority, title, message, action = row
        print(f"{priority:>6} {kind}: {title}: {message}  ({action})", flush=True)
        cur.execute("SELECT backtest_notifications_read(ARRAY[%s]::bigint[])", (ev["id"],))
        seen += 1

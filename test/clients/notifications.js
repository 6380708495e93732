// pg_backtest notifications and chart updates with node-postgres (README,
// "Clients"): prints each of my new notifications, marks it read, and
// prints each chart update; stops after COUNT notifications (argument;
// default: never).  Connects with the libpq environment (PGHOST, ...).
const { Client } = require('pg');

const count = process.argv[2] ? Number(process.argv[2]) : Infinity;
const client = new Client();
let seen = 0;
let work = Promise.resolve();   // handle events one at a time, in order

async function handle(msg) {
  const ev = JSON.parse(msg.payload);
  if (msg.channel === 'backtest_chart') {
    // the stream, the symbol and the new bars' timestamps: read the bars (as me)
    if (!ev.ts || ev.ts.length === 0) return;
    const bars = await client.query(
      'SELECT ts::text, close, "values"::text FROM backtest_live_bars($1, $2) ' +
      'WHERE symbol IS NOT DISTINCT FROM $3 ORDER BY ts', [ev.stream, ev.ts[0], ev.symbol]);
    for (const b of bars.rows) {
      console.log(`chart: stream ${ev.stream} ${ev.symbol} ${b.ts} close ${b.close} ${b.values}`);
    }
    return;
  }
  // the event is a cue: read the row (none if it is not mine, or forged)
  const { rows } = await client.query(
    'SELECT kind, priority, title, message, action FROM backtest.notifications ' +
    'WHERE id = $1 AND owner = current_user', [ev.id]);
  if (rows.length === 0 || seen >= count) return;
  const n = rows[0];
  console.log(`${n.priority.padStart(6)} ${n.kind}: ${n.title}: ${n.message}  (${n.action})`);
  await client.query('SELECT backtest_notifications_read(ARRAY[$1]::bigint[])', [ev.id]);
  if (++seen >= count) await client.end();
}

async function main() {
  await client.connect();
  client.on('notification', (msg) => { work = work.then(() => handle(msg)); });
  await client.query('LISTEN backtest_notifications');
  await client.query('LISTEN backtest_chart');
  console.log('listening');
}

main().catch((err) => { console.error(err.message); process.exit(1); });

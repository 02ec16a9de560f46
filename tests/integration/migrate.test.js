// Three nodes started at the same moment on one empty database all come up,
// and exactly one applies the migrations (the advisory lock); /ready on a
// database behind, ahead of or unable to take writes.
// Runs in the native pass only: migrations; no WebSocket at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, createDatabase, psql, readyBecomes } from '../lib/hub.js';

test('three nodes migrating one empty database at once', async () => {
  const database = createDatabase();
  const hubs = await Promise.all([0, 1, 2].map(() => startHub({ database })));
  try {
    const applied = hubs.map((h) => (h.log.match(/event=migrate\.applied/g) ?? []).length);
    assert.equal(applied.filter((n) => n > 0).length, 1, `applied per node: ${applied}`);
    for (const h of hubs) assert.equal((await fetch(`${h.url}/ready`)).status, 200);
    const versions = psql('SELECT count(*) FROM schema_migrations', database).trim();
    assert.equal(Number(versions), applied.find((n) => n > 0));
  } finally {
    await Promise.all(hubs.map((h) => h.stop()));
  }
});

test('chathub migrate is idempotent', async () => {
  const { execFileSync } = await import('node:child_process');
  const { BIN } = await import('../lib/hub.js');
  const database = createDatabase();
  const run = () => execFileSync(BIN, ['migrate'], {
    env: { PATH: process.env.PATH, DATABASE_URL: database }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  });
  run();
  run();
  assert.equal(psql("SELECT count(*) FROM rooms WHERE type = 'GENERAL'", database).trim(), '1');
});

// A node started on a database `chathub migrate` had not brought up to date
// answered /ready 200 and failed only the queries that needed a newer column
// (a removal's re-check then kept a removed user's socket open: an audit of
// rolling upgrades). It now says so in /ready and in its log.
test('a node on a database behind its migrations: /ready 503 "schema" and one log line, until migrate runs', { timeout: 30000 }, async () => {
  const database = createDatabase();
  const first = await startHub({ database });
  await first.stop();
  const latest = Number(psql('SELECT max(version) FROM schema_migrations', database).trim());
  psql(`DELETE FROM schema_migrations WHERE version = ${latest}`, database);
  const h = await startHub({ database, migrate: false, wait: false });
  try {
    for (let i = 0; i < 100 && !(await fetch(`${h.url}/health`).then(() => true, () => false)); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(await readyBecomes(h, 503, 15000));
    const r = await fetch(`${h.url}/ready`);
    assert.deepEqual((await r.json()).failed, ['schema']);
    await fetch(`${h.url}/ready`);
    assert.equal((h.log.match(/event=store\.schema_behind/g) ?? []).length, 1, h.log);
    assert.match(h.log, new RegExp(`event=store\\.schema_behind have=${latest - 1} want=${latest}`));
    psql(`INSERT INTO schema_migrations (version, name) VALUES (${latest}, 'back')`, database);
    assert.ok(await readyBecomes(h, 200, 15000));
    assert.match(h.log, /event=store\.schema_ok/);
  } finally {
    await h.stop();
  }
});

// On a database nothing was migrated into, the version query fails on the
// missing table, which reads as a store away: /ready said "store":"down"
// (an audit), when the database only needs `chathub migrate`.
test('a node on an empty database: /ready 503 "schema", not "store" down', { timeout: 30000 }, async () => {
  const database = createDatabase();
  const h = await startHub({ database, migrate: false, wait: false });
  try {
    for (let i = 0; i < 100 && !(await fetch(`${h.url}/health`).then(() => true, () => false)); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(await readyBecomes(h, 503, 15000));
    const body = await (await fetch(`${h.url}/ready`)).json();
    assert.deepEqual(body.failed, ['schema'], JSON.stringify(body));
    assert.match(h.log, /event=store\.schema_behind have=0 /);
  } finally {
    await h.stop();
  }
});

// A node started before `chathub migrate` calls insert functions the
// database lacks: every send failed with internal (500), which clients do
// not retry (an audit of rolling upgrades). It is unavailable (503): the
// same client_id stores once the migration ran.
test('a node ahead of its schema answers sends unavailable, and they land once migrated', { timeout: 30000 }, async () => {
  const database = createDatabase();
  const h = await startHub({ database });
  try {
    await h.api('PUT', '/users/1', { full_name: 'Ivan Petrov', role: 'student', is_active: true });
    await h.api('PUT', '/rooms/7', { type: 'GROUP', name: 'Ahead', members: [1] });
    const drop = 'ALTER FUNCTION chathub_msg_insert(bigint, bigint, text, text, text) RENAME TO held_insert';
    psql(drop, database);
    const send = () => h.api('POST', '/rooms/7/messages', { sender_id: 1, content: 'early', client_id: 'early-1' });
    const r = await send();
    assert.equal(r.status, 503, JSON.stringify(r.json));
    assert.equal(r.json.error.code, 'unavailable');
    assert.match(h.log, /event=store\.query_failed [^\n]*sqlstate=42883/);
    psql('ALTER FUNCTION held_insert(bigint, bigint, text, text, text) RENAME TO chathub_msg_insert', database);
    let ok;
    for (let i = 0; i < 20 && ok?.status !== 201; i++) {
      ok = await send();
      if (ok.status !== 201) await new Promise((res) => setTimeout(res, 200));
    }
    assert.equal(ok.status, 201);
    assert.equal(psql("SELECT count(*) FROM messages WHERE client_id = 'early-1'", database).trim(), '1');
  } finally {
    await h.stop();
  }
});

// A rollback (an older binary on a database a newer release migrated) was
// silent: nothing told the operator the database had not rolled back too
// (an audit of rolling upgrades). It is one warning, and the node serves.
test('a node on a database ahead of its migrations says so once and stays ready', { timeout: 30000 }, async () => {
  const database = createDatabase();
  const first = await startHub({ database });
  await first.stop();
  const latest = Number(psql('SELECT max(version) FROM schema_migrations', database).trim());
  psql(`INSERT INTO schema_migrations (version, name) VALUES (${latest + 1}, 'from_a_newer_release')`, database);
  const h = await startHub({ database, migrate: false });
  try {
    assert.ok(await readyBecomes(h, 200, 15000));
    await fetch(`${h.url}/ready`);
    for (let i = 0; i < 50 && !/store\.schema_ahead/.test(h.log); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal((h.log.match(/event=store\.schema_ahead/g) ?? []).length, 1, h.log);
    assert.match(h.log, new RegExp(`level=warn event=store\\.schema_ahead have=${latest + 1} know=${latest}`));
  } finally {
    await h.stop();
  }
});

// A database that takes no writes (a standby the node's DATABASE_URL now
// reaches after a failover, or default_transaction_read_only) answered
// /ready 200 while every send was unavailable (an audit): a load balancer
// kept the node. /ready says "store":"read_only", and sends land once the
// database takes writes again.
test('a database that takes no writes: /ready 503 "store":"read_only", sends unavailable until it does', { timeout: 40000 }, async () => {
  const database = createDatabase();
  const name = new URL(database).pathname.slice(1);
  const h = await startHub({ database });
  const reconnect = () => psql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`);
  try {
    await h.api('PUT', '/users/1', { full_name: 'Ivan Petrov', role: 'student', is_active: true });
    await h.api('PUT', '/rooms/7', { type: 'GROUP', name: 'Standby', members: [1] });
    psql(`ALTER DATABASE ${name} SET default_transaction_read_only = on`);
    reconnect();
    let body; // "down" while the node reconnects
    for (let i = 0; i < 150 && body?.store !== 'read_only'; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      body = await (await fetch(`${h.url}/ready`)).json();
    }
    assert.equal(body.store, 'read_only', JSON.stringify(body));
    assert.deepEqual(body.failed, ['store']);
    assert.match(h.log, /level=error event=store\.read_only /);
    const send = () => h.api('POST', '/rooms/7/messages', { sender_id: 1, content: 'standby', client_id: 'ro-1' });
    const r = await send();
    assert.equal(r.status, 503, JSON.stringify(r.json));
    assert.equal(r.json.error.code, 'unavailable');
    psql(`ALTER DATABASE ${name} RESET default_transaction_read_only`);
    reconnect();
    assert.ok(await readyBecomes(h, 200, 15000), h.log);
    assert.match(h.log, /event=store\.writable /);
    assert.equal((await send()).status, 201);
    assert.equal(psql("SELECT count(*) FROM messages WHERE client_id = 'ro-1'", database).trim(), '1');
  } finally {
    await h.stop();
  }
});

// An interrupted `chathub migrate` exits 1, but its log said hub.stop
// exit=0 first (an audit): the code was read before the store answered.
// The last line now gives the code the process exits with.
test('an interrupted chathub migrate exits 1 and its last log line says so', { timeout: 30000 }, async () => {
  const { spawn } = await import('node:child_process');
  const { BIN } = await import('../lib/hub.js');
  const database = createDatabase();
  const holder = spawn('psql', [database, '-qAtc', 'SELECT pg_advisory_lock(7270736901); SELECT pg_sleep(25)'], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 50; i++) { // the lock is held
      if (psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted", database).trim() === '1') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const m = spawn(BIN, ['migrate'], { env: { PATH: process.env.PATH, DATABASE_URL: database }, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    m.stderr.on('data', (d) => { log += d; });
    await new Promise((r) => setTimeout(r, 1500));
    m.kill('SIGTERM');
    const code = await new Promise((r) => m.on('exit', (c) => r(c)));
    assert.equal(code, 1, log);
    const lines = log.trim().split('\n');
    assert.match(lines[lines.length - 1], /event=hub\.exit node=\S+ code=1$/, log);
    assert.doesNotMatch(log, /exit=0/, log);
  } finally {
    holder.kill('SIGKILL');
  }
});

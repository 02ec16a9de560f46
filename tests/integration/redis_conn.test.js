// How a node reaches Redis: REDIS_URL's password and database number, a
// refused password or an unresolvable host (/ready says redis failed, the node
// retries with growing delays), and a server that accepts and then drops us
// (the backoff is not reset by a link that does not hold).
// Runs in the native pass only: the Redis link; no WebSocket part.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { startHub, seed, createDatabase, requireServers, freePort } from '../lib/hub.js';
import { startRedis } from '../lib/servers.js';
import { connect, sleep } from '../lib/ws.js';

const stops = [];
after(async () => {
  for (const s of stops.reverse()) await s();
});

const open = (hub, user, room = 1) => connect(hub.wsUrl(`/ws/chat/${room}/?token=${hub.token(user)}`));
const lines = (log, event) => log.split('\n').filter((l) => l.includes(`event=${event} `));

async function ready(hub) {
  const r = await fetch(`${hub.url}/ready`);
  return { status: r.status, json: await r.json() };
}

/** Poll /ready until the node listens (a node whose Redis is down never gets 200). */
async function readyWhenListening(hub, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await ready(hub);
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`no /ready answer: ${e.message}\n${hub.log}`);
      await sleep(100);
    }
  }
}

test('REDIS_URL with a password: two nodes deliver across and share presence; the password is never logged', { timeout: 60000 }, async (t) => {
  if (!requireServers(t)) return;
  const redis = await startRedis(['--requirepass', 'secret']);
  stops.push(() => redis.stop());
  const database = createDatabase();
  const url = `redis://:secret@127.0.0.1:${redis.port}/`;
  const shared = { database, redis: url, secret: 'rc-secret', apiKey: 'rc-key' };
  const a = await startHub({ ...shared, nodeId: 'ra' });
  stops.push(() => a.stop());
  const b = await startHub({ ...shared, nodeId: 'rb', migrate: false });
  stops.push(() => b.stop());
  await seed(a);
  assert.equal((await ready(a)).json.redis, 'up');

  const x = await open(a, 1);
  const y = await open(b, 2);
  await sleep(300); // the second node's subscription
  assert.ok(y.established.participants.find((p) => p.id === 1).online, 'presence crosses nodes: user 1 on the other node is online');
  x.send({ type: 'chat_message', message: 'over auth', client_id: 'c1' });
  const mine = await x.next('chat_message');
  const theirs = await y.next('chat_message');
  assert.deepEqual(theirs, mine);
  await x.close();
  await y.close();
  await a.stop();
  await b.stop();
  for (const hub of [a, b]) {
    assert.ok(!hub.log.includes('secret@') && !/\bsecret\b/.test(hub.log.replaceAll('rc-secret', '')), 'the password is not in the log');
    assert.equal(lines(hub.log, 'redis.auth_failed').length, 0);
  }
});

test('a wrong password: /ready 503 with redis failed, one warning per attempt, attempts back off', { timeout: 60000 }, async (t) => {
  if (!requireServers(t)) return;
  const redis = await startRedis(['--requirepass', 'secret']);
  stops.push(() => redis.stop());
  const hub = await startHub({ redis: `redis://:wrong-pass@127.0.0.1:${redis.port}/`, wait: false });
  stops.push(() => hub.stop());
  const r = await readyWhenListening(hub);
  assert.equal(r.status, 503);
  assert.equal(r.json.redis, 'down');
  assert.deepEqual(r.json.failed, ['redis']);
  await sleep(6000);
  assert.equal(hub.proc.exitCode, null, 'the node is still running');
  const failed = lines(hub.log, 'redis.auth_failed');
  assert.ok(failed.length >= 2, `it keeps trying (${failed.length})`);
  // Delays of 0.5-1, 1-2, 2-4 s: at most 4 attempts in 6 s (without backoff, 6 or more).
  assert.ok(failed.length <= 4, `attempts back off (${failed.length} in 6 s):\n${failed.join('\n')}`);
  assert.ok(failed.every((l) => l.includes('level=warn') && /WRONGPASS|invalid/.test(l)), 'warn with the reason');
  assert.ok(!hub.log.includes('wrong-pass'), 'the password is not in the log');
  assert.equal(lines(hub.log, 'redis.up').length, 0, 'never up');
  assert.equal((await ready(hub)).status, 503);
});

test('no password for a Redis that wants one: NOAUTH is an auth failure, not an up link', { timeout: 60000 }, async (t) => {
  if (!requireServers(t)) return;
  const redis = await startRedis(['--requirepass', 'secret']);
  stops.push(() => redis.stop());
  const hub = await startHub({ redis: `redis://127.0.0.1:${redis.port}`, wait: false });
  stops.push(() => hub.stop());
  const r = await readyWhenListening(hub);
  await sleep(1500);
  assert.equal((await ready(hub)).status, 503);
  assert.equal(r.json.redis, 'down');
  assert.ok(lines(hub.log, 'redis.auth_failed').some((l) => l.includes('NOAUTH')), hub.log);
  assert.equal(lines(hub.log, 'redis.up').length, 0);
});

test('the database number in REDIS_URL is SELECTed: presence keys land in that db', { timeout: 60000 }, async (t) => {
  if (!requireServers(t)) return;
  const redis = await startRedis();
  stops.push(() => redis.stop());
  const hub = await startHub({ redis: `redis://127.0.0.1:${redis.port}/5` });
  stops.push(() => hub.stop());
  await seed(hub);
  const x = await open(hub, 1);
  await sleep(500);
  const scan = (db) => execFileSync('redis-cli', ['-p', String(redis.port), '-n', String(db), '--scan'], { encoding: 'utf8' })
    .split('\n').filter((k) => k.startsWith('chathub:'));
  assert.ok(scan(5).length > 0, 'keys in db 5');
  assert.deepEqual(scan(0), [], 'none in db 0');
  await x.close();
});

test('an unresolvable Redis host: /ready says redis failed (not off) and the lookup is retried with growing delays', { timeout: 60000 }, async (t) => {
  if (!requireServers(t)) return;
  const hub = await startHub({ redis: 'redis://redis-does-not-exist.invalid:6379/', wait: false });
  stops.push(() => hub.stop());
  const r = await readyWhenListening(hub);
  assert.equal(r.status, 503);
  assert.equal(r.json.redis, 'down', 'Redis is on but down, not off');
  assert.deepEqual(r.json.failed, ['redis']);
  await sleep(4500);
  const failed = lines(hub.log, 'redis.resolve_failed');
  assert.ok(failed.length >= 2, `the lookup is retried (${failed.length}):\n${hub.log}`);
  const attempts = failed.map((l) => Number(/attempt=(\d+)/.exec(l)[1]));
  assert.deepEqual(attempts, attempts.map((_, i) => i + 1), 'one line per attempt');
  const delays = lines(hub.log, 'redis.reconnect').map((l) => Number(/delay_ms=(\d+)/.exec(l)[1]));
  assert.ok(delays.length >= 2, `reconnects logged (${delays.length})`);
  for (let i = 1; i < delays.length; i++) assert.ok(delays[i] >= delays[i - 1], `delays grow: ${delays}`);
  assert.equal((await ready(hub)).status, 503);
});

test('a server that accepts and then drops the link: reconnects back off instead of looping at 1 s', { timeout: 60000 }, async (t) => {
  if (!requireServers(t)) return;
  // Enough of Redis to pass the handshake (every command gets +PONG), then a hang-up.
  const sockets = new Set();
  const fake = net.createServer((s) => {
    sockets.add(s);
    s.on('data', (d) => {
      const n = d.toString().split('\r\n').filter((l) => l.startsWith('*')).length;
      s.write('+PONG\r\n'.repeat(Math.max(n, 1)));
      setTimeout(() => s.destroy(), 100);
    });
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  const port = await freePort();
  await new Promise((res) => fake.listen(port, '127.0.0.1', res));
  stops.push(() => new Promise((res) => { for (const s of sockets) s.destroy(); fake.close(res); }));
  const hub = await startHub({ redis: `redis://127.0.0.1:${port}`, wait: false });
  stops.push(() => hub.stop());
  await readyWhenListening(hub);
  const t0 = Date.now();
  while (lines(hub.log, 'redis.up').length === 0 && Date.now() - t0 < 10000) await sleep(50);
  const before = lines(hub.log, 'redis.up').length;
  assert.ok(before >= 1, 'the link came up once');
  await sleep(6000);
  const ups = lines(hub.log, 'redis.up').length - before;
  // Delays of 0.5-1, 1-2, 2-4 s after each drop: at most 3 more ups in 6 s.
  assert.ok(ups <= 3, `${ups} reconnects in 6 s`);
});

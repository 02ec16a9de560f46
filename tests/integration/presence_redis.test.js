// Presence against Redis's own ways: the order it keeps a room's users in,
// and writes it refuses with the link up (out of memory here;
// a read-only replica or a busy script answer the same way): nothing
// reconnects, so the node itself must write its entries again once Redis
// takes writes (an audit: a refused leave left a ghost online for good, and
// refused heartbeats past their 6 s had the nodes reap each other).
// Runs in the native pass only: Redis's answers to presence; no WebSocket part.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startHub, seed, createDatabase, assertNoSanitizerReport, stopAll } from '../lib/hub.js';
import { startRedis } from '../lib/servers.js';
import { connect, sleep } from '../lib/ws.js';

let redis, a, b;

before(async () => {
  redis = await startRedis();
  const shared = { database: createDatabase(), redis: redis.url, secret: 'refused-secret', apiKey: 'refused-key' };
  a = await startHub({ ...shared, nodeId: 'ra' });
  b = await startHub({ ...shared, nodeId: 'rb', migrate: false });
  await seed(a);
  for (const id of [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32]) {
    await a.api('PUT', `/users/${id}`, { full_name: `User ${id}`, role: 'student', is_active: true });
  }
});
after(async () => {
  refuseWrites(false);
  await stopAll([a, b], redis);
});

const open = (hub, user, room) => connect(hub.wsUrl(`/ws/chat/${room}/?token=${hub.token(user)}`));
const online = async (hub, room) => (await hub.api('GET', `/rooms/${room}/presence`)).json.online.sort((x, y) => x - y);
const cliOf = (r) => (...args) => execFileSync('redis-cli', ['-p', String(r.port), ...args]).toString();
const presenceOf = (c, user) => c.frames.filter((f) => f.type === 'presence' && f.user.id === user).map((f) => f.event);

/** Every write Redis is asked for is refused with OOM while on. */
function refuseWrites(on) {
  const cli = cliOf(redis);
  cli('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
  cli('CONFIG', 'SET', 'maxmemory', on ? '1' : '0');
}

async function until(cond, ms) {
  const deadline = Date.now() + ms;
  while (!(await cond()) && Date.now() < deadline) await sleep(100);
  return cond();
}

test('a leave Redis refused is written once it takes writes again: no ghost online', { timeout: 40000 }, async () => {
  await a.api('PUT', '/rooms/40', { type: 'GROUP', name: 'L', members: [20, 21] });
  const observer = await open(a, 21, 40);
  const leaving = await open(b, 20, 40);
  await observer.next('presence', 5000, (f) => f.user.id === 20 && f.event === 'join');
  refuseWrites(true);
  try {
    await leaving.close();
    await sleep(4000); // the leave goes to Redis after its 3 s grace, and is refused
  } finally {
    refuseWrites(false);
  }
  const leave = await observer.next('presence', 10000, (f) => f.user.id === 20 && f.event === 'leave');
  assert.deepEqual(leave.online, [21]);
  assert.deepEqual(await online(a, 40), [21]);
  assert.deepEqual(await online(b, 40), [21]);
  assert.match(b.log, /event=presence\.redis_refused/);
  assert.match(b.log, /event=redis\.error_reply err="OOM command not allowed/, "Redis's own words are logged");
  await sleep(500);
  assert.deepEqual(presenceOf(observer, 20), ['join', 'leave']);
  await observer.close();
});

test('a join Redis refused is announced once it takes writes again', { timeout: 40000 }, async () => {
  await a.api('PUT', '/rooms/41', { type: 'GROUP', name: 'J', members: [22, 23] });
  const observer = await open(a, 23, 41);
  let joining;
  refuseWrites(true);
  try {
    joining = await open(b, 22, 41);
    await sleep(1500);
  } finally {
    refuseWrites(false);
  }
  const join = await observer.next('presence', 10000, (f) => f.user.id === 22 && f.event === 'join');
  assert.deepEqual(join.online.sort(), [22, 23]);
  assert.ok(await until(async () => (await online(a, 41)).join() === '22,23', 5000), 'listed on every node');
  assert.deepEqual(await online(b, 41), [22, 23]);
  await sleep(500);
  assert.deepEqual(presenceOf(observer, 22), ['join']);
  await Promise.all([observer.close(), joining.close()]);
});

test('heartbeats refused past their 6 s: no node is taken for dead, no user flaps', { timeout: 50000 }, async () => {
  await a.api('PUT', '/rooms/42', { type: 'GROUP', name: 'H', members: [24, 25] });
  const x = await open(a, 24, 42);
  const y = await open(b, 25, 42);
  await x.next('presence', 5000, (f) => f.user.id === 25 && f.event === 'join');
  const from = [x.frames.length, y.frames.length];
  refuseWrites(true);
  try {
    await sleep(9000);
  } finally {
    refuseWrites(false);
  }
  await sleep(8000); // both nodes beat again, rewrite, and would reap by now
  const events = (c, i) => c.frames.slice(i).filter((f) => f.type === 'presence').map((f) => `${f.event}:${f.user.id}`);
  assert.deepEqual(events(x, from[0]), [], 'no presence event on node a');
  assert.deepEqual(events(y, from[1]), [], 'no presence event on node b');
  assert.deepEqual(await online(a, 42), [24, 25]);
  assert.deepEqual(await online(b, 42), [24, 25]);
  assert.doesNotMatch(a.log + b.log, /event=presence\.reaped room=42 /);
  await Promise.all([x.close(), y.close()]);
  assertNoSanitizerReport(a.log + b.log);
});

test('online lists are ascending on every node, whatever order the users came in', { timeout: 30000 }, async () => {
  await a.api('PUT', '/rooms/43', { type: 'GROUP', name: 'O', members: [26, 27, 28] });
  const first = await open(a, 28, 43);
  const second = await open(b, 26, 43);
  await first.next('presence', 5000, (f) => f.user.id === 26 && f.event === 'join');
  const third = await open(a, 27, 43);
  const join = await second.next('presence', 5000, (f) => f.user.id === 27 && f.event === 'join');
  assert.deepEqual(join.online, [26, 27, 28], 'the frame on the other node');
  const local = await first.next('presence', 5000, (f) => f.user.id === 27 && f.event === 'join');
  assert.deepEqual(local.online, [26, 27, 28], 'the frame on the joining node');
  for (const hub of [a, b]) {
    const res = await hub.api('GET', '/rooms/43/presence');
    assert.deepEqual(res.json.online, [26, 27, 28], 'the server API');
  }
  await second.close();
  const leave = await first.next('presence', 8000, (f) => f.user.id === 26 && f.event === 'leave');
  assert.deepEqual(leave.online, [27, 28]);
  await Promise.all([first.close(), third.close()]);
});

test('the leave of a join Redis refused takes nothing from another node\'s count', { timeout: 40000 }, async () => {
  await a.api('PUT', '/rooms/44', { type: 'GROUP', name: 'C', members: [29, 30] });
  const observer = await open(b, 30, 44);
  const stays = await open(b, 29, 44); // user 29 online through b
  await observer.next('presence', 5000, (f) => f.user.id === 29 && f.event === 'join');
  refuseWrites(true);
  try {
    const second = await open(a, 29, 44); // its join is refused
    await sleep(500);
    await second.close(); // its leave goes to Redis after the 3 s grace, once writes pass
    await sleep(2600);
  } finally {
    refuseWrites(false);
  }
  await sleep(5000);
  assert.deepEqual(presenceOf(observer, 29), ['join'], 'user 29 still has a socket on b');
  assert.deepEqual(await online(b, 44), [29, 30]);
  assert.deepEqual(await online(a, 44), [29, 30]);
  await Promise.all([stays.close(), observer.close()]);
});

test('a leave after Redis lost its data with the link up (FLUSHALL) is still announced', { timeout: 40000 }, async () => {
  await a.api('PUT', '/rooms/45', { type: 'GROUP', name: 'F', members: [31, 32] });
  const observer = await open(a, 32, 45);
  const gone = await open(b, 31, 45); // b's only user in the room
  await observer.next('presence', 5000, (f) => f.user.id === 31 && f.event === 'join');
  cliOf(redis)('FLUSHALL');
  // No grace for a kicked socket: its leave reaches Redis before b's next
  // heartbeat finds its key gone, and finds no entry of b's to take.
  const res = await b.api('POST', '/users/31/disconnect');
  assert.ok(res.status < 300, `disconnect: ${res.status}`);
  const leave = await observer.next('presence', 10000, (f) => f.user.id === 31 && f.event === 'leave');
  assert.deepEqual(leave.online, [32]);
  assert.deepEqual(await online(a, 45), [32]);
  await sleep(500);
  assert.deepEqual(presenceOf(observer, 31), ['join', 'leave']);
  await Promise.all([observer.close(), gone.closed]);
});

test('a node whose own presence writes Redis keeps refusing still reaps a dead node', { timeout: 60000 }, async () => {
  // A cluster of its own: a and b would reap the dead node themselves.
  const r = await startRedis();
  const cli = cliOf(r);
  const shared = { database: createDatabase(), redis: r.url, secret: 'refused-secret', apiKey: 'refused-key' };
  const x = await startHub({ ...shared, nodeId: 'rx' });
  const y = await startHub({ ...shared, nodeId: 'ry', migrate: false });
  try {
    await seed(x);
    const observer = await open(x, 2, 1);
    await open(y, 1, 1);
    await observer.next('presence', 5000, (f) => f.user.id === 1 && f.event === 'join');
    // x's room set becomes a string: its joins and rewrites get WRONGTYPE for
    // good, while its heartbeats pass.
    cli('DEL', 'chathub:nr:rx');
    cli('SET', 'chathub:nr:rx', 'x');
    await open(x, 3, 1);
    await sleep(500);
    await y.stop('SIGKILL');
    // y's heartbeat key lapses within 6 s; x reaps at its next beat.
    const leave = await observer.next('presence', 20000, (f) => f.user.id === 1 && f.event === 'leave');
    assert.ok(!leave.online.includes(1));
    const warned = (x.log.match(/event=presence\.redis_refused/g) ?? []).length;
    assert.equal(warned, 1, 'one warning a spell');
    assert.match(x.log, /event=redis\.error_reply err="WRONGTYPE/);
  } finally {
    cli('DEL', 'chathub:nr:rx');
    await stopAll([x, y], r);
  }
});

// Redis restarted empty while a node died: nobody rewrites that node's
// entries or marks its users gone, and while Redis has no number for the
// room's events a user missing from it may just be on a node not back yet,
// so the other nodes kept listing them, and never sent their leave (an
// audit). After HUB_PRESENCE_SETTLE_MS a room is read again as settled:
// whoever is still missing gets a leave, with their name from the store;
// users on nodes that came back see no leave at all.
// Runs in the native pass only: Redis and node outages; no WebSocket part.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, createDatabase, stopAll, readyBecomes } from '../lib/hub.js';
import { startRedis } from '../lib/servers.js';
import { startProxy, viaProxy } from '../lib/proxy.js';
import { connect, sleep } from '../lib/ws.js';

let redis, database;
const env = { HUB_PRESENCE_SETTLE_MS: '3000' };
const shared = () => ({ database, redis: redis.url, secret: 'settle-secret', apiKey: 'settle-key', env });

before(async () => {
  redis = await startRedis();
  database = createDatabase();
});
after(async () => {
  await stopAll([], redis);
});

const open = (hub, user, room) => connect(hub.wsUrl(`/ws/chat/${room}/?token=${hub.token(user)}`));
const presenceLog = (c, from = 0) =>
  c.frames.slice(from).filter((f) => f.type === 'presence').map((f) => `${f.event}:${f.user.id}`);

test('a user whose node died while Redis was away and came back empty gets a leave once the room settles', { timeout: 90000 }, async () => {
  const p = await startHub({ ...shared(), nodeId: 'settle-p' });
  const q = await startHub({ ...shared(), nodeId: 'settle-q', migrate: false });
  const r = await startHub({ ...shared(), nodeId: 'settle-r', migrate: false });
  try {
    for (const id of [21, 22, 23]) {
      assert.equal((await p.api('PUT', `/users/${id}`, { full_name: `User ${id}`, role: 'student', is_active: true })).status, 200);
    }
    await p.api('PUT', '/rooms/1', { type: 'GROUP', name: 'Settle', members: [21, 22, 23] });
    const observer = await open(p, 21, 1);
    await open(q, 23, 1); // dies with q
    const stays = await open(r, 22, 1);
    for (const id of [22, 23]) await observer.next('presence', 5000, (f) => f.user.id === id && f.event === 'join');
    const from = observer.frames.length;

    await redis.stop('SIGKILL'); // no persistence: it comes back empty
    await q.stop('SIGKILL');
    await redis.start();
    assert.ok(await readyBecomes(p, 200) && await readyBecomes(r, 200), 'p and r are back on Redis');

    const leave = await observer.next('presence', 30000, (f) => f.user.id === 23 && f.event === 'leave');
    assert.deepEqual(leave.user, { id: 23, full_name: 'User 23', role: 'student' }, 'named as the store has them');
    assert.deepEqual([...leave.online].sort(), [21, 22]);
    await sleep(4000); // another settle period: nothing more
    assert.deepEqual(presenceLog(observer, from), ['leave:23'], 'one leave, and none for the user whose node came back');
    assert.deepEqual((await p.api('GET', '/rooms/1/presence')).json.online.sort(), [21, 22]);
    await stays.close();
    await observer.close();
  } finally {
    await stopAll([p, r]);
  }
});

// The leave's name comes from the store; a node whose store did not answer
// then tries again (1 s, doubling), rather than never sending it (an audit).
test('a settle whose store read fails sends the leave once the store answers', { timeout: 90000 }, async () => {
  const pg = await startProxy(Number(new URL(database).port));
  const p = await startHub({ ...shared(), database: viaProxy(database, pg), nodeId: 'settle-p2', migrate: false });
  const q = await startHub({ ...shared(), nodeId: 'settle-q2', migrate: false });
  try {
    await p.api('PUT', '/users/24', { full_name: 'User 24', role: 'student', is_active: true });
    await p.api('PUT', '/rooms/2', { type: 'GROUP', name: 'Settle 2', members: [21, 24] });
    const observer = await open(p, 21, 2);
    await open(q, 24, 2); // dies with q
    await observer.next('presence', 5000, (f) => f.user.id === 24 && f.event === 'join');
    const from = observer.frames.length;
    await redis.stop('SIGKILL');
    await q.stop('SIGKILL');
    await redis.start();
    await pg.cut(); // p cannot read the name when the room settles
    await sleep(6000);
    assert.deepEqual(presenceLog(observer, from), [], 'no leave without a name');
    await pg.restore();
    const leave = await observer.next('presence', 30000, (f) => f.user.id === 24 && f.event === 'leave');
    assert.deepEqual(leave.user, { id: 24, full_name: 'User 24', role: 'student' });
    assert.match(p.log, /event=presence\.settle_read_failed/);
    await observer.close();
  } finally {
    await stopAll([p]);
    await pg.close();
  }
});

// A join in the room while its settle waits lists who Redis has: the dead
// node's user drops out of the sockets' list with that frame, and the
// settled read, which compared Redis with that list, sent them no leave (an
// audit: 12 of 130 rooms). The users a room kept are counted until it settles.
test('a join while the room waits to settle does not cost the dead node\'s user their leave', { timeout: 90000 }, async () => {
  const p = await startHub({ ...shared(), nodeId: 'settle-p3', migrate: false });
  const q = await startHub({ ...shared(), nodeId: 'settle-q3', migrate: false });
  try {
    for (const id of [25, 26]) {
      await p.api('PUT', `/users/${id}`, { full_name: `User ${id}`, role: 'student', is_active: true });
    }
    await p.api('PUT', '/rooms/3', { type: 'GROUP', name: 'Settle 3', members: [21, 25, 26] });
    const observer = await open(p, 21, 3);
    await open(q, 26, 3); // dies with q
    await observer.next('presence', 5000, (f) => f.user.id === 26 && f.event === 'join');
    const from = observer.frames.length;
    await redis.stop('SIGKILL');
    await q.stop('SIGKILL');
    await redis.start();
    assert.ok(await readyBecomes(p, 200), 'p is back');
    await sleep(300); // p has read the room again: 26 kept
    const back = await open(p, 25, 3);
    const join = await observer.next('presence', 5000, (f) => f.user.id === 25 && f.event === 'join');
    assert.ok(!join.online.includes(26), 'the join lists who Redis has');
    const leave = await observer.next('presence', 30000, (f) => f.user.id === 26 && f.event === 'leave');
    assert.deepEqual(leave.user, { id: 26, full_name: 'User 26', role: 'student' });
    await sleep(4000);
    assert.deepEqual(presenceLog(observer, from), ['join:25', 'leave:26'], 'one leave, nothing twice');
    await back.close();
    await observer.close();
  } finally {
    await stopAll([p]);
  }
});

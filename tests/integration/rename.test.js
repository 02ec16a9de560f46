// Renames (PUT /api/v1/users/{id}) reaching open sockets on every node:
// typing and presence frames are built from a socket's copy of its user, so
// each node keeps that copy as the store has it, also when the rename's
// envelope came out of order, never came (the node's Redis link was down),
// or crossed a join the store was answering.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { startHub, createDatabase, stopAll, readyBecomes, psql } from '../lib/hub.js';
import { startRedis } from '../lib/servers.js';
import { startProxy } from '../lib/proxy.js';
import { connect, sleep } from '../lib/ws.js';

let redis, database, a, b;
const shared = () => ({ database, redis: redis.url, secret: 'rename-secret', apiKey: 'rename-key' });

before(async () => {
  redis = await startRedis();
  database = createDatabase();
  a = await startHub({ ...shared(), nodeId: 'ra' });
  b = await startHub({ ...shared(), nodeId: 'rb', migrate: false });
});
after(async () => {
  await stopAll([a, b], redis);
});

const open = (hub, user, room) => connect(hub.wsUrl(`/ws/chat/${room}/?token=${hub.token(user)}`));
const rename = (hub, id, full_name, role = 'student') => hub.api('PUT', `/users/${id}`, { full_name, role, is_active: true });
/** A GROUP room of these users, upserted as students named "User <id>" first. */
async function studentRoom(room, ids) {
  for (const id of ids) assert.equal((await rename(a, id, `User ${id}`)).status, 200);
  assert.equal((await a.api('PUT', `/rooms/${room}`, { type: 'GROUP', name: `Rename ${room}`, members: ids })).status < 300, true);
}
/** The user the observer sees in the typist's typing frame. */
async function typedBy(typist, observer) {
  typist.send({ type: 'typing', is_typing: true });
  return (await observer.next('typing', 5000, (f) => f.is_typing)).user;
}

test('a user renamed while online: their typing and their leave name them anew on every node', { timeout: 30000 }, async () => {
  await studentRoom(1, [20, 21]);
  const observer = await open(b, 21, 1);
  const renamed = await open(a, 20, 1);
  await observer.next('presence', 5000, (f) => f.user.id === 20 && f.event === 'join');
  assert.equal((await rename(b, 20, 'Renamed Twenty', 'teacher')).status, 200);
  await sleep(300); // the rename's way through Redis to the socket's node
  assert.deepEqual(await typedBy(renamed, observer), { id: 20, full_name: 'Renamed Twenty', role: 'teacher' });
  await renamed.close();
  const leave = await observer.next('presence', 10000, (f) => f.user.id === 20 && f.event === 'leave');
  assert.deepEqual(leave.user, { id: 20, full_name: 'Renamed Twenty', role: 'teacher' });
  await observer.close();
});

// Two renames on two nodes may reach a third in either order (during a Redis
// outage each node publishes its own when its link is back). An envelope
// naming the user as the store no longer has them stands for the older one
// arriving last: the node reads the user again and keeps the store's name.
test('a rename envelope arriving after a newer rename leaves the name the store has', { timeout: 30000 }, async () => {
  await studentRoom(2, [22, 23]);
  const observer = await open(b, 23, 2);
  const renamed = await open(a, 22, 2);
  assert.equal((await rename(b, 22, 'Newest Name')).status, 200);
  await sleep(300);
  execFileSync('redis-cli', ['-p', String(redis.port), 'PUBLISH', 'chathub:control',
    'c other 0 0 22\nrename_user student Older Name']);
  await sleep(500); // the envelope, then the read it causes
  assert.equal((await typedBy(renamed, observer)).full_name, 'Newest Name');
  await renamed.close();
  await observer.close();
});

test("a rename published while a node's Redis link was down reaches that node's sockets once it is back", { timeout: 60000 }, async () => {
  await studentRoom(3, [24, 25]);
  const link = await startProxy(redis.port);
  const cut = await startHub({ ...shared(), nodeId: 'rcut', redis: link.url, migrate: false });
  try {
    const observer = await open(a, 25, 3);
    const renamed = await open(cut, 24, 3);
    await observer.next('presence', 5000, (f) => f.user.id === 24 && f.event === 'join');
    await link.cut();
    assert.ok(await readyBecomes(cut, 503), 'the node lost Redis');
    assert.equal((await rename(a, 24, 'Renamed Meanwhile')).status, 200);
    await link.restore();
    assert.ok(await readyBecomes(cut, 200), 'the node is back');
    await sleep(1000); // subscribed again, then the read of its users
    assert.equal((await typedBy(renamed, observer)).full_name, 'Renamed Meanwhile');
    await renamed.close();
    await observer.close();
  } finally {
    await cut.stop();
    await link.close();
  }
});

// The join reads the user, then waits to enter the GENERAL room, whose
// participant row another transaction is inserting; the rename commits
// meanwhile, so the join's answer names the user as they were.
test('a rename that crosses a join the store is answering reaches the new socket', { timeout: 30000 }, async () => {
  for (const id of [26, 27]) assert.equal((await rename(a, id, `User ${id}`)).status, 200);
  const observer = await connect(b.wsUrl(`/ws/chat/general/?token=${b.token(27)}`));
  const general = psql('SELECT id FROM rooms WHERE type = \'GENERAL\'', database).trim();
  const blocker = spawn('psql', [database, '-qAt', '-c',
    `BEGIN; INSERT INTO room_participants (room_id, user_id) VALUES (${general}, 26); SELECT pg_sleep(2); ROLLBACK;`]);
  const blocked = new Promise((r) => blocker.on('exit', r));
  const waiting = () => psql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'", database).trim();
  await sleep(300); // the blocker's insert is in
  const joining = connect(a.wsUrl(`/ws/chat/general/?token=${a.token(26)}`));
  for (let i = 0; i < 50 && waiting() === '0'; i++) await sleep(20);
  assert.equal(waiting(), '1', "the join waits on the blocker's row");
  assert.equal((await rename(b, 26, 'Renamed While Joining')).status, 200);
  await blocked;
  const late = await joining;
  assert.equal((await typedBy(late, observer)).full_name, 'Renamed While Joining');
  await late.close();
  await observer.close();
});

// A message a node stored but never published (the node died between the
// commit and the PUBLISH) must still reach the other nodes' sockets, in a room
// where no later message comes to show the gap: each node's room audit reads
// its rooms' last seqs from the store (HUB_ROOM_AUDIT_MS) and fills a room
// that is still behind a second later. The dying node reaches Redis through a
// proxy that holds its PUBLISHes back, and is then killed; the late node's
// proxy holds them back for less than that second.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startHub, seed, createDatabase, stopAll, psql } from '../lib/hub.js';
import { startRedis } from '../lib/servers.js';
import { startProxy } from '../lib/proxy.js';
import { connect, sleep } from '../lib/ws.js';

const shared = { secret: 'audit-secret', apiKey: 'audit-key' };
let redis, proxy, lateProxy, live, dying, late, database;

before(async () => {
  redis = await startRedis();
  proxy = await startProxy(redis.port);
  lateProxy = await startProxy(redis.port);
  database = createDatabase();
  live = await startHub({ ...shared, database, redis: redis.url, nodeId: 'live', env: { HUB_ROOM_AUDIT_MS: '300' } });
  await seed(live);
  dying = await startHub({ ...shared, database, redis: proxy.url, nodeId: 'dying', migrate: false });
  late = await startHub({ ...shared, database, redis: lateProxy.url, nodeId: 'late', migrate: false });
});
after(async () => {
  await stopAll([live, dying, late], [proxy, lateProxy, redis]);
});

const open = (hub, user, room) => connect(hub.wsUrl(`/ws/chat/${room}/?token=${hub.token(user)}`));

async function counter(hub, name) {
  const text = await (await hub.metrics()).text();
  const m = text.match(new RegExp(`^${name} (\\d+)$`, 'm'));
  assert.ok(m, `${name} is exported`);
  return Number(m[1]);
}
const auditFills = (hub) => counter(hub, 'chathub_room_audit_fills_total');

test('a publication late by less than the hold is not filled', { timeout: 30000 }, async () => {
  const y = await open(live, 2, 1);
  const b = await open(late, 1, 1);
  lateProxy.hold('PUBLISH');
  b.send({ type: 'chat_message', message: 'late', client_id: 'late-1' });
  const sent = await b.next('chat_message');
  await sleep(700); // the audit read the room behind, more than once
  assert.equal(y.frames.filter((f) => f.type === 'chat_message').length, 0, 'held back');
  lateProxy.release();
  assert.deepEqual(await y.next('chat_message'), sent);
  await sleep(1500); // the hold after the last read that saw it behind has passed
  assert.equal(await auditFills(live), 0, 'the publication arrived: nothing was filled');
  assert.equal(y.frames.filter((f) => f.type === 'chat_message').length, 1, 'once');
  await Promise.all([y.close(), b.close()]);
});

test('a message its node stored but never published reaches the other nodes', { timeout: 30000 }, async () => {
  const y = await open(live, 2, 1);
  const x = await open(dying, 1, 1);
  proxy.hold('PUBLISH');
  x.send({ type: 'chat_message', message: 'stranded', client_id: 'stranded-1' });
  const sent = await x.next('chat_message');
  assert.equal(sent.message.content, 'stranded');
  for (let i = 0; proxy.holding() === 0; i++) {
    assert.ok(i < 100, 'the PUBLISH reached the proxy');
    await sleep(20);
  }
  await dying.stop('SIGKILL'); // the held PUBLISH goes with its connection, never released
  assert.deepEqual(await y.next('chat_message', 10000), sent, 'the same frame as the sender got');
  assert.ok(await auditFills(live) >= 1);
  assert.match(live.log, /room\.audit_behind room=1 /);
  await sleep(1000);
  assert.equal(y.frames.filter((f) => f.type === 'chat_message' && f.message.client_id === 'stranded-1').length, 1, 'once');
  await y.close();
});

test('a message that comes ahead of a missing seq waits, and the store fills the gap', { timeout: 30000 }, async () => {
  const y = await open(live, 2, 1);
  const [held0, fills0] = [await counter(live, 'chathub_room_held_total'), await counter(live, 'chathub_room_fills_total')];
  // Two messages stored by "another node" that published only the second.
  const insert = (text) => psql(`SELECT seq FROM chathub_msg_insert(1, 1, '${text}', '${text}')`, database).trim();
  const first = Number(insert('gap-first'));
  const second = Number(insert('gap-second'));
  assert.equal(second, first + 1);
  const frame = JSON.stringify({ type: 'chat_message', message: { id: 0, room_id: 1, seq: second, content: 'gap-second' } });
  execFileSync('redis-cli', ['-p', String(redis.port), 'PUBLISH', 'chathub:room:1', `m other 1 ${second} 0\n${frame}`]);
  const a = await y.next('chat_message', 5000);
  const b = await y.next('chat_message', 5000);
  assert.deepEqual([a.message.seq, a.message.content, b.message.seq, b.message.content],
    [first, 'gap-first', second, 'gap-second'], 'both, in order, as the store has them');
  assert.ok(await counter(live, 'chathub_room_held_total') >= held0 + 1, 'the second waited');
  assert.ok(await counter(live, 'chathub_room_fills_total') >= fills0 + 1, 'the store was read');
  await sleep(500);
  assert.equal(y.frames.filter((f) => f.type === 'chat_message').length, 2, 'each once');
  await y.close();
});

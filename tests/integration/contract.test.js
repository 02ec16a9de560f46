// Wire-contract behaviour of PROTOCOL.md that an audit checked by hand and no
// other file held the hub to: the fallback room's order, the GENERAL room,
// token precedence, JWT claims, closes driven by the server API (one node and
// across nodes), the resume boundary at 1000 and the history frame's limits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startHub, seed, signJwt, createDatabase, stopAll, psql } from '../lib/hub.js';
import { startRedis } from '../lib/servers.js';
import { connect, handshakeStatus, Client, sleep } from '../lib/ws.js';

const FAST = { HUB_RATE_LIMIT: '100000', HUB_RATE_BURST: '100000' };
let hub;
before(async () => {
  hub = await startHub({ env: FAST });
  await seed(hub);
});
after(async () => {
  await hub?.stop();
  await stopCluster();
});

const user = (id, is_active = true) => hub.api('PUT', `/users/${id}`, { full_name: `User ${id}`, role: 'student', is_active });
const room = (id, members) => hub.api('PUT', `/rooms/${id}`, { type: 'GROUP', name: `Room ${id}`, members });
const opaque = async (h, userId) => (await h.api('POST', '/tokens', { user_id: userId })).json.token;
const chatSeqs = (c) => c.frames.filter((f) => f.type === 'chat_message').map((f) => f.message.seq);

/** The close code of c, or 'still open' after ms: a regression fails, never hangs. */
const closeCode = (c, ms = 10000) => Promise.race([c.closed.then((x) => x.code), sleep(ms).then(() => 'still open')]);

/** The room a token lands in on the fallback path (asserting it connected). */
async function fallbackRoom(p, userId) {
  const c = await connect(hub.wsUrl(`${p}?token=${hub.token(userId)}`));
  await c.close();
  return c.established.room_id;
}

/** n messages in a room, sent over one socket of sender; returns the last seq. */
async function fill(roomId, sender, n) {
  const s = await connect(hub.wsUrl(`/ws/chat/${roomId}/?token=${hub.token(sender)}`));
  for (let i = 0; i < n; i++) s.send({ type: 'chat_message', message: `fill ${i}`, client_id: `fill-${roomId}-${i}` });
  const last = s.established.last_seq + n;
  const deadline = Date.now() + 30000;
  while ((chatSeqs(s).at(-1) ?? 0) < last && Date.now() < deadline) await sleep(20);
  assert.equal(chatSeqs(s).at(-1), last, `room ${roomId} filled`);
  await s.close();
  return last;
}

test('fallback: most recent message activity first, then the lowest id; a new message moves a room to the top', async () => {
  for (const id of [10, 11]) assert.equal((await user(id)).status, 200);
  for (const id of [30, 20, 25]) assert.ok((await room(id, [10, 11])).status < 300);
  assert.equal(await fallbackRoom('/ws/chat', 10), 20, 'no messages anywhere: the lowest id');
  await hub.api('POST', '/rooms/30/messages', { sender_id: 11, content: 'a' });
  await hub.api('POST', '/rooms/25/messages', { sender_id: 11, content: 'b' });
  assert.equal(await fallbackRoom('/ws/chat/', 10), 25, 'the latest message is in 25');
  assert.equal(await fallbackRoom('/ws/chat', 11), 25, 'the same for the other member');
  await hub.api('POST', '/rooms/30/messages', { sender_id: 11, content: 'c' });
  assert.equal(await fallbackRoom('/ws/chat', 10), 30, 'a new message in 30 moves it to the top');
  assert.equal(await fallbackRoom('/ws/chat/', 10), 30);
  // The 4404 for a user with no room is held by connect.test.js.
});

test('fallback: a writable room before an archived one, whatever their activity; archived only when nothing else', async () => {
  assert.equal((await user(14)).status, 200);
  for (const id of [40, 45]) assert.ok((await room(id, [14])).status < 300);
  await hub.api('POST', '/rooms/45/messages', { sender_id: 14, content: 'last' });
  assert.equal(await fallbackRoom('/ws/chat', 14), 45);
  psql('UPDATE rooms SET is_archived = true WHERE id = 45', hub.database);
  assert.equal(await fallbackRoom('/ws/chat', 14), 40, 'the archived room with the latest message is passed over');
  psql('UPDATE rooms SET is_archived = true WHERE id = 40', hub.database);
  assert.equal(await fallbackRoom('/ws/chat', 14), 45, 'all archived: latest activity first again');
});

test('/ws/chat/general and /ws/chat/general/: one GENERAL room, joined by any active user', async () => {
  for (const id of [12, 13]) assert.equal((await user(id)).status, 200);
  const a = await connect(hub.wsUrl(`/ws/chat/general?token=${hub.token(12)}`));
  assert.equal(a.established.room.type, 'GENERAL');
  assert.ok(a.established.participants.some((p) => p.id === 12), 'the joiner is a participant');
  const b = await connect(hub.wsUrl(`/ws/chat/general/?token=${hub.token(13)}`));
  assert.equal(b.established.room_id, a.established.room_id, 'the single GENERAL room');
  const ids = b.established.participants.map((p) => p.id);
  assert.ok(ids.includes(12) && ids.includes(13), `participants ${ids}`);
  await Promise.all([a.close(), b.close()]);
  // A participant now: the room's own URL admits them, where a stranger gets 4403.
  const direct = await connect(hub.wsUrl(`/ws/chat/${a.established.room_id}/?token=${hub.token(12)}`));
  assert.equal(direct.established.room.type, 'GENERAL');
  await direct.close();
});

test('an inactive user on /ws/chat/general(/) gets unauthorized and 4401', async () => {
  assert.equal((await user(15, false)).status, 200);
  for (const p of ['/ws/chat/general/', '/ws/chat/general']) {
    const c = new Client(hub.wsUrl(`${p}?token=${hub.token(15)}`));
    assert.equal((await c.next('error')).code, 'unauthorized', p);
    assert.equal(await closeCode(c), 4401, p);
    assert.ok(!c.frames.some((f) => f.type === 'connection_established'), p);
  }
});

test('token precedence: Authorization header, then the chathub.v1 subprotocol, then ?token=', async () => {
  // Opaque tokens here; connect.test.js has the same order with JWTs, which
  // reach lws only after the hub moved them out of the header.
  const [t1, t2, t3] = [await opaque(hub, 1), await opaque(hub, 2), await opaque(hub, 3)];
  const sub = await connect(hub.wsUrl(`/ws/chat/1/?token=${t3}`), { protocols: ['chathub.v1', `bearer.${t2}`] });
  assert.equal(sub.established.user.id, 2, 'the subprotocol beats ?token=');
  assert.equal(sub.ws.protocol, 'chathub.v1');
  await sub.close();
  const all = await connect(hub.wsUrl(`/ws/chat/1/?token=${t3}`), {
    protocols: ['chathub.v1', `bearer.${t2}`], headers: { Authorization: `Bearer ${t1}` },
  });
  assert.equal(all.established.user.id, 1, 'the header beats the subprotocol and ?token=');
  assert.equal(all.ws.protocol, 'chathub.v1');
  await all.close();
  const hdr = await connect(hub.wsUrl('/ws/chat/1/'), {
    protocols: ['chathub.v1', `bearer.${t2}`], headers: { Authorization: `Bearer ${hub.token(3)}` },
  });
  assert.equal(hdr.established.user.id, 3, 'a JWT header beats an opaque subprotocol token');
  assert.equal(hdr.ws.protocol, 'chathub.v1');
  await hdr.close();
  const q = await connect(hub.wsUrl(`/ws/chat/1/?token=${t3}`), { protocols: ['chathub.v1'] });
  assert.equal(q.established.user.id, 3, 'chathub.v1 alone carries no token: ?token= is used');
  assert.equal(q.ws.protocol, 'chathub.v1');
  await q.close();
});

test('JWT user id: numeric sub, string user_id, and user_id over sub', async () => {
  const cases = [[{ sub: 2 }, 2], [{ user_id: '2' }, 2], [{ user_id: 2, sub: '3' }, 2], [{ sub: 3, user_id: '1' }, 1]];
  for (const [claims, want] of cases) {
    const c = await connect(hub.wsUrl(`/ws/chat/1/?token=${signJwt(hub.secret, claims)}`));
    assert.equal(c.established.user.id, want, JSON.stringify(claims));
    await c.close();
  }
});

/** A JWT for user 1 with this header, signed with HMAC hash (the secret's). */
function jwtWith(header, hash = 'sha256') {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${enc(header)}.${enc({ user_id: 1, exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  return `${head}.${createHmac(hash, hub.secret).update(head).digest('base64url')}`;
}

test('JWT: HS384, HS512, none, a missing alg, exp null or a string get 401', async () => {
  const cases = {
    // Signed with their own HMAC, and with HS256's: the header's alg must be
    // refused, not ignored in favour of the signature that happens to verify.
    HS384: jwtWith({ alg: 'HS384', typ: 'JWT' }, 'sha384'),
    HS512: jwtWith({ alg: 'HS512', typ: 'JWT' }, 'sha512'),
    'HS384 header, HS256 signature': jwtWith({ alg: 'HS384', typ: 'JWT' }),
    'HS512 header, HS256 signature': jwtWith({ alg: 'HS512', typ: 'JWT' }),
    'none with an HS256 signature': jwtWith({ alg: 'none', typ: 'JWT' }),
    'no alg': jwtWith({ typ: 'JWT' }),
    'exp null': signJwt(hub.secret, { user_id: 1, exp: null }),
    'exp a string': signJwt(hub.secret, { user_id: 1, exp: 'soon' }),
    'exp a digit string': signJwt(hub.secret, { user_id: 1, exp: String(Math.floor(Date.now() / 1000) + 3600) }),
  };
  // The control: the same helper's HS256 token connects, so a 401 above is the claim's.
  assert.equal(await handshakeStatus(hub.wsUrl(`/ws/chat/1/?token=${jwtWith({ alg: 'HS256', typ: 'JWT' })}`)), 101);
  for (const [name, t] of Object.entries(cases)) {
    assert.equal(await handshakeStatus(hub.wsUrl(`/ws/chat/1/?token=${t}`)), 401, name);
  }
  // alg none with an empty signature and a missing exp are held by connect.test.js.
});

test('PUT /users/{id} with is_active:false closes that user\'s open socket with 4401', async () => {
  assert.equal((await user(16)).status, 200);
  assert.equal((await hub.api('PUT', '/rooms/1/participants/16')).status, 200);
  const c = await connect(hub.wsUrl(`/ws/chat/1/?token=${hub.token(16)}`));
  const other = await connect(hub.wsUrl(`/ws/chat/1/?token=${hub.token(2)}`));
  assert.equal((await user(16, false)).status, 200);
  assert.equal(await closeCode(c), 4401);
  other.send({ type: 'ping' });
  assert.equal((await other.next('pong')).type, 'pong', 'another user\'s socket stays open');
  await other.close();
});

test('resume: exactly 1000 missed is whole; 1001 missed is truncated to the newest 1000', { timeout: 60000 }, async () => {
  assert.ok((await room(70, [1, 2])).status < 300);
  const last = await fill(70, 2, 1001);
  const resume = async (lastSeq) => {
    const c = await connect(hub.wsUrl(`/ws/chat/70/?token=${hub.token(1)}&last_seq=${lastSeq}`));
    const deadline = Date.now() + 30000;
    while ((chatSeqs(c).at(-1) ?? 0) < last && Date.now() < deadline) await sleep(20);
    await c.close();
    return c;
  };
  const whole = await resume(last - 1000);
  assert.equal(whole.established.resumed_from, last - 1000);
  assert.equal(whole.established.last_seq, last);
  assert.notEqual(whole.established.resume_truncated, true, 'exactly 1000 missed is not truncated');
  assert.deepEqual(chatSeqs(whole), Array.from({ length: 1000 }, (_, i) => last - 999 + i));
  const cut = await resume(last - 1001);
  assert.equal(cut.established.resumed_from, last - 1001);
  assert.equal(cut.established.resume_truncated, true, '1001 missed is truncated');
  assert.deepEqual(chatSeqs(cut), Array.from({ length: 1000 }, (_, i) => last - 999 + i), 'the newest 1000');
});

test('history frame: limit 500 is capped at 100 with has_more; has_more false at the room\'s start', async () => {
  assert.ok((await room(71, [1, 2])).status < 300);
  const last = await fill(71, 2, 130);
  const c = await connect(hub.wsUrl(`/ws/chat/71/?token=${hub.token(1)}`));
  const page = async (req) => {
    c.send({ type: 'history', ...req });
    const h = await c.next('history');
    assert.equal(h.room_id, 71);
    return [h.messages.map((m) => m.seq), h.has_more];
  };
  const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
  assert.deepEqual(await page({ limit: 500 }), [range(last - 99, last), true], 'limit 500 → the newest 100');
  assert.deepEqual(await page({ before_seq: 11, limit: 100 }), [range(1, 10), false], 'fewer than asked: the start');
  assert.deepEqual(await page({ before_seq: 11, limit: 10 }), [range(1, 10), false], 'exactly up to the start');
  assert.deepEqual(await page({ before_seq: 12, limit: 10 }), [range(2, 11), true], 'one older left');
  await c.close();
});

// Two nodes on one database and a private Redis, started by the first
// multi-node test that needs them.
let cluster = null;
async function twoNodes() {
  if (cluster) return cluster;
  const redis = await startRedis();
  const shared = { database: createDatabase(), redis: redis.url, secret: 'contract-secret', apiKey: 'contract-key' };
  const a = await startHub({ ...shared, nodeId: 'c1' });
  const b = await startHub({ ...shared, nodeId: 'c2', migrate: false });
  cluster = { redis, a, b };
  await seed(a);
  return cluster;
}
async function stopCluster() {
  if (cluster) await stopAll([cluster.a, cluster.b], cluster.redis);
}

/** Until a message from node x's socket reaches node y's socket, both in room 1. */
async function linked(x, y) {
  x.send({ type: 'chat_message', message: 'link', client_id: `link-${Date.now()}-${Math.random()}` });
  const m = await x.next('chat_message');
  await y.next('chat_message', 10000, (f) => f.message.id === m.message.id);
}

test('multi-node: POST /users/{id}/disconnect on one node closes the user\'s sockets on both with 1000', { timeout: 60000 }, async () => {
  const { a, b } = await twoNodes();
  const onA = await connect(a.wsUrl(`/ws/chat/1/?token=${a.token(1)}`));
  const onB = await connect(b.wsUrl(`/ws/chat/1/?token=${b.token(1)}`));
  const bystander = await connect(b.wsUrl(`/ws/chat/1/?token=${b.token(2)}`));
  await linked(onA, bystander);
  const r = await a.api('POST', '/users/1/disconnect');
  assert.ok(r.status >= 200 && r.status < 300, `${r.status} ${r.text}`);
  assert.equal(await closeCode(onA), 1000, 'node A');
  assert.equal(await closeCode(onB), 1000, 'node B');
  bystander.send({ type: 'ping' });
  await bystander.next('pong');
  await bystander.close();
});

test('multi-node: DELETE /tokens/{key} on one node closes that token\'s socket on the other with 4401', { timeout: 60000 }, async () => {
  const { a, b } = await twoNodes();
  const key = await opaque(a, 2);
  const onB = await connect(b.wsUrl(`/ws/chat/1/?token=${key}`));
  assert.equal(onB.established.user.id, 2);
  const onA = await connect(a.wsUrl(`/ws/chat/1/?token=${a.token(3)}`));
  await linked(onA, onB);
  assert.equal((await a.api('DELETE', `/tokens/${key}`)).status, 204);
  assert.equal(await closeCode(onB), 4401);
  await onA.close();
});

test('multi-node: DELETE /rooms/{id}/participants/{user} on one node closes the user\'s socket on the other with 4403', { timeout: 60000 }, async () => {
  const { a, b } = await twoNodes();
  const onB = await connect(b.wsUrl(`/ws/chat/1/?token=${b.token(3)}`));
  const onA = await connect(a.wsUrl(`/ws/chat/1/?token=${a.token(2)}`));
  await linked(onA, onB);
  assert.equal((await a.api('DELETE', '/rooms/1/participants/3')).status, 200);
  assert.equal(await closeCode(onB), 4403);
  await onA.close();
});

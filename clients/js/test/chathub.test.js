// Unit tests of the browser client with a fake WebSocket and fake timers:
// the backoff sequence, the give-up rules, resume, de-duplication, retries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatSocket, backoffDelay, jwtExpired } from '../chathub.js';

class FakeWS {
  static all = [];
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.closed = false;
    FakeWS.all.push(this);
  }
  send(s) { this.sent.push(JSON.parse(s)); }
  close() { this.closed = true; }
  // Test helpers: what the server does.
  frame(f) { this.onmessage?.({ data: JSON.stringify(f) }); }
  drop(code, reason) { this.onclose?.({ code, reason }); }
  static last() { return FakeWS.all.at(-1); }
}

function fakeTimers() {
  const t = { now: 0, queue: [], delays: [] };
  t.setTimeout = (fn, ms) => {
    const x = { fn, at: t.now + ms };
    t.delays.push(ms);
    t.queue.push(x);
    t.queue.sort((p, q) => p.at - q.at);
    return x;
  };
  t.clearTimeout = (x) => { t.queue = t.queue.filter((y) => y !== x); };
  t.runNext = () => { const x = t.queue.shift(); t.now = x.at; x.fn(); };
  return t;
}

// A fetch whose answers the test gives: probe.answer(status) or probe.fail().
function fakeFetch() {
  const f = (url, init) => new Promise((resolve, reject) => f.calls.push({ url, init, resolve, reject }));
  f.calls = [];
  f.answer = (status) => f.calls.at(-1).resolve({ status, body: null });
  f.fail = () => f.calls.at(-1).reject(new TypeError('Failed to fetch'));
  return f;
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

function client(random = () => 0.999999, extra = {}) {
  FakeWS.all = [];
  const timers = fakeTimers();
  const probe = fakeFetch();
  // The link watch (handshake deadline, idle pings) is off unless a test
  // turns it on: its timers would sit among the backoff's.
  const c = new ChatSocket({ url: 'ws://hub', WebSocket: FakeWS, setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout, random, fetch: probe, now: () => timers.now, connectTimeoutMs: 0, pingIntervalMs: 0, ...extra });
  const events = [];
  for (const name of ['state', 'message', 'connection_established', 'connection_lost', 'closed', 'error', 'presence', 'typing', 'read']) {
    c.on(name, (v) => events.push([name, v]));
  }
  return { c, timers, events, probe };
}

const established = (ws, lastSeq = 10, room = 12) => ws.frame({ type: 'connection_established', room_id: room, room: { id: room }, user: { id: 7 }, participants: [], last_seq: lastSeq, resumed_from: null });
const msg = (seq, extra = {}) => ({ type: 'chat_message', message: { id: seq, room_id: 12, seq, sender: { id: 7 }, content: `m${seq}`, created_at: 'x', client_id: null, ...extra } });

test('backoffDelay: full jitter under 1, 2, 4, 8, 16 s, capped at 30 s', () => {
  const top = (n) => backoffDelay(n, () => 0.9999999);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 20].map(top), [999, 1999, 3999, 7999, 15999, 29999, 29999, 29999]);
  assert.equal(backoffDelay(3, () => 0), 0);
  assert.equal(backoffDelay(2, () => 0.5), 2000);
});

test('connect builds the URL with the room and the token; null uses the fallback path', () => {
  const { c } = client();
  c.connect(12, 'tok en');
  assert.equal(FakeWS.last().url, 'ws://hub/ws/chat/12/?token=tok%20en');
  c.switchRoom(null);
  assert.equal(FakeWS.last().url, 'ws://hub/ws/chat?token=tok%20en');
});

test('reconnect delays follow the backoff; connection_lost after 5 failures, retries go on at the cap', () => {
  const { c, timers, events } = client();
  c.connect(12, 't');
  for (let i = 0; i < 8; i++) {
    FakeWS.last().drop(1006);
    timers.runNext();
  }
  assert.deepEqual(timers.delays, [999, 1999, 3999, 7999, 15999, 29999, 29999, 29999]);
  const lost = events.filter(([n]) => n === 'connection_lost');
  assert.equal(lost.length, 1, 'emitted once');
  assert.deepEqual(lost[0][1], { attempts: 5 });
  assert.equal(FakeWS.all.length, 9, 'still retrying');
  assert.equal(c.state, 'reconnecting');
});

test('a room open for 10 s resets the backoff; one closed sooner (1011 at once) keeps it growing', () => {
  const { c, timers, events } = client();
  c.connect(12, 't');
  FakeWS.last().drop(1006);
  timers.runNext();
  FakeWS.last().drop(1006);
  timers.runNext();
  established(FakeWS.last());
  FakeWS.last().drop(1011);
  timers.runNext();
  established(FakeWS.last());
  timers.now += 10000;
  FakeWS.last().drop(1006);
  assert.deepEqual(timers.delays, [999, 1999, 3999, 999]);
  assert.deepEqual(events.filter(([n]) => n === 'connection_lost'), [], 'rooms that opened are not failed attempts');
});

for (const code of [4401, 4403, 4404]) {
  test(`no reconnect after ${code}: a closed event with the code`, () => {
    const { c, timers, events } = client();
    c.connect(12, 't');
    established(FakeWS.last());
    FakeWS.last().drop(code);
    assert.equal(timers.queue.length, 0);
    assert.equal(c.state, 'closed');
    assert.deepEqual(events.filter(([n]) => n === 'closed').map(([, v]) => v), [{ code }]);
  });
}

test('1012 (node draining): reconnect at once with up to a second of jitter, resuming', () => {
  const { c, timers } = client(() => 0.5);
  c.connect(12, 't');
  established(FakeWS.last(), 10);
  FakeWS.last().frame(msg(11));
  FakeWS.last().drop(1012);
  assert.deepEqual(timers.delays, [500]);
  timers.runNext();
  assert.equal(FakeWS.last().url, 'ws://hub/ws/chat/12/?token=t&last_seq=11');
});

test('messages reach the app once per seq and in order; repeats after a resume are dropped', () => {
  const { c, timers, events } = client();
  c.connect(12, 't');
  established(FakeWS.last(), 10);
  FakeWS.last().frame(msg(11));
  FakeWS.last().frame(msg(12));
  FakeWS.last().frame(msg(12));
  FakeWS.last().drop(1006);
  timers.runNext();
  assert.match(FakeWS.last().url, /last_seq=12$/);
  established(FakeWS.last(), 14);
  FakeWS.last().frame(msg(11));
  FakeWS.last().frame(msg(13));
  FakeWS.last().frame(msg(14));
  assert.deepEqual(events.filter(([n]) => n === 'message').map(([, m]) => m.seq), [11, 12, 13, 14]);
  assert.equal(c.lastSeq, 14);
});

test('send: a client_id, resent after a reconnect until the server returns the object', () => {
  const { c, timers, events } = client();
  c.connect(12, 't');
  const id = c.send('early'); // not open yet: queued
  assert.equal(FakeWS.last().sent.length, 0);
  established(FakeWS.last());
  assert.deepEqual(FakeWS.last().sent, [{ type: 'chat_message', message: 'early', client_id: id }]);
  FakeWS.last().drop(1006);
  timers.runNext();
  established(FakeWS.last());
  assert.deepEqual(FakeWS.last().sent, [{ type: 'chat_message', message: 'early', client_id: id }], 'retried with the same client_id');
  FakeWS.last().frame(msg(11, { client_id: id, content: 'early' }));
  FakeWS.last().drop(1006);
  timers.runNext();
  established(FakeWS.last(), 11);
  assert.deepEqual(FakeWS.last().sent, [], 'acknowledged: not sent again');
  assert.equal(events.filter(([n]) => n === 'message')[0][1].client_id, id);
});

test('a send refused for good is forgotten; unavailable is retried', () => {
  const { c, timers } = client();
  c.connect(12, 't');
  established(FakeWS.last());
  const big = c.send('x'.repeat(10));
  const busy = c.send('later');
  FakeWS.last().frame({ type: 'error', code: 'too_large', message: 'm', client_id: big });
  FakeWS.last().frame({ type: 'error', code: 'unavailable', message: 'm', client_id: busy });
  FakeWS.last().drop(1006);
  timers.runNext();
  established(FakeWS.last());
  assert.deepEqual(FakeWS.last().sent.map((f) => f.client_id), [busy]);
});

test('typing, markRead, history and the other events', async () => {
  const { c, events } = client();
  c.connect(12, 't');
  c.markRead(8);
  c.markRead(7);
  const early = c.history({ limit: 1 });
  assert.deepEqual(FakeWS.last().sent, [], 'nothing goes before the room is open');
  established(FakeWS.last());
  const eid = FakeWS.last().sent[1]?.client_id;
  assert.deepEqual(FakeWS.last().sent, [{ type: 'mark_read', seq: 8 }, { type: 'history', client_id: eid, limit: 1 }],
    'the newest markRead and the history asked while connecting go once it is open');
  FakeWS.last().frame({ type: 'history', room_id: 12, messages: [msg(10).message], has_more: true, client_id: eid });
  assert.deepEqual(await early, { room_id: 12, messages: [msg(10).message], has_more: true, hasMore: true });
  FakeWS.last().sent.length = 0;
  c.typing(true);
  c.markRead(10);
  const page = c.history({ beforeSeq: 5, limit: 2 });
  const sent = FakeWS.last().sent;
  const hid = sent[2].client_id;
  assert.match(hid, /^h-/, 'a history request carries its own client_id');
  assert.deepEqual(sent, [
    { type: 'typing', is_typing: true }, { type: 'mark_read', seq: 10 },
    { type: 'history', client_id: hid, before_seq: 5, limit: 2 },
  ]);
  FakeWS.last().frame({ type: 'history', room_id: 12, messages: [msg(3).message, msg(4).message], has_more: true, client_id: hid });
  assert.deepEqual((await page).messages.map((m) => m.seq), [3, 4]);
  FakeWS.last().frame({ type: 'presence', room_id: 12, event: 'join', user: { id: 9 }, online: [7, 9] });
  FakeWS.last().frame({ type: 'typing', room_id: 12, user: { id: 9 }, is_typing: true });
  FakeWS.last().frame({ type: 'read', room_id: 12, user_id: 9, seq: 10 });
  assert.deepEqual(events.filter(([n]) => ['presence', 'typing', 'read'].includes(n)).map(([n]) => n), ['presence', 'typing', 'read']);
  assert.deepEqual(events.filter(([n]) => n === 'state').map(([, s]) => s), ['connecting', 'open']);
  c.disconnect();
  await assert.rejects(c.history(), /not connected/, 'after disconnect() a history rejects at once');
});

test('connect(null, newToken) after the fallback resolved: the same room, resumed, its sends kept', () => {
  const { c, events } = client();
  c.connect(null, 't1');
  established(FakeWS.last(), 10, 12);
  FakeWS.last().frame(msg(11));
  const id = c.send('kept');
  c.connect(null, 't2');
  assert.equal(FakeWS.last().url, 'ws://hub/ws/chat/12/?token=t2&last_seq=11');
  established(FakeWS.last(), 12, 12);
  assert.deepEqual(FakeWS.last().sent, [{ type: 'chat_message', message: 'kept', client_id: id }]);
  FakeWS.last().frame(msg(12));
  assert.deepEqual(events.filter(([n]) => n === 'message').map(([, m]) => m.seq), [11, 12]);
  c.connect('general', 't2');
  assert.equal(FakeWS.last().url, 'ws://hub/ws/chat/general/?token=t2', 'another room asked for: no resume');
});

test('a state handler that disconnects on open: no connection_established after closed', () => {
  const { c, events } = client();
  c.on('state', (s) => { if (s === 'open') c.disconnect(); });
  c.connect(12, 't');
  established(FakeWS.last());
  assert.deepEqual(events.filter(([n]) => n === 'state' || n === 'connection_established').map(([n, v]) => (n === 'state' ? v : n)),
    ['connecting', 'open', 'closed']);
});

test('a send made by a connection_established handler goes once', () => {
  const { c } = client();
  c.connect(12, 't');
  const early = c.send('early');
  let late;
  c.on('connection_established', () => { late = c.send('late'); });
  established(FakeWS.last());
  assert.deepEqual(FakeWS.last().sent.map((f) => f.client_id), [late, early]);
});

test('a history asked while reconnecting waits through failed attempts and goes once the room is open', async () => {
  const { c, timers } = client();
  c.connect(12, 't');
  established(FakeWS.last());
  const carried = c.history({ limit: 1 });
  FakeWS.last().drop(1006);
  await assert.rejects(carried, /closed 1006/, 'a request the dropped socket carried is lost with it');
  const waiting = c.history({ limit: 2 });
  timers.runNext();
  FakeWS.last().drop(1006);
  timers.runNext();
  established(FakeWS.last());
  const h = FakeWS.last().sent.find((f) => f.type === 'history');
  assert.equal(h.limit, 2);
  FakeWS.last().frame({ type: 'history', room_id: 12, messages: [], has_more: false, client_id: h.client_id });
  assert.equal((await waiting).has_more, false);
});

test('switchRoom closes the old socket, forgets the old room, and connects to the new one', () => {
  const { c, events } = client();
  c.connect(12, 't');
  established(FakeWS.last(), 10);
  const old = FakeWS.last();
  events.length = 0;
  c.switchRoom(13);
  assert.equal(old.closed, true);
  assert.equal(FakeWS.last().url, 'ws://hub/ws/chat/13/?token=t');
  assert.equal(c.lastSeq, null);
  assert.deepEqual(events, [['state', 'connecting']], 'straight to connecting, no closed in between');
});

test('a room whose seq is behind what the client holds is believed: its next messages are not dropped', () => {
  const { c, events, timers } = client();
  c.connect(12, 't');
  established(FakeWS.last(), 30);
  FakeWS.last().drop(1006);
  timers.runNext(); // the retry
  assert.match(FakeWS.last().url, /last_seq=30/);
  established(FakeWS.last(), 20); // the room restarted lower than the 30 the client held
  FakeWS.last().frame(msg(21));
  assert.deepEqual(events.filter(([n]) => n === 'message').map(([, m]) => m.seq), [21]);
});

test('connect() again replaces the socket: never two open, no retry left behind', () => {
  const { c, timers } = client();
  c.connect(12, 't');
  established(FakeWS.last(), 10);
  const first = FakeWS.last();
  c.connect(13);
  assert.equal(first.closed, true, 'the first socket is closed');
  first.drop(1000); // its close event, after the fact, schedules nothing
  assert.equal(timers.queue.length, 0);
  const second = FakeWS.last();
  second.drop(1006); // the second one drops: one retry is scheduled
  assert.equal(timers.queue.length, 1);
  c.connect(14, 't2'); // called while reconnecting: the retry is cancelled
  assert.equal(timers.queue.length, 0);
  assert.equal(FakeWS.all.length, 3);
  assert.equal(FakeWS.last().url, 'ws://hub/ws/chat/14/?token=t2');
});

const NOW_MS = Date.UTC(2026, 10, 22, 10, 0, 0);
const b64url = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (claims) => `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(claims)}.c2ln`;
const closedEvents = (events) => events.filter(([n]) => n === 'closed').map(([, v]) => v);

// The hub refused the user (removed, deactivated, token revoked): the sends
// it had not answered stayed pending with no event, and went out as soon as
// the app connected again as the user added back or with a new token.
for (const [code, token] of [[4403, 't'], [4404, 't'], [4401, 'a'.repeat(40)], [4401, jwt({ user_id: 2, exp: NOW_MS / 1000 + 3600 })]]) {
  test(`pending sends end after ${code} (${token.length === 40 ? 'opaque token' : token === 't' ? 'any token' : 'a JWT far from its exp'}), and a later connect sends none of them`, () => {
    const { c, events } = client(() => 0.999999, { now: () => NOW_MS, rateBurst: 1, rateLimit: 10 });
    c.connect(12, token);
    established(FakeWS.last(), 5);
    const carried = c.send('carried');
    const held = c.send('held by the rate');
    c.markRead(5);
    FakeWS.last().drop(code);
    assert.deepEqual(events.filter(([n]) => n === 'closed' || n === 'error').map(([n, v]) => [n, v.code, v.client_id]),
      [['closed', code, undefined], ['error', 'unconfirmed', carried], ['error', 'cancelled', held]]);
    c.connect(12, token);
    established(FakeWS.last(), 5);
    assert.deepEqual(FakeWS.last().sent.filter((f) => f.type === 'chat_message' || f.type === 'mark_read'), []);
  });
}

test('a JWT\'s expiry (the hub\'s close says token_expired) keeps the pending sends for the app\'s new token, whatever the clocks', () => {
  const { c, events } = client(() => 0.999999, { now: () => NOW_MS });
  c.connect(12, jwt({ user_id: 2, exp: NOW_MS / 1000 + 900 })); // the client's clock 15 min behind
  established(FakeWS.last(), 5);
  const id = c.send('typed before the expiry');
  FakeWS.last().drop(4401, 'token_expired');
  assert.deepEqual(events.filter(([n]) => n === 'error'), []);
  c.connect(12, jwt({ user_id: 2, exp: NOW_MS / 1000 + 3600 }));
  established(FakeWS.last(), 5);
  assert.deepEqual(FakeWS.last().sent.filter((f) => f.type === 'chat_message').map((f) => f.client_id), [id]);
});

test('a deactivation\'s 4401 ends the pending sends even when the JWT is near its exp', () => {
  const { c, events } = client(() => 0.999999, { now: () => NOW_MS });
  c.connect(12, jwt({ user_id: 2, exp: NOW_MS / 1000 + 60 }));
  established(FakeWS.last(), 5);
  const id = c.send('typed before the deactivation');
  FakeWS.last().drop(4401, 'unauthorized');
  assert.deepEqual(events.filter(([n]) => n === 'error').map(([, v]) => [v.code, v.client_id]), [['unconfirmed', id]]);
});

test('jwtExpired: only a JWT whose exp is past by more than the hub\'s largest leeway', () => {
  const now = NOW_MS / 1000;
  assert.equal(jwtExpired(jwt({ user_id: 1, exp: now - 3600 }), NOW_MS), true);
  assert.equal(jwtExpired(jwt({ user_id: 1, exp: now - 300 }), NOW_MS), true);
  assert.equal(jwtExpired(jwt({ user_id: 1, exp: now - 299 }), NOW_MS), false, 'a hub with 300 s leeway still takes it');
  assert.equal(jwtExpired(jwt({ user_id: 1, exp: now + 600 }), NOW_MS), false);
  assert.equal(jwtExpired(jwt({ user_id: 1 }), NOW_MS), false, 'no exp: the hub decides');
  assert.equal(jwtExpired('0123456789abcdef0123456789abcdef01234567', NOW_MS), false, 'opaque token');
  assert.equal(jwtExpired('garbage.token.here', NOW_MS), false, 'unreadable payload: the hub decides');
});

test('an expired JWT: closed 4401 at connect, no socket opened', () => {
  const { c, timers, events } = client(undefined, { now: () => NOW_MS });
  c.connect(12, jwt({ user_id: 7, exp: NOW_MS / 1000 - 3600 }));
  assert.equal(FakeWS.all.length, 0);
  assert.equal(timers.queue.length, 0);
  assert.equal(c.state, 'closed');
  assert.deepEqual(closedEvents(events), [{ code: 4401, reason: 'token_expired' }]);
});

test('a JWT that expires while reconnecting: closed 4401 before the next socket', () => {
  let now = NOW_MS;
  const { c, timers, events } = client(undefined, { now: () => now });
  c.connect(12, jwt({ user_id: 7, exp: NOW_MS / 1000 + 60 }));
  established(FakeWS.last());
  FakeWS.last().drop(1006);
  now += 3600 * 1000;
  timers.runNext();
  assert.equal(FakeWS.all.length, 1, 'no second socket');
  assert.equal(c.state, 'closed');
  assert.deepEqual(closedEvents(events), [{ code: 4401, reason: 'token_expired' }]);
});

test('a valid JWT and an opaque token connect', () => {
  const { c } = client(undefined, { now: () => NOW_MS });
  c.connect(12, jwt({ user_id: 7, exp: NOW_MS / 1000 + 600 }));
  assert.equal(FakeWS.all.length, 1);
  c.disconnect();
  c.connect(12, '0123456789abcdef0123456789abcdef01234567');
  assert.equal(FakeWS.all.length, 2);
});

test('a close before opening probes the URL over HTTP; a 401 answer: closed 4401, no retry', async () => {
  const { c, timers, events, probe } = client();
  c.connect(12, 'dead');
  FakeWS.last().drop(1006);
  assert.equal(probe.calls.length, 1);
  assert.equal(probe.calls[0].url, 'http://hub/ws/chat/12/?token=dead');
  probe.answer(401);
  await settle();
  assert.equal(timers.queue.length, 0, 'the scheduled retry is cancelled');
  assert.equal(c.state, 'closed');
  assert.deepEqual(closedEvents(events), [{ code: 4401, reason: 'unauthorized' }]);
  assert.equal(FakeWS.all.length, 1);
});

test('a probe answering 404 (a room id the hub cannot serve): closed 4404, no retry', async () => {
  const { c, timers, events, probe } = client();
  c.connect('abc', 't');
  FakeWS.last().drop(1006);
  assert.equal(probe.calls[0].url, 'http://hub/ws/chat/abc/?token=t');
  probe.answer(404);
  await settle();
  assert.equal(timers.queue.length, 0);
  assert.deepEqual(closedEvents(events), [{ code: 4404, reason: 'not_found' }]);
});

test('a fresh token given while reconnecting is not stopped by the old attempt\'s 401', async () => {
  const { c, events, probe } = client();
  c.connect(12, 'dead');
  c.on('state', (s) => { if (s === 'reconnecting' && c.token === 'dead') c.connect(12, 'fresh'); });
  FakeWS.last().drop(1006);
  assert.equal(probe.calls.length, 1, 'the failed attempt is probed');
  probe.answer(401);
  await settle();
  assert.deepEqual(closedEvents(events), []);
  assert.equal(c.state, 'connecting');
  assert.equal(FakeWS.last().url, 'ws://hub/ws/chat/12/?token=fresh');
  established(FakeWS.last());
  assert.equal(c.state, 'open');
});

test('wss probes over https', () => {
  FakeWS.all = [];
  const probe = fakeFetch();
  const c = new ChatSocket({ url: 'wss://chat.example', WebSocket: FakeWS, setTimeout: () => 1, clearTimeout: () => {}, fetch: probe });
  c.connect(3, 't');
  FakeWS.last().drop(1006);
  assert.equal(probe.calls[0].url, 'https://chat.example/ws/chat/3/?token=t');
});

for (const [name, finish] of [['426', (p) => p.answer(426)], ['a network error', (p) => p.fail()]]) {
  test(`a probe answering ${name} leaves the backoff retrying`, async () => {
    const { c, timers, events, probe } = client();
    c.connect(12, 't');
    FakeWS.last().drop(1006);
    finish(probe);
    await settle();
    assert.deepEqual(timers.delays, [999]);
    timers.runNext();
    assert.equal(FakeWS.all.length, 2, 'reconnected');
    assert.equal(c.state, 'reconnecting');
    assert.deepEqual(closedEvents(events), []);
  });
}

test('no probe after a socket that opened, after other codes, or without fetch', () => {
  const { c, timers, probe } = client();
  c.connect(12, 't');
  established(FakeWS.last());
  FakeWS.last().drop(1006);
  timers.runNext();
  FakeWS.last().drop(1011);
  assert.equal(probe.calls.length, 0);
  const bare = client(undefined, { fetch: null });
  bare.c.connect(12, 't');
  FakeWS.last().drop(1006);
  assert.deepEqual(bare.timers.delays, [999], 'retries as before');
});

test('a history answered by an error frame is rejected with its code; the next one resolves', async () => {
  const { c, events } = client();
  c.connect(12, 't');
  established(FakeWS.last());
  const first = c.history({ limit: 5 });
  const second = c.history({ beforeSeq: 3 });
  const [id1, id2] = FakeWS.last().sent.map((f) => f.client_id);
  assert.notEqual(id1, id2);
  FakeWS.last().frame({ type: 'error', code: 'rate_limited', message: 'slow down', client_id: id1 });
  await assert.rejects(first, (e) => e.code === 'rate_limited');
  FakeWS.last().frame({ type: 'history', room_id: 12, messages: [msg(2).message], has_more: false, client_id: id2 });
  assert.deepEqual(await second, { room_id: 12, messages: [msg(2).message], has_more: false, hasMore: false });
  const third = c.history();
  FakeWS.last().frame({ type: 'history', room_id: 12, messages: [msg(9).message], has_more: true });
  assert.deepEqual((await third).messages.map((m) => m.seq), [9], 'an answer naming no request is the oldest\'s');
  assert.equal(events.filter(([n]) => n === 'error').length, 1, 'still an error event');
});

test('an error without client_id (a failed markRead) does not answer a pending history', async () => {
  const { c, events } = client();
  c.connect(12, 't');
  established(FakeWS.last());
  c.markRead(99);
  const page = c.history();
  const hid = FakeWS.last().sent[1].client_id;
  FakeWS.last().frame({ type: 'error', code: 'bad_request', message: 'seq is beyond the room\'s last message' });
  FakeWS.last().frame({ type: 'history', room_id: 12, messages: [msg(1).message], has_more: false, client_id: hid });
  assert.deepEqual((await page).messages.map((m) => m.seq), [1]);
  assert.equal(events.filter(([n]) => n === 'error').length, 1);
});

test('answers out of request order reach their own requests', async () => {
  const { c } = client();
  c.connect(12, 't');
  established(FakeWS.last());
  const a = c.history({ limit: 1 });
  const b = c.history({ limit: 2 });
  const [ida, idb] = FakeWS.last().sent.map((f) => f.client_id);
  FakeWS.last().frame({ type: 'history', room_id: 12, messages: [msg(5).message], has_more: true, client_id: idb });
  FakeWS.last().frame({ type: 'error', code: 'unavailable', message: 'm', client_id: ida });
  assert.deepEqual((await b).messages.map((m) => m.seq), [5]);
  await assert.rejects(a, (e) => e.code === 'unavailable');
});

test('a send\'s error (with client_id) does not answer a pending history', async () => {
  const { c } = client();
  c.connect(12, 't');
  established(FakeWS.last());
  const id = c.send('x');
  const page = c.history();
  FakeWS.last().frame({ type: 'error', code: 'too_large', message: 'm', client_id: id });
  FakeWS.last().frame({ type: 'history', room_id: 12, messages: [], has_more: false });
  assert.deepEqual(await page, { room_id: 12, messages: [], has_more: false, hasMore: false });
});

// What an audit of the client against PROTOCOL.md §5 and §7 found.

test('connection_lost after 5 failed attempts: the drop of an open room is not one', () => {
  const { c, timers, events } = client();
  c.connect(12, 't');
  established(FakeWS.last());
  FakeWS.last().drop(1006);
  for (let i = 0; i < 4; i++) {
    timers.runNext();
    FakeWS.last().drop(1006);
  }
  assert.equal(events.filter(([n]) => n === 'connection_lost').length, 0, 'four failed attempts');
  timers.runNext();
  FakeWS.last().drop(1006);
  assert.deepEqual(events.filter(([n]) => n === 'connection_lost').map(([, v]) => v), [{ attempts: 5 }]);
});

test('a handler that switches rooms or disconnects on connection_lost or state leaves no second socket or retry', () => {
  for (const act of ['switch', 'disconnect']) {
    const { c, timers } = client();
    c.connect(12, 't');
    c.on('connection_lost', () => (act === 'switch' ? c.switchRoom(13) : c.disconnect()));
    for (let i = 0; i < 5; i++) {
      FakeWS.last().drop(1006);
      if (i < 4) timers.runNext();
    }
    if (act === 'switch') {
      assert.equal(FakeWS.all.length, 6, 'five attempts, then the new room\'s socket alone');
      assert.equal(FakeWS.last().url, 'ws://hub/ws/chat/13/?token=t');
      assert.equal(c.state, 'connecting');
    } else {
      assert.equal(c.state, 'closed');
    }
    assert.equal(timers.queue.length, 0, `${act}: no retry left behind`);
  }
});

test('4429: reconnect after a pause of at least 5 s, resuming', () => {
  const { c, timers } = client(() => 0);
  c.connect(12, 't');
  established(FakeWS.last(), 10);
  FakeWS.last().drop(4429);
  assert.deepEqual(timers.delays, [5000]);
  timers.runNext();
  assert.equal(FakeWS.last().url, 'ws://hub/ws/chat/12/?token=t&last_seq=10');
});

test('unavailable on a live socket: the send goes again after a backoff, with its client_id', () => {
  const { c, timers } = client(() => 0.5);
  c.connect(12, 't');
  established(FakeWS.last());
  const ws = FakeWS.last();
  const id = c.send('hello');
  ws.frame({ type: 'error', code: 'unavailable', message: 'store down', client_id: id });
  assert.deepEqual(timers.delays, [500]);
  timers.runNext();
  assert.deepEqual(ws.sent.map((f) => f.client_id), [id, id], 'sent again on the same socket');
  ws.frame({ type: 'error', code: 'rate_limited', message: 'slow', client_id: id });
  assert.equal(timers.delays.at(-1), 1000, 'rate_limited waits at least a second');
  timers.runNext();
  ws.frame(msg(11, { client_id: id }));
  assert.equal(c.pending.size, 0, 'the object came back: nothing pending');
});

test('a send over maxMessageBytes is refused here with too_large, never sent', () => {
  const { c, events } = client(undefined, { maxMessageBytes: 100 });
  c.connect(12, 't');
  established(FakeWS.last());
  const id = c.send('é'.repeat(60));
  assert.deepEqual(FakeWS.last().sent, []);
  assert.deepEqual(events.filter(([n]) => n === 'error').map(([, e]) => [e.code, e.client_id]), [['too_large', id]]);
  assert.equal(c.pending.size, 0);
  c.send('short');
  assert.equal(FakeWS.last().sent.length, 1);
});

test('1009 (the hub\'s limit is under maxMessageBytes): the biggest send the socket carried ends with too_large, the rest go again', () => {
  const { c, timers, events } = client();
  const tooLarge = () => events.filter(([n, e]) => n === 'error' && e.code === 'too_large').map(([, e]) => e.client_id);
  c.connect(12, 't');
  established(FakeWS.last());
  const small = c.send('hello');
  const big = c.send('x'.repeat(10000));
  const bigger = c.send('y'.repeat(20000));
  assert.equal(FakeWS.last().sent.length, 3);
  // Past twice its limit the hub closes without a too_large naming the send,
  // at the first one over it: which one that was is unknown, but it was no
  // bigger than the biggest carried.
  FakeWS.last().drop(1009);
  assert.deepEqual(tooLarge(), [bigger]);
  timers.runNext();
  established(FakeWS.last());
  assert.deepEqual(FakeWS.last().sent.map((f) => f.client_id), [small, big], 'the others go again');
  FakeWS.last().drop(1009);
  assert.deepEqual(tooLarge(), [bigger, big]);
  timers.runNext();
  established(FakeWS.last());
  assert.deepEqual(FakeWS.last().sent.map((f) => f.client_id), [small]);
  // Later sends over what the hub refused are refused here.
  const later = c.send('z'.repeat(12000));
  assert.equal(FakeWS.last().sent.length, 1);
  assert.deepEqual(tooLarge(), [bigger, big, later]);
  c.send('fine');
  assert.equal(FakeWS.last().sent.length, 2);
});

test('frames that are not objects, or a chat_message without one, are ignored', () => {
  const { c, events } = client();
  c.connect(12, 't');
  established(FakeWS.last());
  for (const data of ['null', '7', '"x"', '[]', '{"type":"chat_message"}', '{"type":"chat_message","message":null}']) {
    FakeWS.last().onmessage({ data });
  }
  FakeWS.last().frame(msg(11));
  assert.deepEqual(events.filter(([n]) => n === 'message').map(([, m]) => m.seq), [11]);
});

test('sends before connect go to the first room; a room id given as a string is that room', () => {
  const { c } = client();
  const id = c.send('early');
  c.connect('12', 't');
  assert.equal(FakeWS.last().url, 'ws://hub/ws/chat/12/?token=t');
  established(FakeWS.last(), 10);
  assert.deepEqual(FakeWS.last().sent.map((f) => f.client_id), [id]);
  FakeWS.last().frame(msg(11));
  c.connect('12', 't2'); // a new token, the same room: resume, keep what is pending
  assert.equal(FakeWS.last().url, 'ws://hub/ws/chat/12/?token=t2&last_seq=11');
  assert.equal(c.pending.size, 1);
  c.switchRoom(13);
  assert.equal(c.pending.size, 0, 'another room: the old room\'s sends go');
});

test('a socket closed while connecting keeps an error listener (Node\'s ws emits one)', () => {
  const { c } = client();
  c.connect(12, 't');
  const ws = FakeWS.last();
  c.switchRoom(13);
  assert.equal(typeof ws.onerror, 'function');
  assert.doesNotThrow(() => ws.onerror(new Error('closed before the connection was established')));
});

test('a burst of sends is paced under the hub\'s rate: 36 at once, then one per 56 ms', () => {
  const { c, timers } = client();
  c.connect(12, 't');
  established(FakeWS.last());
  const ws = FakeWS.last();
  const ids = Array.from({ length: 80 }, (_, i) => c.send(`burst ${i}`));
  assert.equal(ws.sent.length, 36, 'the burst, a little under the hub\'s 40');
  assert.deepEqual(timers.delays, [56], 'the next frame waits for the next token (1000 / 18 ms)');
  while (timers.queue.length > 0) timers.runNext();
  assert.deepEqual(ws.sent.map((f) => f.client_id), ids, 'all of them, once each, in order');
  assert.ok(timers.now >= (80 - 36) * (1000 / 18) - 1, `no faster than 18/s (${timers.now} ms)`);
});

test('waiting typing and mark_read frames: only the newest of each goes', () => {
  const { c, timers } = client(undefined, { rateBurst: 1, rateLimit: 10 });
  c.connect(12, 't');
  established(FakeWS.last());
  const ws = FakeWS.last();
  c.send('first'); // the one token
  c.typing(true);
  c.markRead(3);
  c.typing(false);
  c.markRead(5);
  while (timers.queue.length > 0) timers.runNext();
  assert.deepEqual(ws.sent.map((f) => [f.type, f.is_typing ?? f.seq ?? f.message]),
    [['chat_message', 'first'], ['typing', false], ['mark_read', 5]]);
});

test('a reconnect sends what was pending under the rate too, and frames waiting for a dead socket never go', () => {
  const { c, timers } = client();
  c.connect(12, 't');
  established(FakeWS.last());
  for (let i = 0; i < 50; i++) c.send(`m${i}`);
  const first = FakeWS.last();
  assert.equal(first.sent.length, 36);
  first.drop(1006);
  while (timers.queue.length > 0 && FakeWS.all.length === 1) timers.runNext();
  assert.equal(first.sent.length, 36, 'nothing more on the dead socket');
  const second = FakeWS.last();
  established(second);
  assert.equal(second.sent.length, 36, 'the reconnect carries the pending sends at the same pace');
  while (timers.queue.length > 0) timers.runNext();
  assert.equal(second.sent.length, 50);
});

test('sends left when connect() moves to another room end with an error: cancelled if no socket carried them, else unconfirmed', () => {
  const { c, events } = client();
  c.connect(12, 't');
  established(FakeWS.last());
  const taken = c.send('taken');
  const carried = c.send('carried, no answer');
  const refused = c.send('refused');
  FakeWS.last().frame(msg(11, { client_id: taken }));
  FakeWS.last().frame({ type: 'error', code: 'unavailable', message: 'store down', client_id: refused });
  FakeWS.last().drop(1006);
  const unsent = c.send('made while reconnecting');
  c.switchRoom(13);
  const local = events.filter(([n, e]) => n === 'error' && ['cancelled', 'unconfirmed'].includes(e.code));
  assert.deepEqual(local.map(([, e]) => [e.code, e.client_id]),
    [['unconfirmed', carried], ['cancelled', refused], ['cancelled', unsent]]);
  assert.equal(c.pending.size, 0);
});

test('a rate_limited answer halves the pace, down to one frame a second', () => {
  const { c, timers } = client(undefined, { rateLimit: 20, rateBurst: 40 });
  c.connect(12, 't');
  established(FakeWS.last());
  const ws = FakeWS.last();
  const id = c.send('x');
  ws.frame({ type: 'error', code: 'rate_limited', message: 'slow', client_id: id });
  assert.equal(c.rateLimit, 9, 'half of 18');
  for (let i = 0; i < 10; i++) ws.frame({ type: 'error', code: 'rate_limited', message: 'slow' });
  assert.equal(c.rateLimit, 9, 'one burst refused ten times over halves it once');
  for (let i = 0; i < 10; i++) {
    timers.now += 1000;
    ws.frame({ type: 'error', code: 'rate_limited', message: 'slow' });
  }
  assert.deepEqual([c.rateLimit, c.rateBurst], [1, 1]);
  const before = ws.sent.length;
  c.send('a');
  c.send('b');
  assert.equal(ws.sent.length, before, 'nothing until a token comes back');
  while (timers.queue.length > 0 && ws.sent.length === before) timers.runNext();
  assert.ok(ws.sent.length > before);
});

test('a markRead and a history page still waiting for the rate when the socket goes are sent on the next one', async () => {
  const { c, timers } = client(undefined, { rateBurst: 1, rateLimit: 10 });
  c.connect(12, 't');
  established(FakeWS.last());
  c.send('takes the one token');
  c.markRead(10);
  const page = c.history({ limit: 5 });
  const first = FakeWS.last();
  assert.deepEqual(first.sent.map((f) => f.type), ['chat_message'], 'the rest waits');
  first.drop(1006);
  timers.runNext(); // the reconnect
  const second = FakeWS.last();
  assert.notEqual(second, first);
  established(second);
  while (timers.queue.length > 0) timers.runNext();
  const types = second.sent.map((f) => f.type);
  assert.ok(types.includes('mark_read') && types.includes('history'), `sent again: ${types}`);
  const h = second.sent.find((f) => f.type === 'history');
  second.frame({ type: 'history', room_id: 12, messages: [], has_more: false, client_id: h.client_id });
  assert.deepEqual((await page).messages, [], 'the page resolves from the new socket');
});

test('a token refresh keeps a history page no socket carried yet', async () => {
  const { c, timers } = client(undefined, { rateBurst: 1, rateLimit: 10 });
  c.connect(12, 't');
  established(FakeWS.last());
  c.send('takes the one token');
  const page = c.history();
  c.connect(12, 't2');
  established(FakeWS.last());
  while (timers.queue.length > 0) timers.runNext();
  const h = FakeWS.last().sent.find((f) => f.type === 'history');
  assert.ok(h, 'sent on the new socket');
  FakeWS.last().frame({ type: 'history', room_id: 12, messages: [], has_more: false, client_id: h.client_id });
  assert.equal((await page).has_more, false);
});

// ---- the link watch: a handshake deadline, idle pings, a dead link replaced ----

const watching = { connectTimeoutMs: 15000, pingIntervalMs: 25000, pongTimeoutMs: 10000 };

test('a handshake that brings no connection_established in 15 s is a failed attempt, retried', () => {
  const { c, timers, events } = client(() => 0.999999, watching);
  c.connect(12, 't');
  const first = FakeWS.last();
  for (let i = 0; i < 5; i++) {
    timers.runNext(); // the deadline
    assert.equal(FakeWS.last().closed, true, 'the stalled socket is closed');
    assert.equal(c.state, 'reconnecting');
    timers.runNext(); // the retry
  }
  assert.equal(FakeWS.all.length, 6);
  assert.equal(timers.now, 5 * 15000 + 999 + 1999 + 3999 + 7999 + 15999);
  assert.deepEqual(events.filter(([n]) => n === 'connection_lost').map(([, v]) => v), [{ attempts: 5 }]);
  first.drop(1006); // the stalled socket's close, long after: ignored
  assert.equal(FakeWS.all.length, 6);
});

test('a silent room gets a ping after 25 s; any frame within 10 s keeps the socket', () => {
  const { c, timers } = client(() => 0.999999, watching);
  c.connect(12, 't');
  const ws = FakeWS.last();
  established(ws);
  timers.runNext();
  assert.equal(timers.now, 25000);
  assert.deepEqual(ws.sent.at(-1), { type: 'ping' });
  timers.now += 3000;
  ws.frame({ type: 'pong' });
  timers.runNext(); // the ping's deadline: answered, back to waiting for silence
  assert.equal(ws.closed, false);
  assert.equal(c.state, 'open');
  timers.runNext();
  assert.equal(timers.now, 28000 + 25000, 'the next ping 25 s after the pong');
  assert.equal(ws.sent.filter((f) => f.type === 'ping').length, 2);
});

test('a ping with no frame back in 10 s: the socket is dead, replaced at once, resuming', () => {
  const { c, timers, events } = client(() => 0, watching);
  c.connect(12, 't');
  const ws = FakeWS.last();
  established(ws, 10);
  ws.frame(msg(11));
  const sent = c.send('queued on a dead link');
  timers.runNext(); // ping
  timers.runNext(); // no answer
  assert.equal(ws.closed, true);
  assert.equal(c.state, 'reconnecting');
  timers.runNext(); // the retry (jitter 0)
  assert.equal(FakeWS.all.length, 2);
  assert.match(FakeWS.last().url, /last_seq=11/);
  established(FakeWS.last(), 11);
  assert.deepEqual(FakeWS.last().sent.filter((f) => f.type === 'chat_message').map((f) => f.client_id), [sent], 'the pending send goes again');
  assert.deepEqual(events.filter(([n]) => n === 'connection_lost'), [], 'an open room that died is not a failed attempt');
});

test("a timer that fires late (a background tab) sends a ping before taking a quiet room for dead", () => {
  const { c, timers } = client(() => 0.999999, watching);
  c.connect(12, 't');
  const ws = FakeWS.last();
  established(ws);
  const check = timers.queue[0];
  check.at = 300000; // throttled for five minutes
  timers.runNext();
  assert.equal(ws.closed, false, 'silence alone is not death');
  assert.deepEqual(ws.sent.at(-1), { type: 'ping' });
});

test('an error before the socket opened ends the attempt even with no close event after it', () => {
  const { c, timers, probe } = client(() => 0.999999, watching);
  c.connect(12, 't');
  FakeWS.last().onerror();
  assert.equal(c.state, 'reconnecting');
  assert.equal(probe.calls.length, 1, 'probed as a failed upgrade is');
  timers.runNext();
  assert.equal(FakeWS.all.length, 2, 'retried');
});

test('connect(null), a send, then another room before the fallback is known: the send is cancelled, not carried there', () => {
  const { c, events } = client();
  c.connect(null, 't');
  const id = c.send('meant for my first room');
  c.switchRoom(2);
  assert.deepEqual(events.filter(([n]) => n === 'error').map(([, v]) => [v.code, v.client_id]), [['cancelled', id]]);
  established(FakeWS.last(), 0, 2);
  assert.deepEqual(FakeWS.last().sent.filter((f) => f.type === 'chat_message'), []);
});

test('connect(null) asked again before the fallback is known keeps the send', () => {
  const { c } = client();
  c.connect(null, 't');
  const id = c.send('still for my first room');
  c.connect(null);
  established(FakeWS.last(), 0, 3);
  assert.deepEqual(FakeWS.last().sent.filter((f) => f.type === 'chat_message').map((f) => f.client_id), [id]);
});

// ---- a session is one user's ----

test("disconnect() ends the session: a pending send is cancelled, and the next connect() starts fresh, not from the old seq", () => {
  const { c, events } = client();
  c.connect(12, 'maria');
  established(FakeWS.last(), 47);
  c.markRead(47);
  const carried = c.send('sent, not answered');
  FakeWS.last().drop(1006); // reconnecting: the next send waits for a socket
  const waiting = c.send('waiting for a socket');
  c.disconnect();
  assert.deepEqual(events.filter(([n]) => n === 'error').map(([, v]) => [v.code, v.client_id]),
    [['unconfirmed', carried], ['cancelled', waiting]]);
  c.connect(12, 'olga'); // the demo page's user switch
  assert.equal(FakeWS.last().url, 'ws://hub/ws/chat/12/?token=olga', 'no last_seq of the other session');
  established(FakeWS.last(), 47);
  assert.deepEqual(FakeWS.last().sent, [], "nothing of Maria's goes out as Olga's");
});

test('a new token for another user (after a 4401): the old user\'s pending send is not made as the new one', () => {
  const { c, events } = client();
  c.connect(12, 'maria');
  FakeWS.last().frame({ type: 'connection_established', room_id: 12, room: { id: 12 }, user: { id: 2 }, participants: [], last_seq: 5, resumed_from: null });
  FakeWS.last().drop(1006);
  const id = c.send('by maria');
  c.connect(12, 'olga');
  FakeWS.last().frame({ type: 'connection_established', room_id: 12, room: { id: 12 }, user: { id: 3 }, participants: [], last_seq: 5, resumed_from: 5 });
  assert.deepEqual(FakeWS.last().sent.filter((f) => f.type === 'chat_message'), []);
  assert.deepEqual(events.filter(([n]) => n === 'error').map(([, v]) => [v.code, v.client_id]), [['cancelled', id]]);
  assert.equal(c.state, 'open');
});

test('a new token for the same user keeps the pending send', () => {
  const { c } = client();
  c.connect(12, 'maria');
  FakeWS.last().frame({ type: 'connection_established', room_id: 12, room: { id: 12 }, user: { id: 2 }, participants: [], last_seq: 5, resumed_from: null });
  FakeWS.last().drop(4401);
  const id = c.send('by maria');
  c.connect(12, 'maria-again');
  assert.match(FakeWS.last().url, /last_seq=5/);
  FakeWS.last().frame({ type: 'connection_established', room_id: 12, room: { id: 12 }, user: { id: 2 }, participants: [], last_seq: 5, resumed_from: 5 });
  assert.deepEqual(FakeWS.last().sent.filter((f) => f.type === 'chat_message').map((f) => f.client_id), [id]);
});

test('a history page on its way holds the pong deadline back (the pong waits behind it), up to twelve times', () => {
  const { c, timers } = client(() => 0, watching);
  c.connect(12, 't');
  const ws = FakeWS.last();
  established(ws);
  const page = c.history({ limit: 100 });
  page.catch(() => {});
  timers.runNext(); // the ping, at 25 s
  assert.deepEqual(ws.sent.at(-1), { type: 'ping' });
  while (timers.queue.length > 0 && timers.now < 25000 + 110000) timers.runNext();
  assert.equal(ws.closed, false, 'still waiting for the page after 110 s');
  const hid = ws.sent.find((f) => f.type === 'history').client_id;
  ws.frame({ type: 'history', room_id: 12, messages: [], has_more: false, client_id: hid });
  timers.runNext();
  assert.equal(ws.closed, false, 'the page came: the link is alive');
  // No page in flight: the plain 10 s deadline.
  while (ws.sent.filter((f) => f.type === 'ping').length < 2) timers.runNext();
  timers.runNext();
  assert.equal(ws.closed, true);
});

test('the ping goes at once, not behind sends the rate holds back', () => {
  const { c, timers } = client(() => 0, { ...watching, rateLimit: 1, rateBurst: 1 });
  c.connect(12, 't');
  const ws = FakeWS.last();
  established(ws);
  for (let i = 0; i < 40; i++) c.send(`m${i}`); // 40 s of sends at one a second
  while (!ws.sent.some((f) => f.type === 'ping')) timers.runNext();
  assert.equal(timers.now, 25000, 'the ping went when the room had been silent 25 s');
  assert.ok(ws.sent.filter((f) => f.type === 'chat_message').length < 40, 'with sends still waiting');
});

test('pongTimeoutMs 0: pings go on, none is judged', () => {
  const { c, timers } = client(() => 0, { ...watching, pongTimeoutMs: 0 });
  c.connect(12, 't');
  const ws = FakeWS.last();
  established(ws);
  for (let i = 0; i < 5; i++) timers.runNext();
  assert.equal(ws.sent.filter((f) => f.type === 'ping').length, 5);
  assert.equal(ws.closed, false);
});

test('a new token before the first connection_established: a send made as another user is cancelled, not made as this one', () => {
  const { c, events } = client(() => 0.999999, { now: () => NOW_MS });
  c.connect(1, jwt({ user_id: 1, exp: NOW_MS / 1000 + 600 }));
  const ivan = c.send('written by Ivan');
  c.markRead(3);
  c.connect(1, jwt({ user_id: 3, exp: NOW_MS / 1000 + 600 }));
  const olga = c.send('written by Olga');
  FakeWS.last().frame({ type: 'connection_established', room_id: 1, room: { id: 1 }, user: { id: 3 }, participants: [], last_seq: 5, resumed_from: null });
  assert.deepEqual(FakeWS.last().sent.filter((f) => f.type === 'chat_message').map((f) => f.client_id), [olga]);
  assert.deepEqual(FakeWS.last().sent.filter((f) => f.type === 'mark_read'), [], "Ivan's read mark is not Olga's");
  assert.deepEqual(events.filter(([n]) => n === 'error').map(([, v]) => [v.code, v.client_id]), [['cancelled', ivan]]);
});

test('an opaque token replaced before the hub named its user: its sends are not carried over', () => {
  const { c, events } = client();
  c.connect(1, 'a'.repeat(40));
  const id = c.send('whose?');
  c.connect(1, 'b'.repeat(40));
  FakeWS.last().frame({ type: 'connection_established', room_id: 1, room: { id: 1 }, user: { id: 3 }, participants: [], last_seq: 5, resumed_from: null });
  assert.deepEqual(FakeWS.last().sent.filter((f) => f.type === 'chat_message'), []);
  assert.deepEqual(events.filter(([n]) => n === 'error').map(([, v]) => [v.code, v.client_id]), [['cancelled', id]]);
});

test('a send made in an error handler while the user change is reported goes out on the open socket', () => {
  const { c } = client();
  c.connect(12, 'maria');
  FakeWS.last().frame({ type: 'connection_established', room_id: 12, room: { id: 12 }, user: { id: 2 }, participants: [], last_seq: 5, resumed_from: null });
  FakeWS.last().drop(4401);
  c.send('by maria');
  let again = null;
  c.on('error', (e) => { if (e.code === 'cancelled' && again === null) again = c.send('by olga, at once'); });
  c.connect(12, 'olga');
  FakeWS.last().frame({ type: 'connection_established', room_id: 12, room: { id: 12 }, user: { id: 3 }, participants: [], last_seq: 5, resumed_from: 5 });
  assert.deepEqual(FakeWS.last().sent.filter((f) => f.type === 'chat_message').map((f) => f.client_id), [again]);
});

test('disconnect() clears the session before its closed state: a state handler that connects again starts afresh', () => {
  const { c } = client();
  c.connect(12, 't');
  established(FakeWS.last(), 5);
  c.on('state', (st) => { if (st === 'closed') c.connect(12, 'u'); });
  c.disconnect();
  assert.equal(FakeWS.last().url, 'ws://hub/ws/chat/12/?token=u');
});

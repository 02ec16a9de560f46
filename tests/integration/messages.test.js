// Sending and receiving (PROTOCOL.md §2-3): one identical object for every
// socket in the room, gapless seq, client_id idempotency, and bad frames that
// get an error while the socket stays usable.
import { test, before, after } from 'node:test';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startHub, seed, psql, createDatabase, readyBecomes } from '../lib/hub.js';
import { connect, sleep } from '../lib/ws.js';

let hub;
before(async () => {
  hub = await startHub({ env: { HUB_MAX_MESSAGE_BYTES: '1024', HUB_RATE_LIMIT: '1000', HUB_RATE_BURST: '1000' } });
  await seed(hub);
});
after(async () => hub?.stop());

const open = (user) => connect(hub.wsUrl(`/ws/chat/1/?token=${hub.token(user)}`));

test('the seed check: sender and a second participant get the same full object', async () => {
  const a = await open(1);
  const b = await open(2);
  a.send({ type: 'chat_message', message: 'Test message', room_id: 1 });
  const mine = await a.next('chat_message');
  const theirs = await b.next('chat_message');
  assert.deepEqual(mine, theirs);
  const m = mine.message;
  assert.deepEqual(Object.keys(m).sort(), ['client_id', 'content', 'created_at', 'id', 'room_id', 'sender', 'seq']);
  assert.equal(m.content, 'Test message');
  assert.equal(m.room_id, 1);
  assert.equal(m.client_id, null);
  assert.deepEqual(m.sender, { id: 1, full_name: 'Ivan Petrov', role: 'student' });
  assert.match(m.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  await a.close();
  await b.close();
});

// A client frame, masked as RFC 6455 requires of clients.
const clientFrame = (text) => {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const head = payload.length < 126
    ? Buffer.from([0x81, 0x80 | payload.length])
    : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([head, mask, payload.map((b, i) => b ^ mask[i % 4])]);
};

// Server frames (unmasked, text, under 64 KB) after the 101 answer.
const serverFrames = (buf) => {
  const out = [];
  let p = buf.indexOf('\r\n\r\n') + 4;
  while (p + 2 <= buf.length) {
    let len = buf[p + 1] & 0x7f;
    let at = p + 2;
    if (len === 126) { len = buf.readUInt16BE(p + 2); at = p + 4; }
    if (at + len > buf.length) break;
    if ((buf[p] & 0x0f) === 1) out.push(JSON.parse(buf.subarray(at, at + len).toString()));
    p = at + len;
  }
  return out;
};

// n chat frames (and an empty one) sent right after the 101, all answered.
const sendEarly = async (n, pad) => {
  // A transaction holds the users table, so the store cannot answer the join
  // until it ends: the frames below certainly come while the socket is pending.
  const locker = spawn('psql', [hub.database, '-qAt', '-c',
    'BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(0.6); COMMIT;']);
  const unlocked = new Promise((r) => locker.on('exit', r));
  for (let i = 0; i < 50 && psql(`SELECT count(*) FROM pg_locks WHERE relation = 'users'::regclass AND granted AND mode = 'AccessExclusiveLock'`, hub.database).trim() !== '1'; i++) await sleep(20);
  const key = randomBytes(16).toString('base64');
  const s = net.connect(hub.port, '127.0.0.1', () => s.write(
    `GET /ws/chat/1/?token=${hub.token(1)} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n` +
    `Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`));
  let buf = Buffer.alloc(0);
  let sent = false;
  const frames = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout; got ${buf.toString()}`)), 5000);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!sent && buf.includes('\r\n\r\n')) {
        sent = true;
        s.write(Buffer.concat([clientFrame(''), ...[...Array(n).keys()].map((i) => clientFrame(JSON.stringify(
          { type: 'chat_message', message: `early ${i}${pad}`, client_id: `early-${n}-${i}` })))]));
      }
      const f = serverFrames(buf);
      if (f.filter((x) => x.type === 'chat_message').length === n) {
        clearTimeout(timer);
        resolve(f);
      }
    });
  });
  s.destroy();
  await unlocked;
  assert.match(buf.toString(), /^HTTP\/1\.1 101/);
  const types = frames.map((f) => f.type).filter((t) => t !== 'presence');
  assert.deepEqual(types, ['connection_established', 'error', ...Array(n).fill('chat_message')]);
  assert.equal(frames.find((f) => f.type === 'error').code, 'invalid_json');
  const chats = frames.filter((f) => f.type === 'chat_message');
  assert.deepEqual(chats.map((f) => f.message.content), [...Array(n).keys()].map((i) => `early ${i}${pad}`));
  const est = frames.find((f) => f.type === 'connection_established');
  assert.deepEqual(chats.map((f) => f.message.seq), [...Array(n).keys()].map((i) => est.last_seq + 1 + i));
};

test('frames sent before connection_established are answered after it, in order', async () => {
  await sendEarly(5, '');
  // Past twice HUB_MAX_MESSAGE_BYTES held, the hub stops reading until the join.
  await sendEarly(40, ' '.repeat(100) + 'x');
});

test('seq is gapless and in order for every receiver', async () => {
  const a = await open(1);
  const b = await open(3);
  const start = a.established.last_seq;
  for (let i = 0; i < 30; i++) a.send({ type: 'chat_message', message: `n${i}`, client_id: `gap-${i}` });
  for (const c of [a, b]) {
    for (let i = 0; i < 30; i++) {
      const f = await c.next('chat_message');
      assert.equal(f.message.seq, start + 1 + i);
      assert.equal(f.message.content, `n${i}`);
    }
  }
  await a.close();
  await b.close();
});

test('a retry with the same client_id stores one message and returns the original', async () => {
  const a = await open(1);
  const b = await open(2);
  a.send({ type: 'chat_message', message: 'once', client_id: 'retry-1' });
  const first = await a.next('chat_message');
  a.send({ type: 'chat_message', message: 'once', client_id: 'retry-1' });
  const again = await a.next('chat_message');
  assert.deepEqual(again, first);
  await b.next('chat_message', 5000, (f) => f.message.client_id === 'retry-1');
  await sleep(300);
  assert.equal(b.frames.filter((f) => f.message?.client_id === 'retry-1').length, 1, 'receiver saw it once');
  const h = await hub.api('GET', '/rooms/1/messages?limit=100');
  assert.equal(h.json.messages.filter((m) => m.client_id === 'retry-1').length, 1);
  await a.close();
  await b.close();
});

test('ping gets pong', async () => {
  const a = await open(1);
  a.send({ type: 'ping' });
  assert.deepEqual(await a.next('pong'), { type: 'pong' });
  await a.close();
});

test('bad frames get the right error and the socket stays usable', async () => {
  const a = await open(1);
  const cases = [
    ['{not json', 'invalid_json', null],
    [JSON.stringify({ type: 'teleport' }), 'unknown_type', null],
    [JSON.stringify(['chat_message']), 'bad_request', null, 'a frame must be a JSON object'],
    [JSON.stringify({ message: 'no type' }), 'bad_request', null, 'type must be a string'],
    [JSON.stringify({ type: 'chat_message', message: 'wrong room', room_id: 2, client_id: 'wr' }), 'bad_request', 'wr'],
    [JSON.stringify({ type: 'chat_message', message: '   ', client_id: 'blank' }), 'bad_request', 'blank', 'message must not be blank'],
    // Spaces a reader sees as none, not only ASCII's: no-break, ideographic, zero width.
    [JSON.stringify({ type: 'chat_message', message: '\u00a0\u3000\u200b\ufeff', client_id: 'wide' }), 'bad_request', 'wide', 'message must not be blank'],
    [JSON.stringify({ type: 'chat_message', message: 42 }), 'bad_request', null, 'message must be a string without \\u0000'],
    [JSON.stringify({ type: 'mark_read', seq: 'x' }), 'bad_request', null, 'seq must be an integer from 0'],
    // Two lone surrogates would both become U+FFFD: one key for two ids.
    ['{"type":"chat_message","message":"x","client_id":"id\\ud800"}', 'bad_request', null,
      'client_id must be a string of 1 to 128 bytes, without U+FFFD or a lone surrogate'],
  ];
  for (const [raw, code, clientId, why] of cases) {
    a.send(raw);
    const e = await a.next('error');
    assert.equal(e.code, code, raw.slice(0, 60));
    assert.equal(e.client_id, clientId ?? undefined);
    assert.equal(typeof e.message, 'string');
    if (why) assert.equal(e.message, why, raw.slice(0, 60));
  }
  a.send(Buffer.from([1, 2, 3]));
  assert.equal((await a.next('error')).code, 'bad_request');
  a.send({ type: 'chat_message', message: 'still works', client_id: 'after-bad' });
  const ok = await a.next('chat_message');
  assert.equal(ok.message.content, 'still works');
  await a.close();
});

test('a frame over the limit gets too_large with its client_id, then closes with 1009', { timeout: 10000 }, async () => {
  const a = await open(1);
  a.send(JSON.stringify({ type: 'chat_message', message: 'x'.repeat(1500), client_id: 'big' }));
  const e = await a.next('error');
  assert.equal(e.code, 'too_large');
  assert.equal(e.client_id, 'big');
  assert.equal((await a.closed).code, 1009);
});

test('a frame over twice the limit closes with 1009', async () => {
  const a = await open(1);
  a.send(JSON.stringify({ type: 'chat_message', message: 'y'.repeat(5000) }));
  assert.equal((await a.closed).code, 1009);
});

test('unicode and SQL-looking text come back byte for byte', async () => {
  const a = await open(1);
  const text = "Привет 👋 '); DROP TABLE messages; -- \"quotes\" \\ back\\slash \n new line";
  a.send({ type: 'chat_message', message: text, client_id: 'uni' });
  assert.equal((await a.next('chat_message')).message.content, text);
  const h = await hub.api('GET', '/rooms/1/messages?limit=5');
  assert.ok(h.json.messages.some((m) => m.content === text));
  await a.close();
});

test('a 60 KB message, read by the hub in pieces, is stored and delivered whole', { timeout: 30000 }, async () => {
  const roomy = await startHub();
  try {
    await seed(roomy);
    const [a, b] = await Promise.all([1, 2].map((u) => connect(roomy.wsUrl(`/ws/chat/1/?token=${roomy.token(u)}`))));
    // 3- and 4-byte characters straddle every 1 KB boundary of the hub's reads.
    let text = '';
    for (let i = 0; text.length < 30000; i++) text += `${i}:Привет👋漢字;`;
    a.send({ type: 'chat_message', message: text, client_id: 'big-utf8' });
    for (const c of [a, b]) assert.equal((await c.next('chat_message', 10000)).message.content, text);
    const h = await roomy.api('GET', '/rooms/1/messages?limit=1');
    assert.equal(h.json.messages[0].content, text);
    await Promise.all([a.close(), b.close()]);
  } finally {
    await roomy.stop();
  }
});

test('history frame pages backwards in ascending order', async () => {
  const a = await open(1);
  const last = a.established.last_seq;
  a.send({ type: 'history', before_seq: last, limit: 3 });
  const h = await a.next('history');
  assert.equal(h.room_id, 1);
  assert.deepEqual(h.messages.map((m) => m.seq), [last - 3, last - 2, last - 1]);
  assert.equal(h.has_more, true);
  await a.close();
});

test('a history or mark_read carrying a client_id gets it back on its answer', async () => {
  const a = await open(1);
  const last = a.established.last_seq;
  a.send({ type: 'mark_read', seq: last + 5, client_id: 'r-1' });
  a.send({ type: 'history', limit: 'ten', client_id: 'h-bad' });
  a.send({ type: 'history', before_seq: last, limit: 1, client_id: 'h-2' });
  a.send({ type: 'history', limit: 1 });
  const e1 = await a.next('error');
  assert.deepEqual([e1.code, e1.client_id], ['bad_request', 'r-1']);
  const e2 = await a.next('error');
  assert.deepEqual([e2.code, e2.client_id], ['bad_request', 'h-bad']);
  const h = await a.next('history');
  assert.equal(h.client_id, 'h-2');
  assert.deepEqual(h.messages.map((m) => m.seq), [last - 1]);
  const plain = await a.next('history');
  assert.equal('client_id' in plain, false, 'no client_id asked, none sent');
  assert.deepEqual(plain.messages.map((m) => m.seq), [last]);
  await a.close();
});

test('the sender is always the token user, never the frame', async () => {
  const a = await open(1);
  a.send({ type: 'chat_message', message: 'who am i', sender: { id: 2 }, sender_id: 2, client_id: 'spoof' });
  assert.equal((await a.next('chat_message')).message.sender.id, 1);
  await a.close();
});

// JSON.stringify writes "\ud83d" for a string cut inside an emoji. That text
// is valid JSON (RFC 8259) but no UTF-8: it was refused as invalid_json
// without its client_id, and the JS client kept resending it for ever. A
// lone surrogate now reads as U+FFFD and the send is stored and answered.
test('a lone surrogate in a send is stored as U+FFFD and answered with its client_id', async () => {
  const a = await open(1);
  const b = await open(2);
  const cut = '😀😀'.slice(0, 3);
  a.ws.send(JSON.stringify({ type: 'chat_message', message: cut, client_id: 'cut-1' }));
  const mine = await a.next('chat_message');
  const theirs = await b.next('chat_message');
  assert.deepEqual(mine, theirs);
  assert.equal(mine.message.content, '😀\ufffd');
  assert.equal(mine.message.client_id, 'cut-1');
  const stored = (await hub.api('GET', '/rooms/1/messages?limit=1')).json.messages[0];
  assert.equal(stored.content, '😀\ufffd');
  await a.close();
  await b.close();
});

// RFC 6455 §5.5.1: nothing follows a close frame. lws still handed on a text
// frame written after the client's close, and the hub stored a message whose
// answer could never reach its sender.
test('a message frame after the client\'s close frame is dropped, not stored', async () => {
  const cid = `after-close-${Date.now()}`;
  const key = randomBytes(16).toString('base64');
  const s = net.connect(hub.port, '127.0.0.1', () => s.write(
    `GET /ws/chat/1/?token=${hub.token(1)} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n` +
    `Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`));
  let buf = Buffer.alloc(0);
  s.on('data', (d) => { buf = Buffer.concat([buf, d]); });
  s.on('error', () => {});
  for (let i = 0; i < 100 && !serverFrames(buf).some((f) => f.type === 'connection_established'); i++) await sleep(20);
  const mask = randomBytes(4);
  const close = Buffer.concat([Buffer.from([0x88, 0x82]), mask, Buffer.from([0x03, 0xe8]).map((b, i) => b ^ mask[i % 4])]);
  s.write(Buffer.concat([close, clientFrame(JSON.stringify({ type: 'chat_message', message: 'after close', client_id: cid }))]));
  await sleep(1000);
  s.destroy();
  const stored = (await hub.api('GET', '/rooms/1/messages?limit=20')).json.messages;
  assert.ok(!stored.some((m) => m.client_id === cid), 'not stored');
});

// The store refuses a deactivated sender's message itself: a socket the
// deactivation's kick has not reached yet (on another node, a few ms; here
// the row is changed behind the hub's back, so no kick comes at all) stores
// nothing. The API answers 403 for such a sender too.
test('a sender deactivated in the store: the send is refused (unauthorized), nothing stored', async () => {
  const c = await open(3);
  try {
    psql('UPDATE users SET is_active = false WHERE id = 3', hub.database);
    c.send({ type: 'chat_message', message: 'after the deactivation', client_id: 'inactive-1' });
    const err = await c.next('error');
    assert.deepEqual([err.code, err.client_id], ['unauthorized', 'inactive-1']);
    const api = await hub.api('POST', '/rooms/1/messages', { sender_id: 3, content: 'by the API' });
    assert.equal(api.status, 403, api.text);
    assert.match(api.json.error.message, /not an active user/);
    assert.equal(psql("SELECT count(*) FROM messages WHERE sender_id = 3 AND content IN ('after the deactivation', 'by the API')", hub.database).trim(), '0');
  } finally {
    psql('UPDATE users SET is_active = true WHERE id = 3', hub.database);
    await c.close();
  }
});

// A table lock held elsewhere (a migration, a manual LOCK) holds every
// insert, and /ready's check queued behind them for the query timeout, past
// any probe's, then said 200. It answers 503 within a second now.
test('/ready answers 503 within a second while the store is stuck behind a lock', { timeout: 60000 }, async () => {
  const database = createDatabase();
  const h = await startHub({ database, env: { HUB_DB_POOL: '1', HUB_QUERY_TIMEOUT_MS: '8000' } });
  try {
    await seed(h);
    const locker = spawn('psql', [database, '-qAtc', 'BEGIN; LOCK TABLE messages; SELECT pg_sleep(5); COMMIT;']);
    const unlocked = new Promise((r) => locker.once('exit', r));
    await sleep(500);
    const held = h.api('POST', '/rooms/1/messages', { sender_id: 1, content: 'behind the lock' });
    await sleep(300);
    const t0 = Date.now();
    const r = await fetch(`${h.url}/ready`);
    const took = Date.now() - t0;
    const body = await r.json();
    assert.equal(r.status, 503, JSON.stringify(body));
    assert.deepEqual([body.store, body.failed], ['slow', ['store']]);
    assert.ok(took < 2500, `answered in ${took} ms`);
    await unlocked;
    assert.equal((await held).status, 201, 'the held insert lands once the lock goes');
    assert.ok(await readyBecomes(h, 200, 5000), 'ready again');
  } finally {
    await h.stop();
  }
});

test('a read-only database (a standby, a demoted primary): unavailable with the client_id, 503 on the API; the retry stores once', { timeout: 60000 }, async () => {
  const database = createDatabase();
  const name = new URL(database).pathname.slice(1);
  const ro = await startHub({ database });
  // The hub's own sessions pick the setting up once they connect again.
  const setReadOnly = (on) => {
    psql(`ALTER DATABASE ${name} SET default_transaction_read_only = ${on ? 'on' : 'off'}`);
    psql(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '${name}'`);
  };
  try {
    await seed(ro);
    const c = await connect(ro.wsUrl(`/ws/chat/1/?token=${ro.token(1)}`));
    setReadOnly(true);
    await sleep(300);
    await readyBecomes(ro, 200); // the store is connected again, to a database that takes no writes
    c.send({ type: 'chat_message', message: 'while read-only', client_id: 'ro-1' });
    const refused = await c.next(null, 10000, (x) => x.client_id === 'ro-1' || x.message?.client_id === 'ro-1');
    assert.deepEqual([refused.type, refused.code], ['error', 'unavailable'], 'retryable, not internal');
    const api = await ro.api('POST', '/rooms/1/messages', { sender_id: 1, content: 'api while read-only', client_id: 'ro-api' });
    assert.equal(api.status, 503);
    assert.match(ro.log, /event=store\.query_failed .*sqlstate=25006/);
    // Every refused write is a failed statement: 30 more make no 30 lines
    // (at production rates, thousands a second), one per 10 s at most.
    for (let i = 0; i < 30; i++) c.send({ type: 'chat_message', message: `ro ${i}`, client_id: `ro-more-${i}` });
    for (let i = 0; i < 30; i++) await c.next('error', 10000, (x) => x.client_id?.startsWith('ro-more-'));
    const lines = ro.log.match(/level=(error|warn) event=store\.(query_failed|batch_split) /g) ?? [];
    assert.ok(lines.length <= 4, `store failures are logged once per 10 s: ${lines.length} lines`);
    setReadOnly(false);
    await sleep(300);
    await readyBecomes(ro, 200);
    let stored;
    for (let i = 0; i < 50 && !stored; i++) {
      c.send({ type: 'chat_message', message: 'while read-only', client_id: 'ro-1' });
      const f = await c.next(null, 10000, (x) => x.client_id === 'ro-1' || x.message?.client_id === 'ro-1');
      if (f.type === 'chat_message') stored = f.message;
      else await sleep(200);
    }
    assert.ok(stored, 'stored once the database takes writes');
    assert.equal(psql(`SELECT count(*) FROM messages WHERE client_id = 'ro-1'`, database).trim(), '1');
    await c.close();
  } finally {
    await ro.stop();
  }
});

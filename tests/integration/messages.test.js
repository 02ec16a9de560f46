// Sending and receiving (PROTOCOL.md §2-3): one identical object for every
// socket in the room, gapless seq, client_id idempotency, and bad frames that
// get an error while the socket stays usable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, seed } from '../lib/hub.js';
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
    [JSON.stringify(['chat_message']), 'bad_request', null],
    [JSON.stringify({ message: 'no type' }), 'bad_request', null],
    [JSON.stringify({ type: 'chat_message', message: 'x'.repeat(1500), client_id: 'big' }), 'too_large', 'big'],
    [JSON.stringify({ type: 'chat_message', message: 'wrong room', room_id: 2, client_id: 'wr' }), 'bad_request', 'wr'],
    [JSON.stringify({ type: 'chat_message', message: '   ', client_id: 'blank' }), 'bad_request', 'blank'],
    [JSON.stringify({ type: 'chat_message', message: 42 }), 'bad_request', null],
    [JSON.stringify({ type: 'mark_read', seq: 'x' }), 'bad_request', null],
  ];
  for (const [raw, code, clientId] of cases) {
    a.send(raw);
    const e = await a.next('error');
    assert.equal(e.code, code, raw.slice(0, 60));
    assert.equal(e.client_id, clientId ?? undefined);
    assert.equal(typeof e.message, 'string');
  }
  a.send(Buffer.from([1, 2, 3]));
  assert.equal((await a.next('error')).code, 'bad_request');
  a.send({ type: 'chat_message', message: 'still works', client_id: 'after-bad' });
  const ok = await a.next('chat_message');
  assert.equal(ok.message.content, 'still works');
  await a.close();
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

test('the sender is always the token user, never the frame', async () => {
  const a = await open(1);
  a.send({ type: 'chat_message', message: 'who am i', sender: { id: 2 }, sender_id: 2, client_id: 'spoof' });
  assert.equal((await a.next('chat_message')).message.sender.id, 1);
  await a.close();
});

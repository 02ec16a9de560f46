// The browser client (clients/js/chathub.js, PROTOCOL.md §7) against a real
// hub, on the `ws` package's WebSocket: a page of history comes back to the
// request that asked for it, whatever else is in flight on the socket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { ChatSocket } from '../../clients/js/chathub.js';
import { startHub, seed } from '../lib/hub.js';
import { startProxy } from '../lib/proxy.js';

let hub;
const chats = [];
// A client left open keeps retrying on its timers: every one is stopped at
// the end, whether its test passed or not.
const newChat = (url) => {
  const chat = new ChatSocket({ url, WebSocket });
  chats.push(chat);
  return chat;
};
before(async () => {
  hub = await startHub();
  await seed(hub);
});
after(async () => {
  for (const chat of chats) chat.disconnect();
  await hub?.stop();
});

function once(chat, name, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} in ${timeoutMs} ms`)), timeoutMs);
    const fn = (v) => {
      clearTimeout(timer);
      chat.off(name, fn);
      resolve(v);
    };
    chat.on(name, fn);
  });
}

test('history pages reach their own requests; a failed markRead in between rejects none', async () => {
  const chat = newChat(hub.url);
  const errors = [];
  chat.on('error', (e) => errors.push(e));
  const established = once(chat, 'connection_established');
  chat.connect(1, hub.token(1));
  await established;

  const seqs = [];
  for (let i = 0; i < 4; i++) {
    const got = once(chat, 'message');
    chat.send(`page ${i}`);
    seqs.push((await got).seq);
  }
  const last = seqs.at(-1);
  chat.markRead(last + 1000); // beyond the room's last message: an error without a page's id
  const [one, two, three] = await Promise.all([
    chat.history({ beforeSeq: last + 1, limit: 1 }),
    chat.history({ beforeSeq: last + 1, limit: 2 }),
    chat.history({ beforeSeq: last + 1, limit: 3 }),
  ]);
  assert.deepEqual(one.messages.map((m) => m.seq), [last]);
  assert.deepEqual(two.messages.map((m) => m.seq), [last - 1, last]);
  assert.deepEqual(three.messages.map((m) => m.seq), [last - 2, last - 1, last]);
  assert.equal(one.hasMore, true);
  assert.deepEqual(errors.map((e) => [e.code, e.client_id]), [['bad_request', undefined]],
    'the markRead error is an error event and answers no page');
  chat.disconnect();
});

test('a history the hub refuses rejects with the code its error names', async () => {
  const strict = await startHub({ env: { HUB_RATE_LIMIT: '1', HUB_RATE_BURST: '3' } });
  try {
    await seed(strict);
    const chat = newChat(strict.url);
    const established = once(chat, 'connection_established');
    chat.connect(1, strict.token(1));
    await established;
    const errors = [];
    chat.on('error', (e) => errors.push(e));
    for (let i = 0; i < 4; i++) chat.typing(i % 2 === 0); // the burst, then one refused
    const page = chat.history({ limit: 1 });
    await assert.rejects(page, (e) => e.code === 'rate_limited', 'the refused page is rejected');
    assert.deepEqual(errors.map((e) => [e.code, /^h-/.test(e.client_id ?? '')]),
      [['rate_limited', false], ['rate_limited', true]], 'the typing\'s error names nothing, the page\'s its id');
    assert.equal(chat.state, 'open');
    chat.disconnect();
  } finally {
    chats.at(-1).disconnect();
    await strict.stop();
  }
});

// Every frame costs the socket a token (HUB_RATE_LIMIT 20/s, burst 40), and
// the client used to send a burst, then the refused sends again, all at
// once: the hub closed it with 4429 for abuse (an audit). It now paces its
// frames under the rate, so a burst of 120 is stored whole, with no refusal.
test('a burst of 120 sends is paced under the hub\'s rate: all stored once, none refused, no 4429', { timeout: 30000 }, async () => {
  const chat = newChat(hub.url);
  const errors = [];
  const closes = [];
  chat.on('error', (e) => errors.push(e.code));
  chat.on('state', (s) => s !== 'open' && closes.push(s));
  const established = once(chat, 'connection_established');
  chat.connect(1, hub.token(1));
  await established;
  closes.length = 0;
  const echoed = new Set();
  const ids = new Set(Array.from({ length: 120 }, (_, i) => chat.send(`burst ${i}`)));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${echoed.size} of 120 came back`)), 20000);
    chat.on('message', (m) => {
      if (ids.has(m.client_id)) echoed.add(m.client_id);
      if (echoed.size === ids.size) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  assert.deepEqual([errors, closes], [[], []], 'no rate_limited, no reconnect');
  const stored = await hub.api('GET', '/rooms/1/messages?limit=100');
  assert.equal(stored.json.messages.filter((m) => ids.has(m.client_id)).length, 100, 'the newest 100 are the burst\'s');
});

// A link that dies without a close (a NAT or proxy that forgets the
// connection) left the client "open" for good: no message, no send, no
// history ever again (an audit, in Chromium). It now pings a silent room and
// takes a ping with no frame back for a dead link.
test('a link gone silent without a close is replaced: the ping goes unanswered, the client reconnects and resumes', { timeout: 20000 }, async () => {
  const proxy = await startProxy(hub.port);
  try {
    const chat = new ChatSocket({ url: `ws://127.0.0.1:${proxy.port}`, WebSocket, pingIntervalMs: 500, pongTimeoutMs: 500 });
    chats.push(chat);
    const states = [];
    chat.on('state', (s) => states.push(s));
    const established = once(chat, 'connection_established');
    chat.connect(1, hub.token(1));
    await established;
    proxy.freeze(); // neither way gets through, and nothing closes
    proxy.stall();
    const content = `through a dead link ${Date.now()}`;
    const got = new Promise((resolve) => chat.on('message', (m) => m.content === content && resolve(m)));
    const r = await hub.api('POST', '/rooms/1/messages', { sender_id: 2, content });
    assert.equal(r.status, 201);
    const m = await Promise.race([got, new Promise((_, reject) => setTimeout(() => reject(new Error('never delivered')), 10000))]);
    assert.equal(m.seq, r.json.seq);
    assert.deepEqual(states.slice(0, 4), ['connecting', 'open', 'reconnecting', 'open']);
    chat.disconnect();
  } finally {
    await proxy.stop();
  }
});

// Every connect path of PROTOCOL.md §1, the HTTP answers at the handshake, and
// the close codes of a refused join (§5), against a real hub and PostgreSQL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startHub, seed, signJwt, freePort, BIN, WS_NATIVE } from '../lib/hub.js';
import { connect, handshakeStatus, Client, exchange, upgradeHead, sleep } from '../lib/ws.js';

let hub;
before(async () => {
  hub = await startHub({ env: { HUB_ALLOWED_ORIGINS: 'https://school.example' } });
  await seed(hub);
});
after(async () => hub?.stop());

const joinedRoom = (c) => c.established.room_id;

test('/ws/chat/<id>/ with and without the trailing slash', async () => {
  for (const p of ['/ws/chat/1/', '/ws/chat/1']) {
    const c = await connect(hub.wsUrl(`${p}?token=${hub.token(1)}`));
    assert.equal(joinedRoom(c), 1);
    assert.deepEqual(c.established.user, { id: 1, full_name: 'Ivan Petrov', role: 'student' });
    await c.close();
  }
});

test('/ws/chat?room_id= and /ws/chat/?room_id=', async () => {
  for (const p of ['/ws/chat?room_id=1', '/ws/chat/?room_id=1']) {
    const c = await connect(hub.wsUrl(`${p}&token=${hub.token(2)}`));
    assert.equal(joinedRoom(c), 1);
    await c.close();
  }
});

test('an empty ?room_id= or ?last_seq= is an absent one: the fallback room, a plain connect', async () => {
  for (const p of ['/ws/chat?room_id=', '/ws/chat/?room_id=&last_seq=', '/ws/chat/1/?last_seq=']) {
    const c = await connect(hub.wsUrl(`${p}${p.includes('?') ? '&' : '?'}token=${hub.token(3)}`));
    assert.equal(joinedRoom(c), 1, p);
    assert.equal(c.established.resumed_from, null, p);
    await c.close();
  }
  assert.equal(await handshakeStatus(hub.wsUrl(`/ws/chat/?room_id=x&token=${hub.token(3)}`)), 404, 'a bad one is still refused');
  assert.equal(await handshakeStatus(hub.wsUrl(`/ws/chat/1/?last_seq=x&token=${hub.token(3)}`)), 400);
});

test('/ws/chat falls back to the first available room; none gives 4404', async () => {
  const c = await connect(hub.wsUrl(`/ws/chat?token=${hub.token(3)}`));
  assert.equal(joinedRoom(c), 1);
  await c.close();
  const lonely = new Client(hub.wsUrl(`/ws/chat/?token=${hub.token(4)}`));
  const err = await lonely.next('error');
  assert.equal(err.code, 'not_found');
  assert.equal((await lonely.closed).code, 4404);
});

test('/ws/chat/general/ joins any active user to the GENERAL room', async () => {
  const c = await connect(hub.wsUrl(`/ws/chat/general/?token=${hub.token(4)}`));
  assert.equal(c.established.room.type, 'GENERAL');
  assert.ok(c.established.participants.some((p) => p.id === 4));
  await c.close();
  // By its numeric id as well, for a user who never came through /general/.
  const byId = await connect(hub.wsUrl(`/ws/chat/${c.established.room_id}/?token=${hub.token(2)}`));
  assert.equal(byId.established.room.type, 'GENERAL');
  assert.ok(byId.established.participants.some((p) => p.id === 2));
  await byId.close();
});

test('connection_established has the documented shape', async () => {
  const c = await connect(hub.wsUrl(`/ws/chat/1/?token=${hub.token(1)}`));
  const e = c.established;
  assert.equal(e.type, 'connection_established');
  assert.deepEqual(e.room, { id: 1, type: 'FORUM_SUBJECT', name: 'Mathematics' });
  assert.equal(typeof e.last_seq, 'number');
  assert.equal(e.resumed_from, null);
  assert.deepEqual(e.participants.map((p) => p.id), [1, 2, 3]);
  for (const p of e.participants) {
    assert.deepEqual(Object.keys(p).sort(), ['full_name', 'id', 'last_read_seq', 'online', 'role']);
  }
  await c.close();
});

test('participant names reach connection_established exactly, whatever their characters', async () => {
  // The join's participant list crosses PostgreSQL's JSON and the store's own
  // parser (store_parts.c): quotes, backslashes, control characters, accents,
  // emoji and JSON's escape letters must all come back as they were stored.
  const names = ['Q"uote \\ back/slash', 'tab\tnew\nline\u0001', 'Élodie Ñúñez', 'emoji 😀 ok', '\\u0041 not an escape'];
  for (let i = 0; i < names.length; i++) {
    const r = await hub.api('PUT', `/users/${60 + i}`, { full_name: names[i], role: 'student', is_active: true });
    assert.equal(r.status, 200);
  }
  const members = names.map((_, i) => 60 + i);
  const r = await hub.api('PUT', '/rooms/60', { type: 'GROUP', name: 'Names "room"', members });
  assert.ok(r.status === 200 || r.status === 201);
  const c = await connect(hub.wsUrl(`/ws/chat/60/?token=${hub.token(60)}`));
  assert.deepEqual(c.established.room, { id: 60, type: 'GROUP', name: 'Names "room"' });
  assert.deepEqual(c.established.participants.map((p) => [p.id, p.full_name]), members.map((id, i) => [id, names[i]]));
  await c.close();
});

test('token from the Authorization header, the subprotocol, and ?token=', async () => {
  const h = await connect(hub.wsUrl('/ws/chat/1/'), { headers: { Authorization: `Bearer ${hub.token(1)}` } });
  assert.equal(h.established.user.id, 1);
  await h.close();
  const opaque = (await hub.api('POST', '/tokens', { user_id: 2 })).json.token;
  const s = await connect(hub.wsUrl('/ws/chat/1/'), { protocols: ['chathub.v1', `bearer.${opaque}`] });
  assert.equal(s.ws.protocol, 'chathub.v1');
  assert.equal(s.established.user.id, 2);
  await s.close();
  const q = await connect(hub.wsUrl(`/ws/chat/1/?token=${hub.token(3)}`));
  assert.equal(q.established.user.id, 3);
  await q.close();
});

test('a JWT in the subprotocol (a header over 127 bytes) connects, with its precedence', async () => {
  // Debian's lws 4.1 cannot read such a header: the hub moves the token into
  // the query at accept (proto_head.c), ahead of any ?token= the URL had.
  const simplejwt = hub.token(2, { token_type: 'access', jti: 'c0ffee'.repeat(5), iat: Math.floor(Date.now() / 1000) });
  const logFrom = hub.log.length;
  const s = await connect(hub.wsUrl(`/ws/chat/1/?token=${hub.token(3)}`), { protocols: ['chathub.v1', `bearer.${simplejwt}`] });
  assert.equal(s.ws.protocol, 'chathub.v1');
  assert.equal(s.established.user.id, 2, 'the subprotocol beats ?token=');
  assert.equal(s.established.room_id, 1);
  await s.close();
  const first = await connect(hub.wsUrl('/ws/chat?room_id=1&last_seq=0'), { protocols: [`bearer.${hub.token(1)}`, 'chathub.v1'] });
  assert.equal(first.ws.protocol, 'chathub.v1');
  assert.equal(first.established.user.id, 1, 'bearer offered first');
  assert.equal(first.established.resumed_from, 0, 'the other query arguments still count');
  await first.close();
  const hdr = await connect(hub.wsUrl('/ws/chat/1/'), {
    protocols: ['chathub.v1', `bearer.${hub.token(2)}`], headers: { Authorization: `Bearer ${hub.token(3)}` },
  });
  assert.equal(hdr.established.user.id, 3, 'the Authorization header still wins');
  await hdr.close();
  const expired = hub.token(2, { exp: Math.floor(Date.now() / 1000) - 3600 });
  assert.equal(await handshakeStatus(hub.wsUrl(`/ws/chat/1/?token=${hub.token(3)}`), { protocols: ['chathub.v1', `bearer.${expired}`] }), 401,
    'a bad subprotocol JWT is refused, not replaced by ?token=');
  assert.equal(await handshakeStatus(hub.wsUrl('/ws/chat/1/'), { protocols: ['chathub.v1', `bearer.${'x'.repeat(150)}`] }), 401);
  assert.doesNotMatch(hub.log.slice(logFrom), /level=(warn|error)/, 'a routine connect logs no warning');
});

// lws's limit; the hub's own server (WS_NATIVE) has none short of the head's 8 KiB.
test('a subprotocol header still over 127 bytes without its token is refused with 431, not dropped', async () => {
  const long = ['chathub.v1', ...Array.from({ length: 8 }, (_, i) => `other-protocol-${i}.example`), `bearer.${hub.token(2)}`];
  const want = WS_NATIVE ? 101 : 431;
  assert.equal(await handshakeStatus(hub.wsUrl('/ws/chat/1/'), { protocols: long }), want);
  assert.equal(await handshakeStatus(hub.wsUrl(`/ws/chat/1/?token=${hub.token(2)}`), { protocols: long.slice(0, -1) }), want);
});

test('a subprotocol header longer than any token could make it is refused with 431', async () => {
  const answer = await exchange(hub.port, upgradeHead(`/ws/chat/1/?token=${hub.token(2)}`,
    `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chathub.v1, ${'p'.repeat(5000)}\r\n`));
  assert.match(answer, /^HTTP\/1\.1 431 /);
  assert.match(answer, /subprotocol_too_long/);
});

test('a subprotocol header without chathub.v1 is refused with 400, not hung up', async () => {
  const opaque = (await hub.api('POST', '/tokens', { user_id: 2 })).json.token;
  assert.equal(await handshakeStatus(hub.wsUrl('/ws/chat/1/'), { protocols: [`bearer.${opaque}`] }), 400);
  assert.equal(await handshakeStatus(hub.wsUrl(`/ws/chat/1/?token=${hub.token(2)}`), { protocols: ['chat'] }), 400);
  const c = await connect(hub.wsUrl(`/ws/chat/1/?token=${hub.token(2)}`), { protocols: ['chat', 'chathub.v1'] });
  assert.equal(c.ws.protocol, 'chathub.v1');
  await c.close();
});

test('the header wins over the query string', async () => {
  const c = await connect(hub.wsUrl(`/ws/chat/1/?token=${hub.token(3)}`), {
    headers: { Authorization: `Bearer ${hub.token(2)}` },
  });
  assert.equal(c.established.user.id, 2);
  await c.close();
});

test('an Authorization header of another scheme or a blank Bearer is skipped; a bad Bearer one is not', async () => {
  // What a browser sends on a site behind HTTP basic auth.
  const basic = { Authorization: `Basic ${Buffer.from('user:pass').toString('base64')}` };
  const q = await connect(hub.wsUrl(`/ws/chat/1/?token=${hub.token(3)}`), { headers: basic });
  assert.equal(q.established.user.id, 3);
  await q.close();
  const opaque = (await hub.api('POST', '/tokens', { user_id: 2 })).json.token;
  const s = await connect(hub.wsUrl('/ws/chat/1/'), { headers: basic, protocols: ['chathub.v1', `bearer.${opaque}`] });
  assert.equal(s.established.user.id, 2);
  await s.close();
  assert.equal(await handshakeStatus(hub.wsUrl('/ws/chat/1/'), { headers: basic }), 401);
  const refused = await new Client(hub.wsUrl('/ws/chat/1/'), { headers: basic }).opened.catch((e) => e);
  assert.equal(refused.headers['www-authenticate'], 'Bearer realm="chathub"', 'a 401 says how to authenticate');
  for (const bad of ['Bearer garbage.not.jwt', 'Bearer two words']) {
    const status = await handshakeStatus(hub.wsUrl(`/ws/chat/1/?token=${hub.token(3)}`), { headers: { Authorization: bad } });
    assert.equal(status, 401, bad);
  }
  // A blank Bearer carries no token, as an empty bearer. entry does not: the next source decides.
  for (const blank of ['bearer', 'Bearer ', 'Bearer \t ']) {
    const c = await connect(hub.wsUrl(`/ws/chat/1/?token=${hub.token(3)}`), { headers: { Authorization: blank } });
    assert.equal(c.established.user.id, 3, JSON.stringify(blank));
    await c.close();
  }
  // Authorization is one line: of two, which to trust cannot be told (a
  // Basic line first hid a bad Bearer, and ?token= decided), in both servers.
  for (const lines of [[basic.Authorization, 'Bearer garbage.not.jwt'], [basic.Authorization, `Bearer ${hub.token(3)}`], ['', 'Bearer garbage'], [' ', 'Bearer garbage']]) {
    const head = upgradeHead(`/ws/chat/1/?token=${hub.token(3)}`, `Sec-WebSocket-Version: 13\r\n${lines.map((l) => `Authorization:${l}\r\n`).join('')}`);
    assert.match(await exchange(hub.port, head, 2000), /^HTTP\/1\.1 401 /, JSON.stringify(lines));
  }
  // A head that comes in pieces is lws's to parse (TLS heads always are):
  // its lines are counted too, an empty one included (lws read an empty
  // line then a bad Bearer as the empty one, and ?token= decided).
  const inPieces = (lines) => new Promise((resolve) => {
    const head = upgradeHead(`/ws/chat/1/?token=${hub.token(3)}`, `Sec-WebSocket-Version: 13\r\n${lines.map((l) => `Authorization:${l}\r\n`).join('')}`);
    const cut = head.indexOf('Authorization:') + 3;
    const s = net.connect(hub.port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => { got += d; s.destroy(); });
    s.on('error', () => {});
    s.on('close', () => resolve(got));
    s.write(head.slice(0, cut));
    setTimeout(() => s.write(head.slice(cut)), 300);
    setTimeout(() => s.destroy(), 3000);
  });
  for (const lines of [[` ${basic.Authorization}`, ' Bearer garbage'], ['', ' Bearer garbage'], ['', ''], [' Bearer garbage', '']]) {
    assert.match(await inPieces(lines), /^HTTP\/1\.1 401 /, `in pieces: ${JSON.stringify(lines)}`);
  }
  for (const lines of [[''], [' Digest username="u", realm="Sales, Bearer dept"']]) {
    assert.match(await inPieces(lines), /^HTTP\/1\.1 101 /, `in pieces: ${JSON.stringify(lines)}`);
  }
  // One line's commas are its own (a Digest header quotes them): not two lines.
  const digest = 'Digest username="u", realm="Sales, Bearer dept", nonce="n", uri="/", response="r"';
  const d = await connect(hub.wsUrl(`/ws/chat/1/?token=${hub.token(3)}`), { headers: { Authorization: digest } });
  assert.equal(d.established.user.id, 3);
  await d.close();
  // Well formed but unknown: refused by the store, never replaced by ?token=.
  const unknown = new Client(hub.wsUrl(`/ws/chat/1/?token=${hub.token(3)}`), { headers: { Authorization: 'Bearer garbage' } });
  assert.equal((await unknown.closed).code, 4401);
  assert.ok(!unknown.frames.some((f) => f.type === 'connection_established'));
});

test('JWT with sub instead of user_id', async () => {
  const t = signJwt(hub.secret, { sub: '1' });
  const c = await connect(hub.wsUrl(`/ws/chat/1/?token=${t}`));
  assert.equal(c.established.user.id, 1);
  await c.close();
});

test('an opaque token issued by the API connects; revoked it closes 4401', async () => {
  const r = await hub.api('POST', '/tokens', { user_id: 2 });
  assert.equal(r.status, 201);
  assert.match(r.json.token, /^[0-9a-f]{40}$/);
  const c = await connect(hub.wsUrl(`/ws/chat/1/?token=${r.json.token}`));
  assert.equal(c.established.user.id, 2);
  const d = await hub.api('DELETE', `/tokens/${r.json.token}`);
  assert.equal(d.status, 204);
  assert.equal((await c.closed).code, 4401);
  const again = new Client(hub.wsUrl(`/ws/chat/1/?token=${r.json.token}`));
  assert.equal((await again.next('error')).code, 'unauthorized');
  assert.equal((await again.closed).code, 4401);
  assert.ok(hub.log.includes('path="/api/v1/tokens/<key>"'), 'the DELETE is logged');
  // Near misses of the route (404) carry the key as well.
  for (const path of ['/api/v1/TOKENS/', '//api/v1/tokens/', '/api/v1/Tokens']) {
    await fetch(`${hub.url}${path}${r.json.token}`, { method: 'DELETE', headers: { Authorization: `Bearer ${hub.apiKey}` } });
  }
  await sleep(200);
  assert.ok(!hub.log.includes(r.json.token), 'the key never is');
});

test('plain GET and HEAD on a WebSocket path answer 426', async () => {
  const g = await fetch(`${hub.url}/ws/chat/1/`);
  assert.equal(g.status, 426);
  const h = await fetch(`${hub.url}/ws/chat/1/`, { method: 'HEAD' });
  assert.equal(h.status, 426);
});

// lws 4.1 hung up on an Upgrade: websocket without Connection: Upgrade
// without a status (an audit); without it the request is no upgrade.
test('an Upgrade: websocket without Connection: Upgrade answers 426', async () => {
  const head = `GET /ws/chat/1/?token=${hub.token(1)} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n` +
    'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
  const got = await exchange(hub.port, head);
  assert.match(got, /^HTTP\/1\.1 426 [^]*\r\nUpgrade: websocket\r\n/, JSON.stringify(got.slice(0, 80)));
});

test('plain GET with a token the handshake refuses answers 401; none or a good one 426', async () => {
  // The browser client's probe after a 1006 (PROTOCOL.md §7): a page sees no
  // handshake status, so it asks again without the upgrade.
  const now = Math.floor(Date.now() / 1000);
  const get = (p, headers = {}) => fetch(`${hub.url}${p}`, { headers });
  const expired = await get(`/ws/chat/1/?token=${signJwt(hub.secret, { user_id: 1, exp: now - 3600 })}`);
  assert.equal(expired.status, 401);
  assert.equal((await expired.json()).error.code, 'unauthorized');
  assert.equal((await get(`/ws/chat?token=${signJwt('wrong-secret', { user_id: 1 })}`)).status, 401);
  assert.equal((await get('/ws/chat/1/?token=a.b.c')).status, 401);
  assert.equal((await get('/ws/chat/1/', { Authorization: 'Bearer a.b.c' })).status, 401);
  assert.equal((await get('/ws/chat/1/')).status, 426);
  const good = await get(`/ws/chat/1/?token=${hub.token(1)}`);
  assert.equal(good.status, 426);
  assert.equal(good.headers.get('upgrade'), 'websocket');
  assert.equal(good.headers.get('access-control-allow-origin'), null, 'no Origin, no CORS header');
});

test('the 401/426 of a plain GET can be read cross-origin by an allowed Origin only', async () => {
  const dead = `/ws/chat/1/?token=${signJwt(hub.secret, { user_id: 1, exp: 1 })}`;
  for (const [p, status] of [[dead, 401], ['/ws/chat/1/', 426]]) {
    const ok = await fetch(`${hub.url}${p}`, { headers: { Origin: 'https://school.example' } });
    assert.equal(ok.status, status);
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://school.example');
    assert.match(ok.headers.get('vary') ?? '', /Origin/);
    const evil = await fetch(`${hub.url}${p}`, { headers: { Origin: 'https://evil.example' } });
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
  }
});

test('401 for no, malformed, badly signed, expired, alg none tokens', async () => {
  const now = Math.floor(Date.now() / 1000);
  const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(
    JSON.stringify({ user_id: 1, exp: now + 600 })).toString('base64url')}.`;
  const cases = {
    none: '/ws/chat/1/',
    malformed: '/ws/chat/1/?token=a.b.c',
    badsig: `/ws/chat/1/?token=${signJwt('wrong-secret', { user_id: 1 })}`,
    expired: `/ws/chat/1/?token=${signJwt(hub.secret, { user_id: 1, exp: now - 3600 })}`,
    just_expired: `/ws/chat/1/?token=${signJwt(hub.secret, { user_id: 1, exp: now - 2 })}`,
    algnone: `/ws/chat/1/?token=${none}`,
    noexp: `/ws/chat/1/?token=${signJwt(hub.secret, { user_id: 1, exp: undefined })}`,
    nouser: `/ws/chat/1/?token=${signJwt(hub.secret, {})}`,
    bad_opaque: '/ws/chat/1/?token=not%20a%20token!',
  };
  for (const [name, p] of Object.entries(cases)) {
    assert.equal(await handshakeStatus(hub.wsUrl(p)), 401, name);
  }
});

test('403 for a disallowed Origin; an allowed one connects', async () => {
  const url = hub.wsUrl(`/ws/chat/1/?token=${hub.token(1)}`);
  assert.equal(await handshakeStatus(url, { headers: { Origin: 'https://evil.example' } }), 403);
  const c = await connect(url, { headers: { Origin: 'https://school.example' } });
  await c.close();
});

test('404 for unknown paths', async () => {
  for (const p of ['/ws/nope/', '/ws/chat/abc/', '/ws/chat/1/extra/', '/ws/chat/0/']) {
    assert.equal(await handshakeStatus(hub.wsUrl(`${p}?token=${hub.token(1)}`)), 404, p);
  }
  assert.equal((await fetch(`${hub.url}/nothing-here`)).status, 404);
});

test('non-participant gets error + 4403; missing room 4404; inactive user 4401', async () => {
  const c = new Client(hub.wsUrl(`/ws/chat/1/?token=${hub.token(4)}`));
  assert.equal((await c.next('error')).code, 'forbidden');
  assert.equal((await c.closed).code, 4403);
  const m = new Client(hub.wsUrl(`/ws/chat/424242/?token=${hub.token(1)}`));
  assert.equal((await m.next('error')).code, 'not_found');
  assert.equal((await m.closed).code, 4404);
  const u = new Client(hub.wsUrl(`/ws/chat/1/?token=${hub.token(777)}`));
  assert.equal((await u.next('error')).code, 'unauthorized');
  assert.equal((await u.closed).code, 4401);
});

test('store down at connect: error unavailable and 1013; /ready says 503', async () => {
  const port = await freePort(); // nothing listens there
  const down = await startHub({
    database: `postgresql://postgres@127.0.0.1:${port}/postgres`, migrate: false, wait: false,
  });
  try {
    for (let i = 0; i < 100; i++) {
      try { if ((await fetch(`${down.url}/health`)).status === 200) break; } catch {}
      await new Promise((r) => setTimeout(r, 100));
    }
    const ready = await fetch(`${down.url}/ready`);
    assert.equal(ready.status, 503);
    const c = new Client(down.wsUrl(`/ws/chat/1/?token=${down.token(1)}`));
    assert.equal((await c.next('error')).code, 'unavailable');
    assert.equal((await c.closed).code, 1013);
  } finally {
    await down.stop();
  }
});

test('GET /health and /ready', async () => {
  const h = await fetch(`${hub.url}/health`);
  assert.equal(h.status, 200);
  const r = await fetch(`${hub.url}/ready`);
  assert.equal(r.status, 200);
  assert.equal((await r.json()).status, 'ready');
});

test('chathub token mints a JWT the hub accepts', async () => {
  const { execFileSync } = await import('node:child_process');
  const t = execFileSync(BIN, ['token', '--user', '3'], {
    env: { PATH: process.env.PATH, HUB_JWT_SECRET: hub.secret }, encoding: 'utf8',
  }).trim();
  const c = await connect(hub.wsUrl(`/ws/chat/1/?token=${t}`));
  assert.equal(c.established.user.id, 3);
  await c.close();
});

// lws 4.1 drops a Sec-WebSocket-Protocol header of 127 bytes already (its
// 128-byte buffer keeps one byte for itself past the NUL): the lift and the
// 431 start there, so a header of 100-140 bytes either connects or gets 431.
test('subprotocol headers of every length around lws\'s limit connect or get 431, never a silent drop', async () => {
  for (let total = 100; total <= 140; total++) {
    // ws sends the list joined by ","
    const key = 'k'.repeat(total - 'chathub.v1,bearer.'.length);
    const put = await hub.api('POST', '/tokens', { user_id: 2, token: key });
    assert.equal(put.status, 201, put.text);
    const s = await connect(hub.wsUrl('/ws/chat/1/'), { protocols: ['chathub.v1', `bearer.${key}`] });
    assert.equal(s.established?.user.id, 2, `a ${total}-byte header`);
    await s.close();
    const other = ['chathub.v1', 'p'.repeat(total - 'chathub.v1,'.length)];
    const st = await handshakeStatus(hub.wsUrl(`/ws/chat/1/?token=${hub.token(2)}`), { protocols: other });
    assert.ok(st === 101 || st === 431, `a ${total}-byte header without a token: ${st}`);
  }
  // The refusal's body names a client's error, not "internal".
  const answer = await exchange(hub.port, upgradeHead(`/ws/chat/1/?token=${hub.token(2)}`,
    `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chathub.v1, ${'p'.repeat(200)}\r\n`));
  if (WS_NATIVE) {
    assert.match(answer, /^HTTP\/1\.1 101 /);
    return;
  }
  assert.match(answer, /^HTTP\/1\.1 431 /);
  assert.equal(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).error.code, 'too_large');
});

// A Bearer header the hub cannot read a token from was answered as if no
// token had been sent ("no_token"), and a plain GET with it got 426.
test('an unreadable Authorization: Bearer is 401 malformed_token, on an upgrade and a plain GET', async () => {
  const ask = (auth, upgrade) => exchange(hub.port, upgrade
    ? upgradeHead('/ws/chat/1/', `Authorization: ${auth}\r\nSec-WebSocket-Version: 13\r\n`)
    : `GET /ws/chat/1/ HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nConnection: close\r\n\r\n`);
  for (const auth of [`Bearer ${'a'.repeat(5000)}`, 'Bearer two words']) {
    for (const upgrade of [true, false]) {
      const answer = await ask(auth, upgrade);
      assert.match(answer, /^HTTP\/1\.1 401 /, `${auth.slice(0, 20)} upgrade=${upgrade}`);
      assert.match(answer, /malformed_token/);
    }
  }
});

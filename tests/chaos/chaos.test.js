// The chaos suite (issue 6): clients on three nodes (directly and through
// nginx) send and receive for 60 s while one node is SIGKILLed, another
// drained with SIGTERM, Redis restarted and PostgreSQL restarted. Clients
// reconnect and resume as the protocol says. Afterwards every receiver must
// have seen every seq of its room exactly once and in order, and the store
// must hold every acknowledged message exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startHub, seed, psql, freePort } from '../lib/hub.js';
import { startRedis, startPostgres, startNginx } from '../lib/servers.js';

const RUN_MS = Number(process.env.CHAOS_SECONDS ?? 60) * 1000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class ChaosClient {
  constructor(name, user, room, urls) {
    Object.assign(this, { name, user, room, urls });
    this.lastSeq = null;
    this.seen = 0;
    this.violations = [];
    this.pending = new Map(); // client_id → text, until acknowledged
    this.acked = new Set();
    this.nextId = 0;
    this.reconnects = 0;
    this.stopped = false;
    this.ws = null;
    this.open = false;
  }

  connect() {
    if (this.stopped) return;
    const base = this.urls[(this.reconnects + this.name.length) % this.urls.length]();
    const resume = this.lastSeq === null ? '' : `&last_seq=${this.lastSeq}`;
    const ws = new WebSocket(`${base}/ws/chat/${this.room}/?token=${this.token}${resume}`);
    this.ws = ws;
    ws.on('message', (d) => this.onFrame(JSON.parse(d)));
    ws.on('error', () => {});
    ws.on('close', (code) => {
      this.open = false;
      if (this.stopped) return;
      if ([4401, 4403, 4404].includes(code)) {
        this.violations.push(`closed with ${code}`);
        return;
      }
      this.reconnects++;
      setTimeout(() => this.connect(), 200 + Math.random() * 500);
    });
  }

  onFrame(f) {
    if (f.type === 'connection_established') {
      if (this.lastSeq === null) this.lastSeq = f.last_seq;
      this.open = true;
      for (const [id, text] of this.pending) this.ws.send(JSON.stringify({ type: 'chat_message', message: text, client_id: id }));
    } else if (f.type === 'chat_message') {
      const { seq, client_id: cid } = f.message;
      if (cid && this.pending.has(cid) && f.message.sender?.id === this.user) {
        this.pending.delete(cid);
        this.acked.add(cid);
      }
      if (cid && this.acked.has(cid) && seq <= this.lastSeq) return; // a retry's echo to its sender only
      if (seq !== this.lastSeq + 1) this.violations.push(`after ${this.lastSeq} got ${seq}`);
      this.lastSeq = Math.max(this.lastSeq, seq);
      this.seen++;
    }
  }

  send() {
    const id = `${this.name}-${this.nextId++}`;
    const text = `${this.name} says ${this.nextId}`;
    this.pending.set(id, text);
    if (this.open) this.ws.send(JSON.stringify({ type: 'chat_message', message: text, client_id: id }));
  }

  resendPending() {
    if (!this.open) return;
    for (const [id, text] of this.pending) this.ws.send(JSON.stringify({ type: 'chat_message', message: text, client_id: id }));
  }

  close() {
    this.stopped = true;
    this.ws?.terminate();
  }
}

test('chaos: SIGKILL, SIGTERM, Redis and PostgreSQL restarts under traffic lose and repeat nothing', { timeout: RUN_MS + 240000 }, async () => {
  const pg = await startPostgres();
  const redis = await startRedis();
  const ports = [await freePort(), await freePort(), await freePort()];
  const common = { database: pg.url, redis: redis.url, secret: 'chaos-secret', apiKey: 'chaos-key',
    env: { HUB_RATE_LIMIT: '1000', HUB_RATE_BURST: '1000', HUB_QUERY_TIMEOUT_MS: '2000' } };
  const nodes = [];
  nodes[0] = await startHub({ ...common, port: ports[0], nodeId: 'c1' });
  nodes[1] = await startHub({ ...common, port: ports[1], nodeId: 'c2', migrate: false });
  nodes[2] = await startHub({ ...common, port: ports[2], nodeId: 'c3', migrate: false });
  await seed(nodes[0]);
  await nodes[0].api('PUT', '/rooms/2', { type: 'GROUP', name: 'Chaos two', members: [1, 2, 3] });
  const nginx = await startNginx(ports);
  const direct = (i) => () => `ws://127.0.0.1:${ports[i]}`;
  const viaNginx = () => nginx.wsUrl('');
  const clients = [];
  for (const room of [1, 2]) {
    for (const [k, user] of [1, 2, 3].entries()) {
      const urls = k === 0 ? [viaNginx, direct(0), direct(1), direct(2)] : [direct(k), direct((k + 1) % 3), direct((k + 2) % 3)];
      const c = new ChaosClient(`r${room}u${user}`, user, room, urls);
      c.token = nodes[0].token(user);
      clients.push(c);
      c.connect();
    }
  }
  const t0 = Date.now();
  const at = (frac) => sleep(Math.max(0, t0 + RUN_MS * frac - Date.now()));
  let sending = true;
  const sender = (async () => {
    while (sending) {
      for (const c of clients) c.send();
      await sleep(150);
    }
  })();
  const log = [];
  const restart = async (i, signal, pause) => {
    log.push(`${signal} node c${i + 1}`);
    await nodes[i].stop(signal);
    await sleep(pause);
    nodes[i] = await startHub({ ...common, port: ports[i], nodeId: `c${i + 1}`, migrate: false });
  };
  await at(0.15);
  await restart(0, 'SIGKILL', 3000);
  await at(0.35);
  await restart(1, 'SIGTERM', 2000);
  await at(0.55);
  log.push('restart Redis');
  await redis.stop('SIGKILL');
  await sleep(1000);
  await redis.start();
  await at(0.75);
  log.push('restart PostgreSQL');
  pg.stop('immediate');
  await sleep(2000);
  pg.start();
  await at(1);
  sending = false;
  await sender;
  // Retries until every message a client sent is acknowledged.
  for (let i = 0; i < 60 && clients.some((c) => c.pending.size > 0); i++) {
    for (const c of clients) c.resendPending();
    await sleep(500);
  }
  const finalSeq = Object.fromEntries([1, 2].map((room) => [room, Number(psql(`SELECT last_seq FROM rooms WHERE id = ${room}`, pg.url))]));
  for (let i = 0; i < 60 && clients.some((c) => c.lastSeq < finalSeq[c.room]); i++) await sleep(500);
  for (const c of clients) c.close();

  const acked = clients.reduce((n, c) => n + c.acked.size, 0);
  const stored = Number(psql("SELECT count(*) FROM messages WHERE client_id LIKE 'r%u%-%'", pg.url));
  const duplicates = Number(psql('SELECT count(*) FROM (SELECT room_id, sender_id, client_id FROM messages WHERE client_id IS NOT NULL GROUP BY 1, 2, 3 HAVING count(*) > 1) d', pg.url));
  const gaps = Number(psql('SELECT count(*) FROM rooms r WHERE r.last_seq <> (SELECT count(*) FROM messages m WHERE m.room_id = r.id)', pg.url));
  let missingAcked = 0;
  for (const c of clients) {
    const ids = [...c.acked].map((id) => `'${id}'`).join(',');
    if (ids) missingAcked += c.acked.size - Number(psql(`SELECT count(DISTINCT client_id) FROM messages WHERE client_id IN (${ids})`, pg.url));
  }
  console.log(`# chaos: ${log.join(', ')}`);
  console.log(`# chaos: ${clients.length} clients, ${acked} messages acknowledged, ${stored} stored, final seqs ${JSON.stringify(finalSeq)}`);
  for (const c of clients) {
    console.log(`# chaos: ${c.name} saw ${c.seen} messages up to seq ${c.lastSeq}, ${c.reconnects} reconnects, ${c.pending.size} unacknowledged, ${c.violations.length} order violations`);
  }
  try {
    assert.ok(acked > clients.length * 50, `enough traffic: ${acked}`);
    for (const c of clients) {
      assert.deepEqual(c.violations, [], `${c.name} saw every seq once and in order`);
      assert.equal(c.pending.size, 0, `${c.name}: every send acknowledged`);
      assert.equal(c.lastSeq, finalSeq[c.room], `${c.name} reached the end of room ${c.room}`);
    }
    assert.equal(missingAcked, 0, 'every acknowledged message is stored');
    assert.equal(duplicates, 0, 'no client_id stored twice');
    assert.equal(gaps, 0, 'seqs are gapless in the store');
    assert.equal(stored, acked, 'stored exactly the acknowledged messages');
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await nginx.stop();
    await redis.stop();
    pg.destroy();
  }
});

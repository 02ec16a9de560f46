// GET /metrics (Prometheus text): the counters move with real traffic and the
// latency histograms are well formed (cumulative buckets, +Inf equals count).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, seed } from '../lib/hub.js';
import { connect } from '../lib/ws.js';

let hub;
before(async () => {
  hub = await startHub({ redis: true });
  await seed(hub);
});
after(async () => hub?.stop());

async function scrape() {
  const r = await hub.metrics();
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/plain/);
  const text = await r.text();
  const values = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = line.match(/^([a-z_]+(?:\{[^}]*\})?) (\S+)$/);
    assert.ok(m, `malformed line: ${line}`);
    values.set(m[1], Number(m[2]));
  }
  return { text, values };
}

function assertHistogram(values, name) {
  const buckets = [...values].filter(([k]) => k.startsWith(`${name}_bucket{`));
  assert.ok(buckets.length > 2, `${name} has buckets`);
  let prev = 0;
  let prevLe = 0;
  for (const [k, v] of buckets) {
    const le = k.match(/le="([^"]+)"/)[1];
    assert.ok(v >= prev, `${k} is cumulative`);
    if (le !== '+Inf') {
      assert.ok(Number(le) > prevLe, `${k} bounds ascend`);
      prevLe = Number(le);
    }
    prev = v;
  }
  assert.equal(values.get(`${name}_bucket{le="+Inf"}`), values.get(`${name}_count`));
  assert.ok(values.get(`${name}_sum`) >= 0);
  return values.get(`${name}_count`);
}

test('metrics need the API key: 401 without it or with another', async () => {
  for (const key of [null, 'not-the-key']) {
    const r = await hub.metrics(key);
    assert.equal(r.status, 401);
    assert.doesNotMatch(await r.text(), /chathub_/);
  }
  assert.equal((await hub.metrics()).status, 200);
});

test('metrics count connections, messages, resumes and latencies', async () => {
  const before = (await scrape()).values;
  const a = await connect(hub.wsUrl(`/ws/chat/1/?token=${hub.token(1)}`));
  const b = await connect(hub.wsUrl(`/ws/chat/1/?token=${hub.token(2)}`));
  for (let i = 0; i < 5; i++) a.send({ type: 'chat_message', message: `m${i}`, client_id: `metrics-${i}` });
  for (let i = 0; i < 5; i++) await b.next('chat_message');
  const c = await connect(hub.wsUrl(`/ws/chat/1/?token=${hub.token(3)}&last_seq=0`));
  for (let i = 0; i < 5; i++) await c.next('chat_message');

  const { values } = await scrape();
  assert.equal(values.get('chathub_connections'), 3);
  assert.equal(values.get('chathub_rooms'), 1);
  assert.equal(values.get('chathub_connections_accepted_total') - before.get('chathub_connections_accepted_total'), 3);
  assert.equal(values.get('chathub_resumes_total') - before.get('chathub_resumes_total'), 1);
  assert.equal(values.get('chathub_messages_in_total') - before.get('chathub_messages_in_total'), 5);
  assert.ok(values.get('chathub_frames_out_total') - before.get('chathub_frames_out_total') >= 15);
  assert.equal(values.get('chathub_store_up'), 1);
  assert.equal(values.get('chathub_redis_up'), 1);
  assert.ok(Math.abs(values.get('chathub_clock_offset_seconds')) < 1, 'Redis runs on this host: its clock is ours');
  assert.equal(values.get('chathub_draining'), 0);
  assert.ok(values.get('chathub_store_connects_total') >= 1);
  assert.ok(values.get('chathub_redis_connects_total') >= 1);

  const delivered = assertHistogram(values, 'chathub_delivery_seconds');
  assert.equal(delivered - (before.get('chathub_delivery_seconds_count') ?? 0), 5);
  assert.ok(assertHistogram(values, 'chathub_store_query_seconds') > 5);
  assert.ok(assertHistogram(values, 'chathub_redis_command_seconds') >= 5);
  for (const s of [a, b, c]) await s.close();
});

test('rate-limit hits are counted', async () => {
  const before = (await scrape()).values.get('chathub_rate_limited_total');
  const a = await connect(hub.wsUrl(`/ws/chat/1/?token=${hub.token(1)}`));
  for (let i = 0; i < 60; i++) a.send({ type: 'ping' });
  await a.next('error', 5000, (f) => f.code === 'rate_limited');
  const after = (await scrape()).values.get('chathub_rate_limited_total');
  assert.ok(after > before);
  await a.close();
});

// Two live nodes with one HUB_NODE_ID (an environment file copied to a
// second host) share presence entries and skip each other's publications:
// the one that started later says so in its log and its /ready answers 503
// naming node_id; a node restarted under its own id after a crash is not
// taken for a twin.
// Runs in the native pass only: node ids, presence entries and /ready; no WebSocket part.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, createDatabase, stopAll, readyBecomes } from '../lib/hub.js';
import { startRedis } from '../lib/servers.js';
import { sleep } from '../lib/ws.js';

let redis, database;
const shared = () => ({ database, redis: redis.url, secret: 'node-secret', apiKey: 'node-key' });

before(async () => {
  redis = await startRedis();
  database = createDatabase();
});
after(async () => {
  await stopAll([], redis);
});

const ready = async (hub) => {
  const r = await fetch(`${hub.url}/ready`);
  return { status: r.status, body: await r.json() };
};

test('of two live nodes with one HUB_NODE_ID, the later one logs it and is not ready; the first stays ready', { timeout: 60000 }, async () => {
  const first = await startHub({ ...shared(), nodeId: 'twin' });
  const later = await startHub({ ...shared(), nodeId: 'twin', migrate: false });
  try {
    assert.ok(await readyBecomes(later, 503, 15000), 'the later one stops being ready');
    assert.deepEqual((await ready(later)).body.failed, ['node_id']);
    assert.match(later.log, /event=hub\.node_id_in_use node=twin/);
    assert.equal((await ready(first)).status, 200, 'the first one stays ready');
    assert.match(first.log, /event=hub\.node_id_twin node=twin/);
    assert.doesNotMatch(first.log, /node_id_in_use/);
  } finally {
    await stopAll([first, later]);
  }
});

test('a node restarted under its own HUB_NODE_ID after a crash is not a twin', { timeout: 60000 }, async () => {
  const crashed = await startHub({ ...shared(), nodeId: 'phoenix', migrate: false });
  await sleep(2500); // a beat or two in its key
  await crashed.stop('SIGKILL');
  const again = await startHub({ ...shared(), nodeId: 'phoenix', migrate: false });
  try {
    await sleep(9000); // past the dead one's key and several beats
    assert.equal((await ready(again)).status, 200);
    assert.doesNotMatch(again.log, /node_id_in_use|node_id_twin/);
  } finally {
    await again.stop();
  }
});

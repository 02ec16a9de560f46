// A room's first socket on a node must not miss what another node publishes
// while this node's SUBSCRIBE to the room is still on its way: the room is
// read from the store at join, but Redis only forwards what is published
// after it confirms the subscription. The node under test reaches Redis
// through a proxy that holds the room's SUBSCRIBE back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, seed, createDatabase, stopAll } from '../lib/hub.js';
import { startRedis } from '../lib/servers.js';
import { startProxy } from '../lib/proxy.js';
import { connect, sleep } from '../lib/ws.js';

const shared = { secret: 'subscribe-secret', apiKey: 'subscribe-key' };
let redis, proxy, direct, held;

before(async () => {
  redis = await startRedis();
  proxy = await startProxy(redis.port);
  const database = createDatabase();
  direct = await startHub({ ...shared, database, redis: redis.url, nodeId: 'direct' });
  await seed(direct);
  held = await startHub({ ...shared, database, redis: `redis://127.0.0.1:${proxy.port}`, nodeId: 'held', migrate: false });
});
after(async () => {
  await stopAll([direct, held], [proxy, redis]);
});

const open = (hub, user, room) => connect(hub.wsUrl(`/ws/chat/${room}/?token=${hub.token(user)}`));

test('a message published while the first socket subscribes reaches it once', { timeout: 30000 }, async () => {
  const z = await open(direct, 3, 1);
  proxy.hold('chathub:room:1');
  const x = await open(held, 1, 1);
  for (let i = 0; proxy.holding() === 0; i++) {
    assert.ok(i < 100, 'the node sent its SUBSCRIBE');
    await sleep(50);
  }
  z.send({ type: 'chat_message', message: 'while subscribing', client_id: 'sub-1' });
  const sent = await z.next('chat_message');
  assert.ok(sent.message.seq > x.established.last_seq, 'stored after the join read the room');
  await sleep(300); // published, and not forwarded to a node that is not subscribed yet
  proxy.release();
  assert.deepEqual(await x.next('chat_message', 10000), sent);
  await sleep(500);
  assert.equal(x.frames.filter((f) => f.type === 'chat_message').length, 1, 'once');
  await Promise.all([x.close(), z.close()]);
});

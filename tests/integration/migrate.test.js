// Three nodes started at the same moment on one empty database all come up,
// and exactly one applies the migrations (the advisory lock).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, createDatabase, psql } from '../lib/hub.js';

test('three nodes migrating one empty database at once', async () => {
  const database = createDatabase();
  const hubs = await Promise.all([0, 1, 2].map(() => startHub({ database })));
  try {
    const applied = hubs.map((h) => (h.log.match(/event=migrate\.applied/g) ?? []).length);
    assert.equal(applied.filter((n) => n > 0).length, 1, `applied per node: ${applied}`);
    for (const h of hubs) assert.equal((await fetch(`${h.url}/ready`)).status, 200);
    const versions = psql('SELECT count(*) FROM schema_migrations', database).trim();
    assert.equal(Number(versions), applied.find((n) => n > 0));
  } finally {
    await Promise.all(hubs.map((h) => h.stop()));
  }
});

test('chathub migrate is idempotent', async () => {
  const { execFileSync } = await import('node:child_process');
  const { BIN } = await import('../lib/hub.js');
  const database = createDatabase();
  const run = () => execFileSync(BIN, ['migrate'], {
    env: { PATH: process.env.PATH, DATABASE_URL: database }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  });
  run();
  run();
  assert.equal(psql("SELECT count(*) FROM rooms WHERE type = 'GENERAL'", database).trim(), '1');
});

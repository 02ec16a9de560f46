// The files the hub serves itself: the demo page, the browser client, and the
// development-only demo token endpoint.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startHub, ROOT } from '../lib/hub.js';

const hubs = [];
after(async () => Promise.all(hubs.map((h) => h.stop())));

test('/ and /client/chathub.js are served byte for byte with their types', async () => {
  const hub = await startHub();
  hubs.push(hub);
  const page = await fetch(`${hub.url}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /^text\/html/);
  assert.match(await page.text(), /<script type="module" src="\/demo.js">/);
  const js = await fetch(`${hub.url}/client/chathub.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  assert.equal(await js.text(), readFileSync(path.join(ROOT, 'clients', 'js', 'chathub.js'), 'utf8'));
  assert.equal((await fetch(`${hub.url}/client/nope.js`)).status, 404);
});

test('/demo/token only for HUB_DEMO_USERS, and not at all without it', async () => {
  const plain = hubs[0];
  assert.equal((await fetch(`${plain.url}/demo/token?user=1`)).status, 404);
  const demo = await startHub({ env: { HUB_DEMO_USERS: '1,3' } });
  hubs.push(demo);
  const r = await fetch(`${demo.url}/demo/token?user=3`);
  assert.equal(r.status, 200);
  const { token, user_id: uid } = await r.json();
  assert.equal(uid, 3);
  assert.equal(token.split('.').length, 3);
  assert.equal((await fetch(`${demo.url}/demo/token?user=2`)).status, 403);
  assert.equal((await fetch(`${demo.url}/demo/token`)).status, 403);
});

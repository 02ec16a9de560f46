// The browser side end to end (issue 7): Debian's Chromium, driven by
// playwright-core, opens the demo page served by two hub nodes; a student and
// a parent exchange messages, see each other's presence and typing; the node
// under the student's page is killed and the page reconnects showing every
// message once; a 4403 stops reconnecting; a dead token stops with 4401
// although Chromium only reports 1006. Screenshots go to screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startHub, seed, createDatabase, freePort, signJwt, ROOT, stopAll } from '../lib/hub.js';
import { startRedis } from '../lib/servers.js';

const SHOTS = path.join(ROOT, 'tests', 'browser', 'screenshots');
let redis, browser, a, b, portA;
const common = () => ({ database: null, redis: redis.url, secret: 'browser-secret', apiKey: 'browser-key', env: { HUB_DEMO_USERS: '1,2,3' } });
let database;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  redis = await startRedis();
  database = createDatabase();
  portA = await freePort();
  a = await startHub({ ...common(), database, port: portA, nodeId: 'ba' });
  b = await startHub({ ...common(), database, nodeId: 'bb', migrate: false });
  await seed(a);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});
after(async () => {
  await browser?.close();
  await stopAll([a, b], redis);
});

const seqsOn = (page) => page.$$eval('#messages li[data-seq]', (lis) => lis.map((li) => Number(li.dataset.seq)));
const textsOn = (page) => page.$$eval('#messages li .text', (els) => els.map((e) => e.textContent));

test('student and parent on two nodes: messages, presence, typing, a killed node, and 4403', { timeout: 120000 }, async () => {
  const student = await browser.newPage();
  const parent = await browser.newPage();
  await student.goto(`${a.url}/?user=1&room=1`);
  await student.waitForSelector('#state.open', { timeout: 15000 });
  await parent.goto(`${b.url}/?user=3&room=1`);
  await parent.waitForSelector('#state.open', { timeout: 15000 });

  // Presence: each sees the other online.
  await student.waitForSelector('#online li[data-user="3"]', { timeout: 10000 });
  await parent.waitForSelector('#online li[data-user="1"]', { timeout: 10000 });

  // Typing reaches the other page.
  await student.type('#text', 'Hello from the student');
  await parent.waitForFunction(() => document.querySelector('#typing').textContent.includes('Ivan Petrov'), null, { timeout: 10000 });
  await student.click('#send');
  await parent.waitForFunction(() => [...document.querySelectorAll('#messages .text')].some((e) => e.textContent === 'Hello from the student'), null, { timeout: 10000 });
  await student.waitForSelector('#messages li.mine:not(.pending)', { timeout: 10000 });
  await parent.fill('#text', 'Hello from the parent');
  await parent.click('#send');
  await student.waitForFunction(() => [...document.querySelectorAll('#messages .text')].some((e) => e.textContent === 'Hello from the parent'), null, { timeout: 10000 });
  await student.screenshot({ path: path.join(SHOTS, 'student.png') });
  await parent.screenshot({ path: path.join(SHOTS, 'parent.png') });

  // The node under the student's page dies; the parent keeps writing.
  await a.stop('SIGKILL');
  await student.waitForSelector('#state.reconnecting', { timeout: 10000 });
  for (let i = 1; i <= 3; i++) {
    await parent.fill('#text', `while you were away ${i}`);
    await parent.click('#send');
  }
  await parent.waitForFunction(() => document.querySelectorAll('#messages li[data-seq]').length >= 5, null, { timeout: 10000 });
  await student.screenshot({ path: path.join(SHOTS, 'student-reconnecting.png') });
  a = await startHub({ ...common(), database, port: portA, nodeId: 'ba', migrate: false });
  await student.waitForSelector('#state.open', { timeout: 40000 });
  await student.waitForFunction(() => [...document.querySelectorAll('#messages .text')].some((e) => e.textContent === 'while you were away 3'), null, { timeout: 15000 });
  const seqs = await seqsOn(student);
  assert.deepEqual(seqs, seqs.map((_, i) => seqs[0] + i), `each seq once and in order: ${seqs}`);
  assert.deepEqual(await seqsOn(student), await seqsOn(parent));
  assert.equal((await textsOn(student)).filter((t) => t === 'while you were away 2').length, 1);
  await student.screenshot({ path: path.join(SHOTS, 'student-resumed.png') });

  // Removed from the room: 4403, and the page stops reconnecting.
  const r = await a.api('DELETE', '/rooms/1/participants/3');
  assert.equal(r.status, 200);
  await parent.waitForSelector('#state.closed', { timeout: 10000 });
  await parent.waitForFunction(() => document.querySelector('#notice').textContent.includes('4403'), null, { timeout: 5000 });
  await new Promise((res) => setTimeout(res, 3000));
  assert.equal(await parent.evaluate(() => window.chat.state), 'closed');
  await parent.screenshot({ path: path.join(SHOTS, 'parent-removed.png') });
});

test('a dead token stops the page with 4401 although the browser only sees 1006', { timeout: 60000 }, async () => {
  const page = await browser.newPage();
  await page.goto(`${a.url}/?user=1&room=1`);
  await page.waitForSelector('#state.open', { timeout: 15000 });
  const now = Math.floor(Date.now() / 1000);
  // Expired a minute ago: within the client's grace, so only the hub's 401 to
  // the HTTP probe can tell; then an hour ago, which the client refuses itself.
  for (const [exp, reason] of [[now - 60, 'unauthorized'], [now - 3600, 'token_expired']]) {
    const dead = signJwt('browser-secret', { user_id: 1, exp });
    const closed = await page.evaluate((t) => new Promise((resolve) => {
      window.chat.disconnect();
      const seen = [];
      window.chat.on('closed', (v) => { seen.push(v); resolve(seen); });
      window.chat.connect(1, t);
    }), dead);
    assert.deepEqual(closed, [{ code: 4401, reason }]);
    await page.waitForSelector('#state.closed', { timeout: 5000 });
    await page.waitForFunction(() => document.querySelector('#notice').textContent.includes('4401'), null, { timeout: 5000 });
  }
  await new Promise((res) => setTimeout(res, 2000));
  assert.equal(await page.evaluate(() => window.chat.state), 'closed', 'no reconnect after 4401');
  await page.close();
});

test('entering a room shows its latest page; "Earlier messages" brings the rest, each seq once', { timeout: 60000 }, async () => {
  for (let i = 1; i <= 35; i++) {
    const r = await a.api('POST', '/rooms/1/messages', { sender_id: 2, content: `earlier ${i}`, client_id: `earlier-${i}` });
    assert.ok(r.status === 201 || r.status === 200, `post ${i}: ${r.status}`);
  }
  const last = (await a.api('GET', '/rooms/1/messages?limit=1')).json.messages[0].seq;
  assert.ok(last > 35, `room 1 has the first test's messages and these (${last})`);
  const page = await browser.newPage();
  await page.goto(`${b.url}/?user=2&room=1`);
  await page.waitForSelector('#state.open', { timeout: 15000 });
  await page.waitForFunction(() => document.querySelectorAll('#messages li[data-seq]').length === 30, null, { timeout: 10000 });
  let seqs = await seqsOn(page);
  assert.deepEqual(seqs, seqs.map((_, i) => last - 29 + i), 'the latest 30, in order');
  assert.equal(await page.isVisible('#earlier'), true);
  await page.click('#earlier');
  await page.waitForFunction((n) => document.querySelectorAll('#messages li[data-seq]').length === n, last, { timeout: 10000 });
  seqs = await seqsOn(page);
  assert.deepEqual(seqs, seqs.map((_, i) => 1 + i), 'every seq from 1, once and in order');
  await page.waitForSelector('#earlier', { state: 'hidden', timeout: 5000 });
  // A live message still lands at the bottom.
  await page.fill('#text', 'after the pages');
  await page.click('#send');
  await page.waitForFunction((n) => document.querySelector('#messages li:last-child')?.dataset.seq === String(n), last + 1, { timeout: 10000 });
  await page.screenshot({ path: path.join(SHOTS, 'history.png') });
  await page.close();
});

// Switching user kept the old user's place: the socket resumed from their
// seq, so the new user's list stayed empty with no way to earlier pages, and
// a message still pending went out under the new user's name (an audit).
test('switching user on the page shows the room afresh, and a message goes as the user who sent it', { timeout: 60000 }, async () => {
  const page = await browser.newPage();
  await page.goto(`${a.url}/?user=2&room=1`);
  await page.waitForSelector('#state.open', { timeout: 15000 });
  await page.waitForFunction(() => document.querySelectorAll('#messages li[data-seq]').length > 0, null, { timeout: 10000 });
  await page.selectOption('#user', '1'); // Ivan: Olga left room 1 in the first test
  await page.waitForFunction(() => window.chat.state === 'open' && document.querySelectorAll('#messages li[data-seq]').length > 0, null, { timeout: 10000 });
  const established = await page.evaluate(() => new Promise((resolve) => {
    window.chat.on('connection_established', (e) => resolve({ user: e.user.id, resumed: e.resumed_from }));
    window.chat.switchRoom(1); // the same room again: a token refresh, resumed
  }));
  assert.deepEqual(established.user, 1);
  await page.fill('#text', 'from ivan');
  await page.click('#send');
  await page.waitForFunction(() => [...document.querySelectorAll('#messages li[data-seq]')].some((li) => li.textContent.includes('from ivan')), null, { timeout: 10000 });
  const h = await a.api('GET', '/rooms/1/messages?limit=1');
  assert.equal(h.json.messages[0].content, 'from ivan');
  assert.equal(h.json.messages[0].sender.id, 1);
  await page.close();
});

// Two quick picks: the first one's token came last and its room won, while
// the page showed the second (an audit).
test('two quick room picks end in the one picked last', { timeout: 60000 }, async () => {
  const page = await browser.newPage();
  await page.goto(`${a.url}/?user=2&room=1`);
  await page.waitForSelector('#state.open', { timeout: 15000 });
  let held = true;
  await page.route('**/demo/token*', async (route) => {
    if (held) {
      held = false;
      await new Promise((r) => setTimeout(r, 700));
    }
    await route.continue();
  });
  await page.click('#rooms button[data-room="general"]');
  await page.click('#rooms button[data-room="1"]');
  await new Promise((r) => setTimeout(r, 1500));
  await page.waitForSelector('#state.open', { timeout: 15000 });
  assert.equal(await page.evaluate(() => window.chat.roomId), 1);
  assert.equal(await page.textContent('#room-title'), 'Mathematics');
  await page.close();
});

// A send that ended (refused by the hub or the client) stayed a "sending"
// bubble for good, and a zero-width-only text went out (trim() keeps it).
test('a refused send is marked as not sent, and a zero-width text is not sent at all', { timeout: 60000 }, async () => {
  const page = await browser.newPage();
  await page.goto(`${a.url}/?user=1&room=1`);
  await page.waitForSelector('#state.open', { timeout: 15000 });
  const before = await page.$$eval('#messages li', (lis) => lis.length);
  await page.fill('#text', '\u200b\u2060\u200b');
  await page.click('#send');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await page.$$eval('#messages li', (lis) => lis.length), before, 'no bubble for a blank text');
  await page.fill('#text', 'x'.repeat(70000)); // over the client's 65536: refused at once
  await page.click('#send');
  await page.waitForSelector('#messages li.failed', { timeout: 5000 });
  assert.equal(await page.$$eval('#messages li.pending', (lis) => lis.length), 0);
  await page.close();
});

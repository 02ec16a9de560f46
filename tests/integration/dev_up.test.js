// The README's first command: deploy/dev up starts PostgreSQL, Redis and the
// hub, seeds the demo, prints working URLs, and stops everything on Ctrl-C.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { ROOT, freePort } from '../lib/hub.js';
import { connect, Client } from '../lib/ws.js';

test('deploy/dev up serves the seed check and stops cleanly on SIGINT', { timeout: 180000 }, async () => {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chathub-devup-'));
  const proc = spawn('bash', [path.join(ROOT, 'deploy', 'dev'), 'up'], {
    env: { ...process.env, HUB_LISTEN: `127.0.0.1:${port}`, CHATHUB_DEV_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const exited = new Promise((r) => proc.once('exit', (code, sig) => r({ code, sig })));
  try {
    const deadline = Date.now() + 150000;
    while (!out.includes('Ctrl-C stops everything') && Date.now() < deadline && proc.exitCode === null) {
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(out.includes('Ctrl-C stops everything'), `dev up did not come up:\n${out}`);
    const head = await fetch(`http://127.0.0.1:${port}/ws/chat/1/`, { method: 'HEAD' });
    assert.equal(head.status, 426);
    const tokens = [...out.matchAll(/ws:\/\/localhost:\d+\/ws\/chat\/1\/\?token=(\S+)/g)].map((m) => m[1]);
    assert.equal(tokens.length, 3, 'three demo users printed');
    const url = (t) => `ws://127.0.0.1:${port}/ws/chat/1/?token=${t}`;
    const student = await connect(url(tokens[0]));
    const parent = await connect(url(tokens[2]));
    student.send({ type: 'chat_message', message: 'Test message', room_id: 1 });
    const a = await student.next('chat_message');
    const b = await parent.next('chat_message');
    assert.deepEqual(a, b);
    assert.equal(a.message.content, 'Test message');
    await student.close();
    await parent.close();
  } finally {
    proc.kill('SIGINT');
    const { code } = await exited;
    const pgdir = path.join(dir, 'pg', 'data');
    const pidfile = path.join(pgdir, 'postmaster.pid');
    assert.ok(!existsSync(pidfile), `PostgreSQL still running: ${existsSync(pidfile) && readFileSync(pidfile, 'utf8')}`);
    assert.ok(code === 0 || code === 130 || code === null, `exit code ${code}\n${out}`);
    assert.ok(out.includes('dev: stopped'), `no clean stop:\n${out}`);
    rmSync(dir, { recursive: true, force: true });
  }
});

// A TCP proxy on a free loopback port for tests that make one client's link
// to a server misbehave while other clients' links stay sound: lose the
// server's replies (freeze: the statement itself ran), hold back or drop what
// the client sends (hold, stall), hold back the server's replies from a
// request on (holdReplies), answer late (delayReplies), or go away and come
// back (cut, restore).
import net from 'node:net';

/** Forward 127.0.0.1:<port> to 127.0.0.1:targetPort. */
export async function startProxy(targetPort) {
  const conns = new Set();
  let server = null;
  let port = 0;
  let pattern = null;
  let replyPattern = null;
  let replyDelay = 0;

  const pipe = (client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    const c = { client, upstream, frozen: false, stalled: false, held: null, heldReplies: null };
    conns.add(c);
    client.on('data', (d) => {
      if (c.stalled) return;
      if (c.heldReplies === null && replyPattern !== null && d.includes(replyPattern)) c.heldReplies = [];
      if (c.held === null && pattern !== null && d.includes(pattern)) c.held = [];
      if (c.held !== null) c.held.push(d);
      else upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (c.frozen) return;
      if (c.heldReplies !== null) c.heldReplies.push(d);
      else if (replyDelay > 0) setTimeout(() => client.write(d), replyDelay); // in order: same delay
      else client.write(d);
    });
    const end = () => { client.destroy(); upstream.destroy(); conns.delete(c); };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
  };
  const listen = () => new Promise((resolve, reject) => {
    server = net.createServer(pipe);
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      port = server.address().port;
      resolve();
    });
  });
  /** Close every proxied connection and stop listening: connects are refused. */
  const cut = async () => {
    if (server === null) return;
    const closed = new Promise((resolve) => server.close(resolve));
    server = null;
    for (const c of conns) { c.client.destroy(); c.upstream.destroy(); }
    conns.clear();
    await closed;
  };

  await listen();
  return {
    get port() { return port; },
    get url() { return `redis://127.0.0.1:${port}`; },
    /** Drop the server's bytes on every connection open now; returns how many. */
    freeze() {
      for (const c of conns) c.frozen = true;
      return conns.size;
    },
    thaw() {
      for (const c of conns) c.frozen = false;
    },
    /** Drop the client's bytes on the connections open now (a link dead without a reset). */
    stall() {
      for (const c of conns) c.stalled = true;
    },
    /** From the first client chunk containing text on, keep that connection's bytes back. */
    hold(text) { pattern = text; },
    /** How many connections hold bytes back. */
    holding() { return [...conns].filter((c) => c.held !== null).length; },
    /** From the first client chunk containing text on, keep that connection's replies back. */
    holdReplies(text) { replyPattern = text; },
    /** How many connections hold replies back. */
    holdingReplies() { return [...conns].filter((c) => c.heldReplies !== null).length; },
    /** Pass every server reply on ms late, as a far server's would come. */
    delayReplies(ms) { replyDelay = ms; },
    /** Pass the held replies on, in order, and hold none more. */
    releaseReplies() {
      replyPattern = null;
      for (const c of conns) {
        for (const d of c.heldReplies ?? []) c.client.write(d);
        c.heldReplies = null;
      }
    },
    /** Send what was held on, in order, and hold nothing more. */
    release() {
      pattern = null;
      for (const c of conns) {
        for (const d of c.held ?? []) c.upstream.write(d);
        c.held = null;
      }
    },
    cut,
    /** Listen again on the same port. */
    restore: listen,
    close: cut,
    stop: cut,
  };
}

/** url (postgresql://host:port/db) with its host and port replaced by the proxy's. */
export function viaProxy(url, proxy) {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(proxy.port);
  return u.toString();
}

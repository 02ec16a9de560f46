// A TCP proxy for tests that lose a server's replies: in front of PostgreSQL,
// freeze() drops every server->client byte on the connections open at that
// moment (a reply lost on the way, the statement itself ran), thaw() lets
// bytes through again; connections made later are never frozen.
import net from 'node:net';

/** Listen on a free loopback port and forward to 127.0.0.1:targetPort. */
export async function startFreezeProxy(targetPort) {
  const conns = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    const conn = { client, upstream, frozen: false };
    conns.add(conn);
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => { if (!conn.frozen) client.write(d); });
    const end = () => { client.destroy(); upstream.destroy(); conns.delete(conn); };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    /** Drop the replies on every connection open now; returns how many. */
    freeze() {
      for (const c of conns) c.frozen = true;
      return conns.size;
    },
    thaw() {
      for (const c of conns) c.frozen = false;
    },
    close() {
      server.close();
      for (const c of conns) { c.client.destroy(); c.upstream.destroy(); }
      conns.clear();
    },
  };
}

/** url (postgresql://host:port/db) with its host and port replaced by the proxy's. */
export function viaProxy(url, proxy) {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(proxy.port);
  return u.toString();
}

/**
 * Forward to 127.0.0.1:targetPort; hold(text) keeps back, from the first
 * client->server chunk containing text on, that connection's bytes (a Redis
 * SUBSCRIBE on its way, say) until release() sends them on, in order.
 */
export async function startHoldProxy(targetPort) {
  const conns = new Set();
  let pattern = null;
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    const conn = { client, upstream, held: null };
    conns.add(conn);
    client.on('data', (d) => {
      if (conn.held === null && pattern !== null && d.includes(pattern)) conn.held = [];
      if (conn.held !== null) conn.held.push(d);
      else upstream.write(d);
    });
    upstream.on('data', (d) => client.write(d));
    const end = () => { client.destroy(); upstream.destroy(); conns.delete(conn); };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    hold(text) { pattern = text; },
    /** How many connections hold bytes back. */
    holding() { return [...conns].filter((c) => c.held !== null).length; },
    release() {
      pattern = null;
      for (const c of conns) {
        for (const d of c.held ?? []) c.upstream.write(d);
        c.held = null;
      }
    },
    close() {
      server.close();
      for (const c of conns) { c.client.destroy(); c.upstream.destroy(); }
      conns.clear();
    },
  };
}

// chathub browser client (PROTOCOL.md §7): one room at a time, reconnect with
// exponential backoff and full jitter, resume by seq, exactly-once in-order
// delivery to the app, and sends that survive reconnects by client_id.

const BACKOFF_BASE_MS = 1000;
const BACKOFF_CAP_MS = 30000;
const LOST_AFTER = 5; // failed attempts before connection_lost
const FINAL_CODES = new Set([4401, 4403, 4404]); // the server said no: do not retry
const RESTART_JITTER_MS = 1000; // 1012: reconnect at once, spread over a second
const RETRYABLE_ERRORS = new Set(['unavailable', 'rate_limited', 'internal']);
const RATE_PAUSE_MS = 5000; // 4429: the pause before reconnecting; rate_limited: before a resend
const MAX_MESSAGE_BYTES = 65536; // the hub's HUB_MAX_MESSAGE_BYTES default
// The hub's HUB_RATE_LIMIT and HUB_RATE_BURST defaults: every frame a socket
// sends costs one. The client paces its frames a little under them (the
// hub's clock runs per loop turn, and frames bunch on the way), so that a
// burst of sends, or the sends a reconnect carries again, is never refused,
// and a run of refusals never costs the socket a 4429.
const RATE_LIMIT = 20;
const RATE_BURST = 40;
const RATE_MARGIN = 0.9;
// A JWT is refused locally only this long past its exp: the hub's leeway can be
// up to 300 s, so no hub would still accept it, whatever HUB_JWT_LEEWAY_SECONDS
// says, unless the client's clock runs ahead. Younger dead tokens are caught by
// the probe after the failed upgrade.
const EXPIRED_GRACE_S = 300;
// A room open this long was a good connection: the backoff starts again from
// the bottom when it drops. One closed sooner (1011, 4408 at once) keeps it
// growing, so a hub that accepts and closes is not hammered.
const STABLE_MS = 10000;
// A link can die without a close: a NAT or proxy that forgets the connection,
// a laptop that sleeps, a Wi-Fi hop. Browsers give a page no keepalive of
// their own, so the client watches: a handshake that has not brought
// connection_established in CONNECT_TIMEOUT_MS is a failed attempt (well
// past a hub's own answer to a store that is down, 1013 after its 5 s query
// timeout, and the queue before it: shorter, a slow but working hub was
// retried over and over), and a room silent for PING_INTERVAL_MS gets a
// ping, whose answer (or any frame) must come within PONG_TIMEOUT_MS or the
// socket is taken for dead and replaced. The hub never lets a frame overtake
// another, so the pong waits behind a history page the socket asked for:
// while one is on its way the deadline is HISTORY_PONG_FACTOR times longer
// (a 6 MB page at 1 Mbit/s takes 50 s).
const CONNECT_TIMEOUT_MS = 30000;
const PING_INTERVAL_MS = 25000;
const PONG_TIMEOUT_MS = 10000;
const HISTORY_PONG_FACTOR = 12;

/** Full jitter: a delay in [0, min(cap, base * 2^attempt)). attempt 0 → up to 1 s. */
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 16));
  return Math.floor(random() * ceiling);
}

function defaultUrl() {
  if (typeof location === 'undefined') return 'ws://localhost:8001';
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
}

function base64urlJson(part) {
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
  return JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)));
}

/** A JWT's payload, unverified (the hub verifies), or null for anything else. */
function jwtClaims(token) {
  const parts = typeof token === 'string' ? token.split('.') : [];
  if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]+$/.test(p)) || typeof atob !== 'function') return null;
  try {
    const claims = base64urlJson(parts[1]);
    return claims !== null && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}

/**
 * True when token is a JWT whose exp is more than EXPIRED_GRACE_S in the past
 * by nowMs. Anything else (an opaque token, an unreadable payload, no exp) is
 * false: the hub decides.
 */
export function jwtExpired(token, nowMs) {
  const exp = jwtClaims(token)?.exp;
  return typeof exp === 'number' && Number.isFinite(exp) && nowMs / 1000 >= exp + EXPIRED_GRACE_S;
}

/**
 * True when token is a JWT at or within EXPIRED_GRACE_S of its exp by nowMs:
 * a 4401 then is its expiry (the app brings a new token), not a revocation
 * or a deactivation.
 */
function jwtExpiring(token, nowMs) {
  const exp = jwtClaims(token)?.exp;
  return typeof exp === 'number' && Number.isFinite(exp) && nowMs / 1000 >= exp - EXPIRED_GRACE_S;
}

/** A room id as the hub names it: digits become a number ('12' is room 12). */
function roomKey(roomId) {
  if (roomId === null || roomId === undefined) return null;
  return /^\d+$/.test(String(roomId)) ? Number(roomId) : roomId;
}

let idCounter = 0;
/** The bytes a send's frame takes on the wire, as the hub counts them. */
function sendFrameBytes(clientId, text) {
  return new TextEncoder().encode(JSON.stringify({ type: 'chat_message', message: text, client_id: clientId })).length;
}

function newClientId(random, prefix = 'c') {
  idCounter += 1;
  return `${prefix}-${Date.now().toString(36)}-${idCounter.toString(36)}-${Math.floor(random() * 1e9).toString(36)}`;
}

export class ChatSocket {
  /**
   * options: url (ws[s]://host, default: the page's origin), maxMessageBytes
   * (the hub's HUB_MAX_MESSAGE_BYTES, 65536: a longer send is refused here
   * with too_large), rateLimit and rateBurst (the hub's HUB_RATE_LIMIT and
   * HUB_RATE_BURST, 20 and 40: frames beyond wait their turn here),
   * connectTimeoutMs, pingIntervalMs and pongTimeoutMs (30000, 25000, 10000;
   * 0 turns that watch off: no deadline, or no pings, or pings with no
   * deadline), and for tests WebSocket, setTimeout, clearTimeout, random,
   * now (ms; also the link watch's clock, else a monotonic one), fetch
   * (null: no probe after a failed upgrade).
   */
  constructor(options = {}) {
    this.url = (options.url ?? defaultUrl()).replace(/^http/, 'ws').replace(/\/$/, '');
    this.WS = options.WebSocket ?? globalThis.WebSocket;
    this.setTimeout = options.setTimeout ?? globalThis.setTimeout.bind(globalThis);
    this.clearTimeout = options.clearTimeout ?? globalThis.clearTimeout.bind(globalThis);
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    // The link watch's clock: a wall clock stepped back (NTP) would make a
    // pong look older than its ping.
    this.clock = options.now ?? (globalThis.performance ? () => globalThis.performance.now() : Date.now);
    this.fetch = options.fetch === undefined ? globalThis.fetch?.bind(globalThis) : options.fetch;
    this.maxMessageBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    this.rateLimit = (options.rateLimit ?? RATE_LIMIT) * RATE_MARGIN;
    this.rateBurst = Math.max(1, Math.floor((options.rateBurst ?? RATE_BURST) * RATE_MARGIN));
    this.connectTimeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    this.pingIntervalMs = options.pingIntervalMs ?? PING_INTERVAL_MS;
    this.pongTimeoutMs = options.pongTimeoutMs ?? PONG_TIMEOUT_MS;
    this.watchdog = null; // the socket's handshake deadline, then its idle check
    this.heardAt = 0; // when the socket last brought a frame (clock())
    this.pingAt = null; // when the idle check last sent a ping (clock())
    this.outbox = []; // frames the open socket sends as the rate allows
    this.biggestSent = 0; // the largest send frame the current socket carried (bytes)
    this.outboxTimer = null;
    this.tokens = 0;
    this.tokensAt = 0;
    this.slowedAt = null; // when a rate_limited answer last halved the pace
    this.handlers = new Map();
    this.state = 'closed';
    this.roomId = null; // the room asked for, then the one connection_established named
    this.userId = null; // the user connection_established named last ...
    this.userToken = null; // ... for this token
    this.asked = undefined; // the room argument of the last connect() (null: the fallback)
    this.token = null;
    this.lastSeq = null; // highest seq delivered to the app in this room
    this.pending = new Map(); // client_id → text, until the server's object comes back
    this.owners = new Map(); // client_id → identity() when it was sent (whose send it is)
    this.written = new Set(); // pending client_ids a socket carried: the hub may have taken them
    this.retrying = new Set(); // pending client_ids the hub asked to send again
    this.resendTimer = null;
    this.resendAttempts = 0;
    this.readSeq = null; // a markRead made while not open, sent once open
    this.readOwner = null; // identity() of that markRead
    this.historyWaiters = new Map(); // the request's client_id → its promise (and frame until sent), in send order
    this.established = false; // the socket got connection_established
    this.failures = 0; // attempts in a row that closed before connection_established
    this.backoff = 0; // retries since the last connect() or STABLE_MS-long room
    this.openedAt = 0; // when connection_established came (now())
    this.lostEmitted = false;
    this.ws = null;
    this.timer = null;
    this.wanted = false;
  }

  on(name, fn) {
    if (!this.handlers.has(name)) this.handlers.set(name, new Set());
    this.handlers.get(name).add(fn);
    return this;
  }

  off(name, fn) {
    this.handlers.get(name)?.delete(fn);
    return this;
  }

  emit(name, value) {
    for (const fn of [...(this.handlers.get(name) ?? [])]) {
      try {
        fn(value);
      } catch (e) {
        // An app handler's bug must not break the socket.
        if (typeof console !== 'undefined') console.error(e);
      }
    }
  }

  setState(state) {
    if (this.state !== state) {
      this.state = state;
      this.emit('state', state);
    }
  }

  /**
   * roomId: a room id, or null for the user's first available room. Called
   * again (another room, a new token, or while reconnecting), it replaces the
   * socket it had: there is never more than one.
   */
  connect(roomId, token) {
    const room = roomKey(roomId);
    if (token !== undefined) this.token = token;
    // The same room asked again (a new token, say): the socket resumes where
    // it was, in the room the fallback or 'general' turned out to be.
    const same = room === this.asked;
    // Another room: what was meant for the old one goes (sends made before
    // any connect go to the first room), each with an error so an app can
    // take its "sending" mark off: cancelled for a send no socket carried
    // (the hub never saw it), unconfirmed for one a socket carried whose
    // answer never came (it may be stored in the old room).
    // A history page the old socket did not carry goes on the new one, in
    // the same room; to another room, every page asked is rejected.
    // While the fallback room is not known yet (roomId null), any other
    // room is a move too: those sends were meant for the fallback.
    const moving = !same && this.asked !== undefined && room !== this.roomId;
    let report = () => {};
    this.detach(new Error('reconnected'), !moving);
    if (moving) {
      this.lastSeq = null;
      report = this.dropPending('the room changed');
      this.readSeq = null;
    }
    if (!same || this.roomId === null) this.roomId = room;
    this.asked = room;
    this.wanted = true;
    this.failures = 0;
    this.backoff = 0;
    this.lostEmitted = false;
    this.open('connecting');
    report();
  }

  /**
   * Whose sends and read marks are made now: the user the hub named for
   * this token, else the JWT's user_id or sub, else the token itself (an
   * opaque token's user is known once the hub names it); null before any
   * token (such sends go as whoever connects first).
   */
  identity() {
    if (this.token === null || this.token === undefined) return null;
    if (this.userId !== null && this.userToken === this.token) return `u:${this.userId}`;
    const claims = jwtClaims(this.token);
    const user = claims?.user_id ?? claims?.sub;
    return user !== undefined && user !== null ? `u:${user}` : `t:${this.token}`;
  }

  /** Whether something made as owner may go as the user the hub named now. */
  ownedHere(owner) {
    return owner === null || owner === this.identity() || owner === `t:${this.token}`;
  }

  /** A send is settled: nothing of it is kept. */
  forget(clientId) {
    this.pending.delete(clientId);
    this.owners.delete(clientId);
    this.written.delete(clientId);
    this.retrying.delete(clientId);
  }

  /** Pending sends end here: returns a function that emits an error for
   * each, cancelled for one no socket carried (the hub never saw it),
   * unconfirmed for one a socket carried whose answer never came. */
  dropPending(why, keep = () => false) {
    const dropped = [...this.pending.keys()].filter((id) => !keep(id)).map((id) => [id, this.written.has(id)]);
    for (const [id] of dropped) this.forget(id);
    return () => {
      for (const [clientId, carried] of dropped) {
        this.emit('error', carried
          ? { type: 'error', code: 'unconfirmed', message: `${why} before the hub answered this send`, client_id: clientId }
          : { type: 'error', code: 'cancelled', message: `${why} before the hub took this send`, client_id: clientId });
      }
    };
  }

  /** connect() to another room with the same token. */
  switchRoom(roomId) {
    this.connect(roomId);
  }

  /** The session ends: nothing of it goes to a later connect(), which may
   * be another user's (an app that switched users sent the old user's
   * pending send as the new one, resumed from the old one's seq). Pending
   * sends end with cancelled or unconfirmed. */
  disconnect() {
    this.wanted = false;
    this.detach(new Error('disconnected'));
    const report = this.dropPending('the client disconnected');
    this.lastSeq = null;
    this.readSeq = null;
    this.asked = undefined;
    this.roomId = null;
    this.userId = this.userToken = null;
    // Only now: a state handler that connects again starts afresh.
    this.setState('closed');
    report();
  }

  /** No more attempts: the socket closed, pending history rejected with why. */
  stop(why) {
    this.wanted = false;
    this.detach(why);
    this.setState('closed');
  }

  /** Close the socket and cancel a retry, if any, silently; reject pending
   * history with why (sentOnly: the pages the socket carried). */
  detach(why, sentOnly = false) {
    if (this.timer !== null) this.clearTimeout(this.timer);
    this.timer = null;
    this.unwatch();
    this.cancelResend();
    this.clearOutbox();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      // Not null: Node's ws emits an error for a socket closed while
      // connecting, and an error with no listener ends the process.
      ws.onerror = () => {};
      try {
        ws.close(1000);
      } catch {}
    }
    this.rejectHistory(why, sentOnly);
  }

  socketUrl() {
    const path = this.roomId === null ? '/ws/chat' : `/ws/chat/${this.roomId}/`;
    const q = [`token=${encodeURIComponent(this.token ?? '')}`];
    if (this.lastSeq !== null) q.push(`last_seq=${this.lastSeq}`);
    return `${this.url}${path}?${q.join('&')}`;
  }

  open(state) {
    this.timer = null;
    if (!this.wanted) return;
    // The hub would answer 401, which a browser only sees as 1006: retrying
    // with this token can never succeed.
    if (jwtExpired(this.token, this.now())) {
      this.giveUp({ code: 4401, reason: 'token_expired' });
      return;
    }
    this.setState(state);
    const url = this.socketUrl();
    const attempt = { url, token: this.token, room: this.roomId };
    const ws = new this.WS(url);
    let opened = false;
    this.ws = ws;
    this.biggestSent = 0;
    this.established = false;
    ws.onopen = () => {
      opened = true;
    };
    ws.onmessage = (ev) => {
      opened = true;
      this.heardAt = this.clock();
      this.onFrame(ws, ev.data);
    };
    ws.onclose = (ev) => this.onClose(ws, ev.code, opened ? null : attempt, ev.reason);
    // An error ends the socket; a close event follows in browsers, but Node
    // 20's own WebSocket fires none after a refused connection or a reset
    // before the 101, which would leave the attempt waiting for good.
    ws.onerror = () => {
      if (!opened) this.abandon(ws, attempt);
    };
    this.watch(ws, this.connectTimeoutMs, () => this.abandon(ws, null));
  }

  /** Run fn for ws in ms (0: never), instead of what its watch would run. */
  watch(ws, ms, fn) {
    this.unwatch();
    if (ms > 0) {
      this.watchdog = this.setTimeout(() => {
        this.watchdog = null;
        if (ws === this.ws) fn();
      }, ms);
    }
  }

  unwatch() {
    if (this.watchdog !== null) this.clearTimeout(this.watchdog);
    this.watchdog = null;
  }

  /** A ping when the room has been silent for pingIntervalMs; no frame at
   * all within pongTimeoutMs of it, and the socket is dead. Counted from
   * the ping, not from the silence: a background tab's timers can fire
   * minutes late, and a quiet room is not a dead one. */
  checkIdle(ws) {
    const now = this.clock();
    const check = () => this.checkIdle(ws);
    if (this.pingAt !== null && this.heardAt < this.pingAt) {
      const paging = [...this.historyWaiters.values()].some((w) => w.frame === null);
      const deadline = this.pongTimeoutMs * (paging ? HISTORY_PONG_FACTOR : 1);
      if (now - this.pingAt >= deadline) this.abandon(ws, null);
      else this.watch(ws, Math.min(this.pongTimeoutMs, deadline - (now - this.pingAt)), check);
      return;
    }
    const idle = now - this.heardAt;
    if (idle < this.pingIntervalMs) {
      this.watch(ws, this.pingIntervalMs - idle, check);
      return;
    }
    // Straight to the socket, not behind the sends the rate holds back (a
    // ping queued there is no test of the link); it takes its token all the
    // same, so the pace stays under the hub's.
    ws.send(JSON.stringify({ type: 'ping' }));
    this.tokens -= 1;
    if (this.pongTimeoutMs > 0) {
      this.pingAt = now;
      this.watch(ws, this.pongTimeoutMs, check);
    } else {
      this.watch(ws, this.pingIntervalMs, check); // pings with no deadline
    }
  }

  /** Give up on ws as if it had closed with 1006 (failed: its attempt, for
   * the probe, when it never opened), without waiting for a close event
   * that a dead link may bring late or never. */
  abandon(ws, failed) {
    if (ws !== this.ws) return;
    ws.onopen = ws.onmessage = ws.onclose = null;
    ws.onerror = () => {};
    try {
      // A dead link answers no close frame: Node's ws would wait 30 s for
      // one (and keep its process alive); browsers have no terminate().
      if (typeof ws.terminate === 'function') ws.terminate();
      else ws.close();
    } catch {}
    this.onClose(ws, 1006, failed);
  }

  /**
   * Stop for good: no retry, state closed, a closed event with value. The
   * hub refused this user here (removed, the room gone, the user
   * deactivated, the token revoked): pending sends and a read mark end
   * (cancelled or unconfirmed) after the event, so that a later connect(),
   * as the user added back or with a new token, sends nothing typed before
   * the refusal. Only a JWT's expiry keeps them, the app's connect() with a
   * fresh token being a refresh: the hub's close says so (expired), and a
   * refusal before any socket opened is read from the token's exp.
   */
  giveUp(value, expired = false) {
    const opened = value.reason === undefined; // a live socket's close, not a refused attempt
    const kept =
      value.code === 4401 &&
      (expired || value.reason === 'token_expired' || (!opened && jwtExpiring(this.token, this.now())));
    const report = kept ? () => {} : this.dropPending(`the hub closed ${value.code}`);
    if (!kept) this.readSeq = null;
    this.stop(new Error(`closed ${value.code}`));
    this.emit('closed', value);
    report();
  }

  /**
   * An upgrade that failed before opening shows only 1006. A plain GET of the
   * same URL answers 401 when the hub refuses the token and 404 when it names
   * no room the hub could serve ('abc'), 426 otherwise: on 401 or 404, stop
   * as on 4401 or 4404. Any other answer or failure leaves the retry already
   * scheduled. attempt: the failed attempt's url, token and room.
   */
  probe(attempt) {
    if (typeof this.fetch !== 'function') return;
    const { url, token, room } = attempt;
    let answer;
    try {
      answer = this.fetch(url.replace(/^ws/, 'http'), { cache: 'no-store' });
    } catch {
      return;
    }
    Promise.resolve(answer).then(
      (res) => {
        res?.body?.cancel?.().catch(() => {});
        // A new token, another room or an open socket since then: this answer is stale.
        if (!this.wanted || this.token !== token || this.roomId !== room || this.state === 'open') return;
        if (res?.status === 401) this.giveUp({ code: 4401, reason: 'unauthorized' });
        else if (res?.status === 404) this.giveUp({ code: 4404, reason: 'not_found' });
      },
      () => {},
    );
  }

  /** failed: the attempt ({ url, token, room }) when it closed before opening, else null;
   * reason: the close frame's ("token_expired" on a JWT's expiry). */
  onClose(ws, code, failed, reason) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.unwatch();
    this.cancelResend();
    this.clearOutbox();
    // Requests this socket carried are lost with it; those still waiting
    // for an open room go once one is.
    this.rejectHistory(new Error(`closed ${code}`), true);
    if (!this.wanted) return;
    const tooLarge = code === 1009 ? this.refuseTooLarge() : [];
    if (FINAL_CODES.has(code)) {
      this.giveUp({ code }, reason === 'token_expired');
      return;
    }
    let delay;
    let lost = false;
    if (code === 1012) {
      delay = Math.floor(this.random() * RESTART_JITTER_MS);
    } else {
      if (this.established && this.now() - this.openedAt >= STABLE_MS) this.backoff = 0;
      delay = backoffDelay(Math.min(this.backoff, LOST_AFTER), this.random);
      this.backoff += 1;
      // An attempt that failed counts toward connection_lost; the drop of an open room does not.
      if (!this.established) this.failures += 1;
      lost = this.failures >= LOST_AFTER && !this.lostEmitted;
      if (code === 4429) delay = Math.max(delay, RATE_PAUSE_MS);
    }
    // The retry is set before any event: a handler that calls connect(),
    // switchRoom() or disconnect() cancels it.
    this.timer = this.setTimeout(() => this.open('reconnecting'), delay);
    this.setState('reconnecting');
    for (const clientId of tooLarge) {
      this.emit('error', { type: 'error', code: 'too_large', message: "over the hub's limit (closed 1009)", client_id: clientId });
    }
    if (lost && this.wanted && this.ws === null) {
      this.lostEmitted = true;
      this.emit('connection_lost', { attempts: this.failures });
    }
    if (code === 1006 && failed !== null && this.wanted) this.probe(failed);
  }

  onFrame(ws, data) {
    if (ws !== this.ws) return;
    let f;
    try {
      f = JSON.parse(data);
    } catch {
      return;
    }
    if (f === null || typeof f !== 'object') return;
    switch (f.type) {
      case 'connection_established':
        this.established = true;
        this.failures = 0;
        this.openedAt = this.now();
        this.lostEmitted = false;
        this.pingAt = null;
        this.watch(ws, this.pingIntervalMs, () => this.checkIdle(ws));
        this.roomId = f.room_id;
        // The hub names the token's user: sends and a read mark made as
        // another user (a new token after a 4401, or before the first
        // socket opened), or as one not known to be this one (an opaque
        // token since replaced), are not this one's to make.
        this.userId = f.user?.id ?? null;
        this.userToken = this.token;
        const report = this.dropPending('the user changed', (id) => this.ownedHere(this.owners.get(id) ?? null));
        if (this.readSeq !== null && !this.ownedHere(this.readOwner)) this.readSeq = null;
        // The room's seq is the truth: one behind what we hold (a database
        // restored from a backup) would otherwise hide its next messages.
        if (this.lastSeq === null || f.last_seq < this.lastSeq) this.lastSeq = f.last_seq;
        // The hub's bucket for this socket is full, and began before this.
        this.tokens = this.rateBurst;
        this.tokensAt = this.now();
        report();
        if (ws !== this.ws) return; // a handler closed or replaced the socket
        // Sends made while not open (an error handler's above too); one
        // made by a handler below goes at once.
        const queued = [...this.pending];
        this.setState('open');
        if (ws !== this.ws) return; // a handler closed or replaced the socket
        this.emit('connection_established', f);
        if (ws !== this.ws) return;
        for (const [clientId, text] of queued) {
          if (this.pending.has(clientId)) this.rawSend({ type: 'chat_message', message: text, client_id: clientId });
        }
        if (this.readSeq !== null) this.rawSend({ type: 'mark_read', seq: this.readSeq });
        this.readSeq = null;
        for (const w of this.historyWaiters.values()) {
          if (w.frame) this.rawSend(w.frame);
          w.frame = null;
        }
        break;
      case 'chat_message':
        if (f.message !== null && typeof f.message === 'object') this.onMessage(f.message);
        break;
      case 'history': {
        const w = this.takeHistoryWaiter(f.client_id);
        if (w) w.resolve({ room_id: f.room_id, messages: f.messages ?? [], has_more: f.has_more, hasMore: f.has_more });
        break;
      }
      case 'error':
        if (f.client_id && this.pending.has(f.client_id)) {
          this.written.delete(f.client_id); // refused: the hub did not take it
          if (RETRYABLE_ERRORS.has(f.code)) this.scheduleResend(f.client_id, f.code);
          else this.forget(f.client_id);
        }
        if (f.code === 'rate_limited') this.slowDown();
        // A history request's error echoes its client_id, as a send's does;
        // an error without one answers neither (a markRead, a typing).
        if (f.client_id && this.historyWaiters.has(f.client_id)) {
          this.takeHistoryWaiter(f.client_id).reject(Object.assign(new Error(f.message || f.code), { code: f.code }));
        }
        this.emit('error', f);
        break;
      case 'presence':
      case 'typing':
      case 'read':
        this.emit(f.type, f);
        break;
      default:
        break;
    }
  }

  onMessage(m) {
    if (m.client_id && this.pending.has(m.client_id)) {
      this.forget(m.client_id);
      this.resendAttempts = 0;
    }
    // Once per seq and in order: anything at or below what the app has is a repeat.
    if (this.lastSeq !== null && m.seq <= this.lastSeq) return;
    this.lastSeq = m.seq;
    this.emit('message', m);
  }

  /** Queued for the open socket (false: none is open). Of typing and
   * mark_read frames still waiting, only the newest goes. */
  rawSend(frame) {
    if (!this.ws || this.state !== 'open') return false;
    const waiting = frame.type === 'typing' || frame.type === 'mark_read'
      ? this.outbox.findIndex((f) => f.type === frame.type) : -1;
    if (waiting >= 0) this.outbox[waiting] = frame;
    else this.outbox.push(frame);
    this.flushOutbox();
    return true;
  }

  /** The hub refused a frame for its rate: its limit is under what this
   * client was told (rateLimit, rateBurst), so the pace halves, down to one
   * frame a second, for the rest of this client's life; once a second at
   * most, as one burst may be refused many times over. */
  slowDown() {
    if (this.slowedAt !== null && this.now() - this.slowedAt < 1000) return;
    this.slowedAt = this.now();
    this.rateLimit = Math.max(1, this.rateLimit / 2);
    this.rateBurst = Math.max(1, Math.floor(this.rateBurst / 2));
    this.tokens = 0;
    this.tokensAt = this.now();
  }

  /** Frames that waited for a socket now gone: the next socket carries
   * them (sends stay pending, a markRead and history pages wait as they do
   * while connecting). */
  clearOutbox() {
    if (this.outboxTimer !== null) this.clearTimeout(this.outboxTimer);
    this.outboxTimer = null;
    for (const f of this.outbox) {
      const w = f.type === 'history' ? this.historyWaiters.get(f.client_id) : undefined;
      if (f.type === 'mark_read') {
        this.readSeq = this.readSeq === null ? f.seq : Math.max(this.readSeq, f.seq);
        this.readOwner = this.identity();
      }
      if (w) w.frame = f;
    }
    this.outbox = [];
  }

  /** Send what the rate allows now, and come back for the rest. */
  flushOutbox() {
    const now = this.now();
    this.tokens = Math.min(this.rateBurst, this.tokens + ((now - this.tokensAt) * this.rateLimit) / 1000);
    this.tokensAt = now;
    while (this.outbox.length > 0 && this.tokens >= 1) {
      const frame = this.outbox.shift();
      this.tokens -= 1;
      const text = JSON.stringify(frame);
      this.ws.send(text);
      if (frame.type === 'chat_message') {
        this.written.add(frame.client_id);
        this.biggestSent = Math.max(this.biggestSent, new TextEncoder().encode(text).length);
      }
    }
    if (this.outbox.length > 0 && this.outboxTimer === null) {
      const wait = Math.ceil(((1 - this.tokens) * 1000) / this.rateLimit);
      this.outboxTimer = this.setTimeout(() => {
        this.outboxTimer = null;
        if (this.ws && this.state === 'open') this.flushOutbox();
      }, wait);
    }
  }

  /**
   * Returns the client_id; the server's full object arrives as a 'message'
   * with it. A send over maxMessageBytes is refused here: an 'error' with
   * code too_large and its client_id (the hub would close the socket).
   */
  send(text) {
    const clientId = newClientId(this.random);
    const frame = { type: 'chat_message', message: text, client_id: clientId };
    if (sendFrameBytes(clientId, text) > this.maxMessageBytes) {
      this.emit('error', { type: 'error', code: 'too_large', message: `over ${this.maxMessageBytes} bytes`, client_id: clientId });
      return clientId;
    }
    this.pending.set(clientId, text);
    this.owners.set(clientId, this.identity());
    this.rawSend(frame);
    return clientId;
  }

  /**
   * The hub closed with 1009: a send this socket carried was over its limit,
   * which is then lower than maxMessageBytes (the hub's HUB_MAX_MESSAGE_BYTES
   * was lowered, the client's option was not). Past twice its limit the hub
   * closes without a too_large naming the send, and sending it again after
   * the reconnect would close every socket the same way, with every later
   * send stuck behind it. So the limit comes down under the biggest send the
   * socket carried, and each pending send over it is dropped: returns their
   * client_ids, for a local too_large each.
   */
  refuseTooLarge() {
    if (this.biggestSent === 0) return [];
    this.maxMessageBytes = Math.min(this.maxMessageBytes, this.biggestSent - 1);
    const refused = [];
    for (const [clientId, text] of [...this.pending]) {
      if (sendFrameBytes(clientId, text) <= this.maxMessageBytes) continue;
      this.forget(clientId);
      refused.push(clientId);
    }
    return refused;
  }

  /** The hub could not take a send now (unavailable, rate_limited, internal):
   * send it again with the same client_id after a backoff. */
  scheduleResend(clientId, code) {
    this.retrying.add(clientId);
    if (this.resendTimer !== null) return;
    let delay = backoffDelay(Math.min(this.resendAttempts, LOST_AFTER), this.random);
    if (code === 'rate_limited') delay = Math.max(delay, RATE_PAUSE_MS / 5);
    this.resendAttempts += 1;
    this.resendTimer = this.setTimeout(() => {
      this.resendTimer = null;
      const ids = [...this.retrying];
      this.retrying.clear();
      for (const id of ids) {
        if (this.pending.has(id)) this.rawSend({ type: 'chat_message', message: this.pending.get(id), client_id: id });
      }
    }, delay);
  }

  cancelResend() {
    if (this.resendTimer !== null) this.clearTimeout(this.resendTimer);
    this.resendTimer = null;
    this.retrying.clear(); // a reconnect sends every pending send again
  }

  typing(isTyping = true) {
    this.rawSend({ type: 'typing', is_typing: Boolean(isTyping) });
  }

  /** Sent now, or (the newest) once the socket opens. */
  markRead(seq) {
    if (!this.rawSend({ type: 'mark_read', seq })) {
      this.readSeq = this.readSeq === null ? seq : Math.max(this.readSeq, seq);
      this.readOwner = this.identity();
    }
  }

  /**
   * Resolves with { room_id, messages, has_more, hasMore } (ascending seq);
   * rejects when the server answers with an error frame (err.code is its
   * code) or the socket closes first. Asked while connecting, it goes once
   * the room is open; asked after disconnect(), it rejects at once.
   */
  history({ beforeSeq, limit } = {}) {
    return new Promise((resolve, reject) => {
      const clientId = newClientId(this.random, 'h');
      const frame = { type: 'history', client_id: clientId };
      if (beforeSeq !== undefined) frame.before_seq = beforeSeq;
      if (limit !== undefined) frame.limit = limit;
      if (this.rawSend(frame)) {
        this.historyWaiters.set(clientId, { resolve, reject, frame: null });
      } else if (this.wanted) {
        this.historyWaiters.set(clientId, { resolve, reject, frame });
      } else {
        reject(new Error('not connected'));
      }
    });
  }

  /** The request a history answer names; an answer naming none (a hub that
   * does not echo) is the oldest's, as a socket's frames are answered in order. */
  takeHistoryWaiter(clientId) {
    const key = clientId ?? this.historyWaiters.keys().next().value;
    const w = this.historyWaiters.get(key);
    this.historyWaiters.delete(key);
    return w;
  }

  /** Reject pending history requests with err; sentOnly: only those a socket carried. */
  rejectHistory(err, sentOnly = false) {
    for (const [key, w] of [...this.historyWaiters]) {
      if (sentOnly && w.frame) continue;
      this.historyWaiters.delete(key);
      w.reject(err);
    }
  }
}

export default ChatSocket;

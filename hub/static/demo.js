// The demo page: one ChatSocket, a user picker, rooms, the room's recent
// messages and earlier pages on demand, optimistic sends, who is online and
// who is typing.
import { ChatSocket } from '/client/chathub.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const chat = new ChatSocket();
const names = new Map();
let me = null;
let online = new Set();
const typingUntil = new Map();

window.chat = chat; // for the browser tests

function setUserSelect() {
  if (params.get('user')) $('user').value = params.get('user');
}

async function tokenFor(user) {
  const r = await fetch(`/demo/token?user=${encodeURIComponent(user)}`);
  if (!r.ok) throw new Error(`no demo token (${r.status}): is HUB_DEMO_USERS set?`);
  return (await r.json()).token;
}

function renderOnline() {
  $('online').replaceChildren(...[...online].sort((a, b) => a - b).map((id) => {
    const li = document.createElement('li');
    li.textContent = names.get(id) ?? `user ${id}`;
    li.dataset.user = id;
    return li;
  }));
}

function renderTyping() {
  const now = Date.now();
  const who = [...typingUntil].filter(([, until]) => until > now).map(([id]) => names.get(id) ?? `user ${id}`);
  $('typing').textContent = who.length ? `${who.join(', ')} typing…` : '';
}
setInterval(renderTyping, 500);

const PAGE = 30;

function messageItem(m, pending) {
  let li = m.client_id ? document.querySelector(`#messages li[data-client-id="${CSS.escape(m.client_id)}"]`) : null;
  if (!li) {
    li = document.createElement('li');
    $('messages').append(li);
  }
  fillItem(li, m, pending);
  $('messages').scrollTop = $('messages').scrollHeight;
}

// A message from a history page goes above every later one, once.
function historyItem(m) {
  if (document.querySelector(`#messages li[data-seq="${m.seq}"]`)) return;
  const li = document.createElement('li');
  fillItem(li, m, false);
  const later = [...$('messages').children].find((el) => !el.dataset.seq || Number(el.dataset.seq) > m.seq);
  $('messages').insertBefore(li, later ?? null);
}

// The page of messages before beforeSeq; the button stays while there are more.
async function loadEarlier(beforeSeq) {
  $('earlier').disabled = true;
  try {
    const page = await chat.history({ beforeSeq, limit: PAGE });
    for (const m of page.messages) historyItem(m);
    $('earlier').hidden = !page.hasMore;
  } catch (e) {
    // Without a code the socket closed first (a room switch): nothing to say.
    if (e.code) notice(ERRORS[e.code] ?? `Earlier messages could not be loaded (${e.code}).`, true);
  } finally {
    $('earlier').disabled = false;
  }
}

function fillItem(li, m, pending) {
  li.className = `${m.sender?.id === me ? 'mine' : ''} ${pending ? 'pending' : ''}`;
  if (m.client_id) li.dataset.clientId = m.client_id;
  if (m.seq) li.dataset.seq = m.seq;
  const seq = document.createElement('span');
  seq.className = 'seq';
  seq.textContent = m.seq ? `#${m.seq}` : '…';
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = m.sender ? m.sender.full_name : 'system';
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = m.content;
  li.replaceChildren(seq, who, text);
}

chat.on('state', (s) => {
  $('state').textContent = s;
  $('state').className = `state ${s}`;
  $('text').disabled = $('send').disabled = s !== 'open';
  $('online').classList.toggle('stale', s !== 'open'); // last known, not live
});
chat.on('connection_established', (e) => {
  $('room-title').textContent = e.room.name || `Room ${e.room_id}`;
  notice('');
  for (const p of e.participants) names.set(p.id, p.full_name);
  online = new Set(e.participants.filter((p) => p.online).map((p) => p.id));
  renderOnline();
  // Entering a room (not resuming one): its latest page first.
  if (e.resumed_from === null && !$('messages').querySelector('li[data-seq]') && e.last_seq > 0) {
    loadEarlier(e.last_seq + 1).then(() => { $('messages').scrollTop = $('messages').scrollHeight; });
  }
});
chat.on('message', (m) => {
  if (noticeClears) notice('');
  if (m.sender) names.set(m.sender.id, m.sender.full_name);
  messageItem(m, false);
  chat.markRead(m.seq);
});
chat.on('presence', (p) => {
  names.set(p.user.id, p.user.full_name);
  online = new Set(p.online);
  renderOnline();
});
chat.on('typing', (t) => {
  names.set(t.user.id, t.user.full_name);
  if (t.is_typing) typingUntil.set(t.user.id, Date.now() + 3000);
  else typingUntil.delete(t.user.id);
  renderTyping();
});
// What a person reads for an error or a final close, not the wire's codes.
const ERRORS = {
  unavailable: 'The server cannot store messages just now: yours goes out as soon as it can.',
  rate_limited: 'Slow down a little: your messages go out in a moment.',
  too_large: 'That message is too long.',
  room_archived: 'This room is archived: you can read it, not write in it.',
  forbidden: 'You cannot write in this room.',
  unauthorized: 'You are signed out: reload the page.',
  bad_request: 'That message could not be sent.',
  cancelled: 'A message was not sent: you left the room first.',
  unconfirmed: 'A message may not have been sent: you left the room first.',
};
const CLOSES = {
  4401: 'You are signed out, or your sign-in expired: reload the page.',
  4403: 'You are not a member of this room.',
  4404: 'There is no such room.',
};
// A notice that a later message makes stale (the store came back).
let noticeClears = false;
function notice(text, clears = false) {
  $('notice').textContent = text;
  noticeClears = clears;
}

// The client sends these again by itself; any other error for a send ends
// it, and its bubble says it did not go (it stayed "sending" for good).
const RETRIED = new Set(['unavailable', 'rate_limited', 'internal']);
const failed = new Map(); // a send that ended before its bubble was drawn (too_large, at once)
function markFailed(clientId, code) {
  const li = document.querySelector(`#messages li.pending[data-client-id="${CSS.escape(clientId)}"]`);
  if (!li) return false;
  li.classList.replace('pending', 'failed');
  li.title = ERRORS[code] ?? code;
  return true;
}
chat.on('error', (e) => {
  notice(ERRORS[e.code] ?? e.message ?? e.code, e.code === 'unavailable' || e.code === 'rate_limited');
  if (e.client_id && !RETRIED.has(e.code) && !markFailed(e.client_id, e.code)) failed.set(e.client_id, e.code);
});
chat.on('connection_lost', () => notice('Cannot reach the server, still trying…', true));
chat.on('closed', ({ code }) => {
  $('room-title').textContent = 'Not available';
  notice(`${CLOSES[code] ?? 'The server closed the connection.'} (${code})`);
});

// Each pick of a user or a room; only the latest one, once its token came,
// connects (two quick clicks left the socket in the first one's room or
// user while the page showed the second).
let entering = 0;

async function enter(room) {
  const mine = ++entering;
  const user = Number($('user').value);
  document.querySelectorAll('#rooms button').forEach((b) => b.classList.toggle('active', b.dataset.room === String(room)));
  let token;
  try {
    token = await tokenFor(user);
  } catch (e) {
    if (mine === entering) notice(e.message);
    return;
  }
  if (mine !== entering) return;
  // The old socket is gone before the list is cleared: none of its
  // messages lands in the new room's list.
  chat.disconnect();
  me = user;
  $('messages').replaceChildren();
  $('earlier').hidden = true;
  online = new Set();
  renderOnline();
  chat.connect(room === 'general' ? 'general' : Number(room), token);
}

$('earlier').addEventListener('click', () => {
  const first = $('messages').querySelector('li[data-seq]');
  if (first) loadEarlier(Number(first.dataset.seq));
});
$('rooms').addEventListener('click', (ev) => {
  const b = ev.target.closest('button');
  if (b) enter(b.dataset.room);
});
$('user').addEventListener('change', () => enter(document.querySelector('#rooms button.active')?.dataset.room ?? '1'));
let lastTyping = 0;
$('text').addEventListener('input', () => {
  if (Date.now() - lastTyping > 1000) {
    lastTyping = Date.now();
    chat.typing(true);
  }
});
$('composer').addEventListener('submit', (ev) => {
  ev.preventDefault();
  // As the hub counts blank: JavaScript's trim() keeps the invisible ones.
  const text = $('text').value.replace(/^[\p{White_Space}\p{Default_Ignorable_Code_Point}]+|[\p{White_Space}\p{Default_Ignorable_Code_Point}]+$/gu, '');
  if (!text) return;
  const clientId = chat.send(text);
  messageItem({ client_id: clientId, content: text, sender: { id: me, full_name: names.get(me) ?? 'me' } }, true);
  if (failed.has(clientId)) markFailed(clientId, failed.get(clientId));
  failed.delete(clientId);
  $('text').value = '';
  chat.typing(false);
});

setUserSelect();
enter(params.get('room') ?? '1');

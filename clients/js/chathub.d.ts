// Types for chathub.js (PROTOCOL.md §2, §7).
export interface User { id: number; full_name: string; role: 'student' | 'teacher' | 'tutor' | 'parent' | 'admin'; }
export interface Message {
  id: number; room_id: number; seq: number; sender: User | null;
  content: string; created_at: string; client_id: string | null;
}
export interface Participant extends User { online: boolean; last_read_seq: number; }
export interface Established {
  type: 'connection_established'; room_id: number;
  room: { id: number; type: string; name: string }; user: User;
  participants: Participant[]; last_seq: number; resumed_from: number | null; resume_truncated?: true;
}
export interface Presence { type: 'presence'; room_id: number; event: 'join' | 'leave'; user: User; online: number[]; }
export interface Typing { type: 'typing'; room_id: number; user: User; is_typing: boolean; }
export interface Read { type: 'read'; room_id: number; user_id: number; seq: number; }
/** code: the hub's, or three of the client's own: too_large (a send over maxMessageBytes, never sent; or after a close 1009, a pending send over the hub's lower limit, dropped), and, for a send still pending when connect() moved to another room, cancelled (no socket carried it) or unconfirmed (one did, and its answer never came: it may be stored in the old room). */
export interface ErrorFrame { type: 'error'; code: string; message: string; client_id?: string; }
export type State = 'connecting' | 'open' | 'reconnecting' | 'closed';
export interface Events {
  connection_established: Established; connection_lost: { attempts: number }; state: State;
  message: Message; presence: Presence; typing: Typing; read: Read; error: ErrorFrame;
  /** reason: 'token_expired' (refused locally) or 'unauthorized' (the hub's 401 to the probe) when the token is dead. */
  closed: { code: number; reason?: 'token_expired' | 'unauthorized' };
}
export interface Options {
  url?: string; WebSocket?: typeof WebSocket;
  /** The hub's HUB_MAX_MESSAGE_BYTES (default 65536): a longer send gets a local too_large error. */
  maxMessageBytes?: number;
  /** The hub's HUB_RATE_LIMIT and HUB_RATE_BURST (default 20 and 40): the client paces its frames a little under them, and halves its pace at each rate_limited. */
  rateLimit?: number; rateBurst?: number;
  /** A handshake with no connection_established after this is a failed attempt (default 30000 ms; 0: no limit). */
  connectTimeoutMs?: number;
  /** A room silent this long gets a ping (default 25000 ms; 0: never), whose answer, or any frame, must come within pongTimeoutMs (default 10000; twelve times that while a history page is on its way; 0: pings, never judged) or the socket is replaced. */
  pingIntervalMs?: number; pongTimeoutMs?: number;
  setTimeout?: typeof setTimeout; clearTimeout?: typeof clearTimeout; random?: () => number;
  now?: () => number; /* clock in ms, default Date.now */
  /** Probe after an upgrade that failed before opening (default globalThis.fetch; null: none). */
  fetch?: typeof fetch | null;
}
/** Rejection of history() when the server answers with an error frame. */
export interface HistoryError extends Error { code?: string; }
export declare function backoffDelay(attempt: number, random?: () => number): number;
/** True when token is a JWT whose exp is more than 300 s past at nowMs. */
export declare function jwtExpired(token: string | null, nowMs: number): boolean;
export declare class ChatSocket {
  constructor(options?: Options);
  readonly state: State;
  readonly roomId: number | null;
  readonly lastSeq: number | null;
  on<K extends keyof Events>(name: K, fn: (value: Events[K]) => void): this;
  off<K extends keyof Events>(name: K, fn: (value: Events[K]) => void): this;
  connect(roomId: number | string | null, token?: string): void;
  switchRoom(roomId: number | string | null): void;
  disconnect(): void;
  send(text: string): string;
  typing(isTyping?: boolean): void;
  markRead(seq: number): void;
  history(options?: { beforeSeq?: number; limit?: number }): Promise<{ room_id: number; messages: Message[]; has_more: boolean; hasMore: boolean }>;
}
export default ChatSocket;

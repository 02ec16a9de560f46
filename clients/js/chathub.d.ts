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
export interface ErrorFrame { type: 'error'; code: string; message: string; client_id?: string; }
export type State = 'connecting' | 'open' | 'reconnecting' | 'closed';
export interface Events {
  connection_established: Established; connection_lost: { attempts: number }; state: State;
  message: Message; presence: Presence; typing: Typing; read: Read; error: ErrorFrame; closed: { code: number };
}
export interface Options {
  url?: string; WebSocket?: typeof WebSocket;
  setTimeout?: typeof setTimeout; clearTimeout?: typeof clearTimeout; random?: () => number;
}
export declare function backoffDelay(attempt: number, random?: () => number): number;
export declare class ChatSocket {
  constructor(options?: Options);
  readonly state: State;
  readonly roomId: number | null;
  readonly lastSeq: number | null;
  on<K extends keyof Events>(name: K, fn: (value: Events[K]) => void): this;
  off<K extends keyof Events>(name: K, fn: (value: Events[K]) => void): this;
  connect(roomId: number | null, token?: string): void;
  switchRoom(roomId: number | null): void;
  disconnect(): void;
  send(text: string): string;
  typing(isTyping?: boolean): void;
  markRead(seq: number): void;
  history(options?: { beforeSeq?: number; limit?: number }): Promise<{ messages: Message[]; hasMore: boolean }>;
}
export default ChatSocket;

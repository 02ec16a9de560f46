-- The common insert in three statements instead of seven. One UPDATE takes
-- the room's row lock, checks that the room is open and the sender a
-- participant, and allocates the seq; under that lock the client_id lookup
-- sees any original, exactly as before. Only a duplicate (rare: a retry) gives
-- its seq back, and restores last_message_at to the newest message's time,
-- which is the value this function set with it. A missing or archived room,
-- or a sender who is not a participant, goes to 0001's function, kept as
-- chathub_msg_insert_checked, so every status and its precedence (duplicate
-- before archived and forbidden) stay what 0001 defined.
ALTER FUNCTION chathub_msg_insert(bigint, bigint, text, text) RENAME TO chathub_msg_insert_checked;

CREATE FUNCTION chathub_msg_insert(p_room bigint, p_sender bigint, p_content text,
                                   p_client_id text)
RETURNS TABLE (status text, id bigint, room_id bigint, seq bigint, sender_id bigint,
               full_name text, role text, content text, created_at text, client_id text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    m messages%ROWTYPE;
    dup boolean := false;
    next_seq bigint;
BEGIN
    UPDATE rooms SET last_seq = rooms.last_seq + 1, last_message_at = now()
    WHERE rooms.id = p_room AND NOT rooms.is_archived
      AND (p_sender IS NULL OR EXISTS (
          SELECT 1 FROM room_participants rp WHERE rp.room_id = p_room AND rp.user_id = p_sender))
    RETURNING rooms.last_seq INTO next_seq;
    IF NOT FOUND THEN
        RETURN QUERY SELECT * FROM chathub_msg_insert_checked(p_room, p_sender, p_content,
                                                              p_client_id);
        RETURN;
    END IF;
    IF p_client_id IS NOT NULL THEN
        SELECT * INTO m FROM messages
        WHERE messages.room_id = p_room AND COALESCE(messages.sender_id, 0) = COALESCE(p_sender, 0)
          AND messages.client_id = p_client_id;
        dup := FOUND;
    END IF;
    IF dup THEN
        UPDATE rooms SET last_seq = rooms.last_seq - 1,
            last_message_at = (SELECT mm.created_at FROM messages mm
                               WHERE mm.room_id = p_room ORDER BY mm.seq DESC LIMIT 1)
        WHERE rooms.id = p_room;
    ELSE
        INSERT INTO messages (room_id, seq, sender_id, content, client_id)
        VALUES (p_room, next_seq, p_sender, p_content, p_client_id) RETURNING * INTO m;
    END IF;
    status := CASE WHEN dup THEN 'duplicate' ELSE 'ok' END;
    id := m.id;
    room_id := m.room_id;
    seq := m.seq;
    sender_id := m.sender_id;
    content := m.content;
    created_at := chathub_ts(m.created_at);
    client_id := m.client_id;
    SELECT u.full_name, u.role INTO full_name, role FROM users u WHERE u.id = m.sender_id;
    RETURN NEXT;
END
$$;

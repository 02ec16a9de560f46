-- A revoked opaque token's socket on another node could still store a
-- message after DELETE /tokens had answered (an audit: 7 of 50 tries), for
-- as long as the kick took to reach that node through Redis: the insert
-- checked that the sender is active and a participant, not that the token
-- the socket was let in with still exists. Sends now carry it (NULL for a
-- JWT and the server API) and the insert checks it where 0019 checks that
-- the sender is active: 'unauthorized', which closes the socket with 4401.
-- These are overloads with one more argument: a node of the release before
-- keeps calling the four-argument ones during a rolling upgrade.

-- 0019's checked insert, with the token check next to the active one.
CREATE FUNCTION chathub_msg_insert_checked(p_room bigint, p_sender bigint, p_content text,
                                           p_client_id text, p_token text)
RETURNS TABLE (status text, id bigint, room_id bigint, seq bigint, sender_id bigint,
               full_name text, role text, content text, created_at text, client_id text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    r rooms%ROWTYPE;
    m messages%ROWTYPE;
    dup boolean := false;
    next_seq bigint;
BEGIN
    SELECT * INTO r FROM rooms WHERE rooms.id = p_room FOR UPDATE;
    IF NOT FOUND THEN
        status := 'not_found';
        RETURN NEXT;
        RETURN;
    END IF;
    IF p_client_id IS NOT NULL THEN
        SELECT * INTO m FROM messages
        WHERE messages.room_id = p_room AND COALESCE(messages.sender_id, 0) = COALESCE(p_sender, 0)
          AND messages.client_id = p_client_id;
        dup := FOUND;
    END IF;
    IF NOT dup THEN
        IF r.is_archived THEN
            status := 'archived';
            RETURN NEXT;
            RETURN;
        END IF;
        IF p_sender IS NOT NULL AND (NOT EXISTS (
            SELECT 1 FROM users u WHERE u.id = p_sender AND u.is_active)
            OR (p_token IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM auth_tokens t WHERE t.key = p_token AND t.user_id = p_sender)))
        THEN
            status := 'unauthorized';
            RETURN NEXT;
            RETURN;
        END IF;
        IF p_sender IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM room_participants rp WHERE rp.room_id = p_room AND rp.user_id = p_sender)
        THEN
            status := 'forbidden';
            RETURN NEXT;
            RETURN;
        END IF;
        UPDATE rooms SET last_seq = rooms.last_seq + 1, last_message_at = now()
        WHERE rooms.id = p_room RETURNING rooms.last_seq INTO next_seq;
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

-- 0019's fast path, with the token check.
CREATE FUNCTION chathub_msg_insert(p_room bigint, p_sender bigint, p_content text,
                                   p_client_id text, p_token text)
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
      AND (p_sender IS NULL OR (EXISTS (
          SELECT 1 FROM room_participants rp WHERE rp.room_id = p_room AND rp.user_id = p_sender)
          AND EXISTS (SELECT 1 FROM users u WHERE u.id = p_sender AND u.is_active)
          AND (p_token IS NULL OR EXISTS (
              SELECT 1 FROM auth_tokens t WHERE t.key = p_token AND t.user_id = p_sender))))
    RETURNING rooms.last_seq INTO next_seq;
    IF NOT FOUND THEN
        RETURN QUERY SELECT * FROM chathub_msg_insert_checked(p_room, p_sender, p_content,
                                                              p_client_id, p_token);
        RETURN;
    END IF;
    INSERT INTO messages (room_id, seq, sender_id, content, client_id)
    VALUES (p_room, next_seq, p_sender, p_content, p_client_id)
    ON CONFLICT (room_id, COALESCE(sender_id, 0), client_id) WHERE client_id IS NOT NULL
    DO NOTHING
    RETURNING * INTO m;
    IF NOT FOUND THEN
        dup := true;
        SELECT * INTO m FROM messages
        WHERE messages.room_id = p_room AND COALESCE(messages.sender_id, 0) = COALESCE(p_sender, 0)
          AND messages.client_id = p_client_id;
        UPDATE rooms SET last_seq = rooms.last_seq - 1,
            last_message_at = (SELECT mm.created_at FROM messages mm
                               WHERE mm.room_id = p_room ORDER BY mm.seq DESC LIMIT 1)
        WHERE rooms.id = p_room;
    END IF;
    status := CASE WHEN dup THEN 'duplicate' ELSE 'ok' END;
    id := m.id;
    room_id := m.room_id;
    seq := m.seq;
    sender_id := m.sender_id;
    content := m.content;
    created_at := to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
    client_id := m.client_id;
    SELECT u.full_name, u.role INTO full_name, role FROM users u WHERE u.id = m.sender_id;
    RETURN NEXT;
END
$$;

-- 0019's batch, with the token check in its fast path.
CREATE FUNCTION chathub_msg_insert_batch(p_rooms bigint[], p_senders bigint[],
                                         p_contents text[], p_client_ids text[],
                                         p_tokens text[])
RETURNS TABLE (i int, status text, id bigint, room_id bigint, seq bigint, sender_id bigint,
               full_name text, role text, content text, created_at text, client_id text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    k int;
    m messages%ROWTYPE;
    next_seq bigint;
BEGIN
    FOR k IN SELECT t.ord FROM unnest(p_rooms) WITH ORDINALITY AS t(room, ord)
             ORDER BY t.room, t.ord
    LOOP
        UPDATE rooms SET last_seq = rooms.last_seq + 1, last_message_at = now()
        WHERE rooms.id = p_rooms[k] AND NOT rooms.is_archived
          AND (p_senders[k] IS NULL OR (EXISTS (
              SELECT 1 FROM room_participants rp
              WHERE rp.room_id = p_rooms[k] AND rp.user_id = p_senders[k])
              AND EXISTS (SELECT 1 FROM users u WHERE u.id = p_senders[k] AND u.is_active)
              AND (p_tokens[k] IS NULL OR EXISTS (
                  SELECT 1 FROM auth_tokens t
                  WHERE t.key = p_tokens[k] AND t.user_id = p_senders[k]))))
        RETURNING rooms.last_seq INTO next_seq;
        IF NOT FOUND THEN
            RETURN QUERY SELECT k, c.* FROM chathub_msg_insert_checked(p_rooms[k], p_senders[k],
                                                                       p_contents[k],
                                                                       p_client_ids[k],
                                                                       p_tokens[k]) AS c;
            CONTINUE;
        END IF;
        INSERT INTO messages (room_id, seq, sender_id, content, client_id)
        VALUES (p_rooms[k], next_seq, p_senders[k], p_contents[k], p_client_ids[k])
        ON CONFLICT (room_id, COALESCE(sender_id, 0), client_id) WHERE client_id IS NOT NULL
        DO NOTHING
        RETURNING * INTO m;
        status := 'ok';
        IF NOT FOUND THEN
            status := 'duplicate';
            SELECT * INTO m FROM messages
            WHERE messages.room_id = p_rooms[k]
              AND COALESCE(messages.sender_id, 0) = COALESCE(p_senders[k], 0)
              AND messages.client_id = p_client_ids[k];
            UPDATE rooms SET last_seq = rooms.last_seq - 1,
                last_message_at = (SELECT mm.created_at FROM messages mm
                                   WHERE mm.room_id = p_rooms[k] ORDER BY mm.seq DESC LIMIT 1)
            WHERE rooms.id = p_rooms[k];
        END IF;
        i := k;
        id := m.id;
        room_id := m.room_id;
        seq := m.seq;
        sender_id := m.sender_id;
        content := m.content;
        created_at := to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
        client_id := m.client_id;
        SELECT u.full_name, u.role INTO full_name, role FROM users u WHERE u.id = m.sender_id;
        RETURN NEXT;
    END LOOP;
END
$$;

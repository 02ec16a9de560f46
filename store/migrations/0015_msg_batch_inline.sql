-- Group commit (0003) ran each input through chathub_msg_insert by a
-- statement of its own (RETURN QUERY SELECT ... FROM chathub_msg_insert(...)):
-- an executor started, a plpgsql call and a tuplestore per message. At
-- 140,000 deliveries/s that layer was 15 of the batch's 100 us per message
-- (pg_stat_statements), and the function's own assignments and RETURN NEXT
-- another 28. The batch now runs 0007's statements for each input itself.
-- What each input gets is unchanged: the fast path's UPDATE, the INSERT that
-- stops at the client_id index, a duplicate's original, and for a missing or
-- archived room or a sender who is not a participant 0001's function with
-- its statuses and their precedence. chathub_msg_insert itself stays as 0007
-- made it (a single insert, and nodes of older builds, call it).
CREATE OR REPLACE FUNCTION chathub_msg_insert_batch(p_rooms bigint[], p_senders bigint[],
                                                    p_contents text[], p_client_ids text[])
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
          AND (p_senders[k] IS NULL OR EXISTS (
              SELECT 1 FROM room_participants rp
              WHERE rp.room_id = p_rooms[k] AND rp.user_id = p_senders[k]))
        RETURNING rooms.last_seq INTO next_seq;
        IF NOT FOUND THEN
            RETURN QUERY SELECT k, c.* FROM chathub_msg_insert_checked(p_rooms[k], p_senders[k],
                                                                       p_contents[k],
                                                                       p_client_ids[k]) AS c;
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

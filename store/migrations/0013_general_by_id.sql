-- The GENERAL room by its numeric id (/ws/chat/<id>/, which is also how a
-- client that learnt the id from connection_established reconnects) refused
-- a user who had never connected through /ws/chat/general/, where any active
-- user becomes a participant (PROTOCOL.md §1). Now it joins them too:
-- chathub_join does it itself, and chathub_join_rooms, which only reads,
-- answers 'general' for such a row so that the store joins it alone.

-- 0001's, but the GENERAL room joins its user whichever way it is asked for.
-- p_kind: 1 a room by id, 2 the user's first available room (latest
-- activity, then lowest id), 3 GENERAL.
-- parts: [[id, full_name, role, last_read_seq], ...].
CREATE OR REPLACE FUNCTION chathub_join(p_user bigint, p_kind int, p_room bigint)
RETURNS TABLE (status text, full_name text, role text, room_id bigint, room_type text,
               room_name text, archived boolean, last_seq bigint, parts json)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    u users%ROWTYPE;
    r rooms%ROWTYPE;
BEGIN
    SELECT * INTO u FROM users WHERE users.id = p_user;
    IF NOT FOUND OR NOT u.is_active THEN
        status := 'unauthorized';
        RETURN NEXT;
        RETURN;
    END IF;
    IF p_kind = 1 THEN
        SELECT * INTO r FROM rooms WHERE rooms.id = p_room;
    ELSIF p_kind = 2 THEN
        SELECT rr.* INTO r FROM rooms rr
        JOIN room_participants rp ON rp.room_id = rr.id AND rp.user_id = p_user
        ORDER BY rr.last_message_at DESC NULLS LAST, rr.id LIMIT 1;
    ELSE
        SELECT * INTO r FROM rooms WHERE rooms.type = 'GENERAL';
    END IF;
    IF NOT FOUND THEN
        status := 'not_found';
        RETURN NEXT;
        RETURN;
    END IF;
    IF p_kind = 3 OR r.type = 'GENERAL' THEN
        INSERT INTO room_participants (room_id, user_id) VALUES (r.id, p_user)
        ON CONFLICT DO NOTHING;
    ELSIF NOT EXISTS (SELECT 1 FROM room_participants rp
                      WHERE rp.room_id = r.id AND rp.user_id = p_user) THEN
        status := 'forbidden';
        RETURN NEXT;
        RETURN;
    END IF;
    status := 'ok';
    full_name := u.full_name;
    role := u.role;
    room_id := r.id;
    room_type := r.type;
    room_name := r.name;
    archived := r.is_archived;
    last_seq := r.last_seq;
    SELECT COALESCE(json_agg(json_build_array(pu.id, pu.full_name, pu.role, rp.last_read_seq)
                             ORDER BY pu.id), '[]'::json)
    INTO parts
    FROM room_participants rp JOIN users pu ON pu.id = rp.user_id
    WHERE rp.room_id = r.id;
    RETURN NEXT;
END
$$;

-- 0006's, with the 'general' status.
CREATE OR REPLACE FUNCTION chathub_join_rooms(p_users bigint[], p_rooms bigint[])
RETURNS TABLE (i int, status text, full_name text, role text, room_id bigint, room_type text,
               room_name text, archived boolean, last_seq bigint, parts json)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH inp AS (
        SELECT t.ord::int AS i, t.uid, t.rid
        FROM unnest(p_users, p_rooms) WITH ORDINALITY AS t(uid, rid, ord)
    ), parts AS (
        SELECT d.rid, l.parts
        FROM (SELECT DISTINCT inp.rid FROM inp) d
        CROSS JOIN LATERAL (
            SELECT json_agg(json_build_array(pu.id, pu.full_name, pu.role, rp.last_read_seq)
                            ORDER BY pu.id) AS parts
            FROM room_participants rp JOIN users pu ON pu.id = rp.user_id
            WHERE rp.room_id = d.rid
            OFFSET 0) l
    )
    SELECT inp.i,
           CASE WHEN u.id IS NULL OR NOT u.is_active THEN 'unauthorized'
                WHEN r.id IS NULL THEN 'not_found'
                WHEN m.uid IS NULL AND r.type = 'GENERAL' THEN 'general'
                WHEN m.uid IS NULL THEN 'forbidden'
                ELSE 'ok' END,
           u.full_name, u.role, r.id, r.type, r.name, r.is_archived, r.last_seq,
           COALESCE(p.parts, '[]'::json)
    FROM inp
    LEFT JOIN LATERAL (SELECT x.id, x.is_active, x.full_name, x.role FROM users x
                       WHERE x.id = inp.uid OFFSET 0) u ON true
    LEFT JOIN LATERAL (SELECT x.id, x.type, x.name, x.is_archived, x.last_seq FROM rooms x
                       WHERE x.id = inp.rid OFFSET 0) r ON true
    LEFT JOIN LATERAL (SELECT x.user_id AS uid FROM room_participants x
                       WHERE x.room_id = inp.rid AND x.user_id = inp.uid OFFSET 0) m ON true
    LEFT JOIN parts p ON p.rid = inp.rid
    ORDER BY inp.i;
END
$$;

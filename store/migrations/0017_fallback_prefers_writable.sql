-- The fallback room (/ws/chat/ with no room) was the user's room with the
-- latest message, archived ones included: a student whose last course
-- ended landed in its read-only room while they had live ones. "The
-- user's first available room" now means a writable one first, by latest
-- activity then lowest id; an archived room only when they have no other.

-- 0013's, with the fallback's order.
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
        ORDER BY rr.is_archived, rr.last_message_at DESC NULLS LAST, rr.id LIMIT 1;
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

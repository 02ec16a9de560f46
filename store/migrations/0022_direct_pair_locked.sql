-- A DIRECT room could end with three participants, the third able to read
-- and write in it (an audit, two nodes): a PUT that gave the room another
-- pair (its direct_key) raced a call that added someone to it by the old
-- pair. The participant PUT (store_participant_add) and POST of a DIRECT
-- room (chathub_room_direct) read the room's key from their snapshot, then
-- inserted after the PUT had committed the new key and removed the old
-- member. Both now read the room FOR KEY SHARE: a key change (FOR UPDATE)
-- waits for them, and they wait for it and read the key it committed
-- (READ COMMITTED re-reads a row it had to wait for). Messages take FOR NO
-- KEY UPDATE on the room, which FOR KEY SHARE does not block.

-- 0012's: the keyed room is read locked, and read again when its key moved
-- away meanwhile (a new room for the pair is made then).
CREATE OR REPLACE FUNCTION chathub_room_direct(p_a bigint, p_b bigint, p_name text)
RETURNS TABLE (room_id bigint, created boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    k text := least(p_a, p_b)::text || ':' || greatest(p_a, p_b)::text;
    rid bigint;
BEGIN
    FOR attempt IN 1..10 LOOP
        INSERT INTO rooms (type, name, direct_key) VALUES ('DIRECT', COALESCE(p_name, ''), k)
        ON CONFLICT (direct_key) DO NOTHING RETURNING rooms.id INTO rid;
        created := rid IS NOT NULL;
        IF rid IS NULL THEN
            SELECT rooms.id INTO rid FROM rooms WHERE rooms.direct_key = k FOR KEY SHARE;
        END IF;
        EXIT WHEN rid IS NOT NULL;
    END LOOP;
    IF rid IS NULL THEN
        RAISE EXCEPTION 'the DIRECT room of % kept moving', k USING ERRCODE = '40001';
    END IF;
    INSERT INTO room_participants (room_id, user_id) VALUES (rid, p_a), (rid, p_b)
    ON CONFLICT DO NOTHING;
    room_id := rid;
    RETURN NEXT;
END
$$;

-- 0011's, and a DIRECT room holding a user outside its pair.
CREATE OR REPLACE FUNCTION chathub_check()
RETURNS TABLE (problem text, room_id bigint, detail text)
LANGUAGE sql STABLE AS $$
    SELECT 'missing_parent', r.id, 'parent ' || pl.parent_id || ' of student ' || e.student_id
    FROM rooms r
    JOIN enrollments e ON e.id = r.enrollment_id
    JOIN parent_links pl ON pl.student_id = e.student_id
    WHERE r.type IN ('FORUM_SUBJECT', 'FORUM_TUTOR')
      AND NOT EXISTS (SELECT 1 FROM room_participants rp
                      WHERE rp.room_id = r.id AND rp.user_id = pl.parent_id)
    UNION ALL
    SELECT 'duplicate_direct', d.id, 'same pair as room ' || d.first
    FROM (SELECT r.id, first_value(r.id) OVER (PARTITION BY pair
                                               ORDER BY r.direct_key IS NULL, r.id) AS first
          FROM rooms r
          JOIN LATERAL (SELECT string_agg(user_id::text, ':' ORDER BY user_id) AS pair
                        FROM room_participants WHERE room_participants.room_id = r.id) p ON true
          WHERE r.type = 'DIRECT') d
    WHERE d.id <> d.first
    UNION ALL
    SELECT 'direct_outsider', r.id, 'user ' || rp.user_id || ' outside the pair ' || r.direct_key
    FROM rooms r
    JOIN room_participants rp ON rp.room_id = r.id
    WHERE r.type = 'DIRECT' AND r.direct_key IS NOT NULL
      AND rp.user_id::text NOT IN (split_part(r.direct_key, ':', 1), split_part(r.direct_key, ':', 2))
    UNION ALL
    SELECT 'duplicate_forum', r.id, 'enrollment ' || r.enrollment_id || ' ' || r.type
    FROM (SELECT id, enrollment_id, type,
                 row_number() OVER (PARTITION BY enrollment_id, type ORDER BY id) AS n
          FROM rooms WHERE enrollment_id IS NOT NULL) r
    WHERE r.n > 1
    ORDER BY 1, 2
$$;

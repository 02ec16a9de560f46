-- An audit at scale (100,000 users, 1,000,000 room_participants rows,
-- 10,000,000 messages) found three statements that grow with the tables, not
-- with what they answer:
-- * The joins' participant lists sorted in the aggregate (ORDER BY pu.id)
--   what room_participants_pkey already returns in user order; GENERAL's
--   list of every user spilled to disk. The list is now aggregated from a
--   subquery ordered by rp.user_id, which the join keeps (907 ms to 374 ms
--   for GENERAL). With the default random_page_cost of 4 the planner hashed
--   all of users for any room of a few hundred members (13-45 ms); the join
--   functions plan with 1.1, a solid-state disk's (2.4-3.3 ms): a later
--   CREATE OR REPLACE of either must say SET random_page_cost again.
-- * GET /stats counted every message (1.9 s at 10 million, past the
--   statement timeout at about 30 million, holding one of the pool's
--   connections all the while). Seqs are gapless from 1 and a message only
--   goes with its room, so the sum of the rooms' last seqs is the same
--   number (257 ms).
-- * A parent link looked up the student's enrollments with no index on
--   student_id (6.4 ms to 0.2 ms for a typical student).

CREATE OR REPLACE FUNCTION chathub_join(p_user bigint, p_kind int, p_room bigint)
RETURNS TABLE (status text, full_name text, role text, room_id bigint, room_type text,
               room_name text, archived boolean, last_seq bigint, parts json)
LANGUAGE plpgsql SET random_page_cost = 1.1 AS $$
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
    SELECT COALESCE(json_agg(json_build_array(p.user_id, p.full_name, p.role, p.last_read_seq)),
                    '[]'::json)
    INTO parts
    FROM (SELECT rp.user_id, pu.full_name, pu.role, rp.last_read_seq
          FROM room_participants rp JOIN users pu ON pu.id = rp.user_id
          WHERE rp.room_id = r.id ORDER BY rp.user_id) p;
    RETURN NEXT;
END
$$;

CREATE OR REPLACE FUNCTION chathub_join_rooms(p_users bigint[], p_rooms bigint[])
RETURNS TABLE (i int, status text, full_name text, role text, room_id bigint, room_type text,
               room_name text, archived boolean, last_seq bigint, parts json)
LANGUAGE plpgsql STABLE SET random_page_cost = 1.1 AS $$
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
            SELECT json_agg(json_build_array(p.user_id, p.full_name, p.role, p.last_read_seq))
                   AS parts
            FROM (SELECT rp.user_id, pu.full_name, pu.role, rp.last_read_seq
                  FROM room_participants rp JOIN users pu ON pu.id = rp.user_id
                  WHERE rp.room_id = d.rid ORDER BY rp.user_id OFFSET 0) p) l
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


CREATE OR REPLACE FUNCTION chathub_stats()
RETURNS TABLE (rooms bigint, messages bigint, participants bigint, room_types json)
LANGUAGE sql STABLE AS $$
    SELECT (SELECT count(*) FROM rooms),
           (SELECT COALESCE(sum(last_seq), 0)::bigint FROM rooms),
           (SELECT count(*) FROM room_participants),
           (SELECT COALESCE(json_object_agg(type, n), '{}'::json)
            FROM (SELECT type, count(*) AS n FROM rooms GROUP BY type) t)
$$;

CREATE INDEX IF NOT EXISTS enrollments_student ON enrollments (student_id);

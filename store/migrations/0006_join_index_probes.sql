-- chathub_join_rooms (0004) left the plan to estimates that cannot be right
-- for an unnest() of unknown length. With 10,500 participants PostgreSQL read
-- all of room_participants twice per batch: a sequential scan to build the
-- participant lists and another to hash it for the membership check, about
-- 5 ms for a batch of 63 joins, growing with the table. Each room's list and
-- each row's lookups are now fenced subqueries (OFFSET 0 keeps them from
-- being flattened back into joins or hashed), so every access is an index
-- probe whatever the estimate. Rows and statuses are unchanged.
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

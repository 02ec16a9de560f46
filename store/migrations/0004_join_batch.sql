-- Joins by room id, many in one statement (store_room.c merges the joins a
-- connection finds queued back to back, as at a reconnect storm). Row i
-- answers input i (1-based) exactly as chathub_join(p_users[i], 1, p_rooms[i])
-- would; a room's participant list is built once however many join it.
CREATE FUNCTION chathub_join_rooms(p_users bigint[], p_rooms bigint[])
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
        SELECT rp.room_id AS rid,
               json_agg(json_build_array(pu.id, pu.full_name, pu.role, rp.last_read_seq)
                        ORDER BY pu.id) AS parts
        FROM room_participants rp JOIN users pu ON pu.id = rp.user_id
        WHERE rp.room_id IN (SELECT DISTINCT inp.rid FROM inp)
        GROUP BY rp.room_id
    )
    SELECT inp.i,
           CASE WHEN u.id IS NULL OR NOT u.is_active THEN 'unauthorized'
                WHEN r.id IS NULL THEN 'not_found'
                WHEN NOT EXISTS (SELECT 1 FROM room_participants rp
                                 WHERE rp.room_id = r.id AND rp.user_id = inp.uid) THEN 'forbidden'
                ELSE 'ok' END,
           u.full_name, u.role, r.id, r.type, r.name, r.is_archived, r.last_seq,
           COALESCE(p.parts, '[]'::json)
    FROM inp
    LEFT JOIN users u ON u.id = inp.uid
    LEFT JOIN rooms r ON r.id = inp.rid
    LEFT JOIN parts p ON p.rid = inp.rid
    ORDER BY inp.i;
END
$$;

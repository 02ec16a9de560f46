-- PUT /api/v1/rooms/{id} of a DIRECT room keeps "one DIRECT room per pair"
-- as POST does: the room takes its pair's direct_key, which is UNIQUE since
-- 0001, so the index refuses a second room for a pair whatever the
-- interleaving; no read-then-write decides it.
--
-- Until now PUT wrote DIRECT rooms without a key, so a database may already
-- hold several DIRECT rooms per pair. The key goes to one room per pair: a
-- room that holds it already (made by POST) keeps it; otherwise the oldest
-- keyless DIRECT room whose participants are exactly that pair (created_at,
-- then id). The other rooms stay as they are, readable and joinable by id;
-- `chathub check` lists them as duplicate_direct, and a PUT of their id now
-- answers a conflict that names the keyed room.
UPDATE rooms SET direct_key = c.k
FROM (SELECT DISTINCT ON (p.k) p.id, p.k
      FROM (SELECT r.id, r.created_at,
                   min(rp.user_id)::text || ':' || max(rp.user_id)::text AS k
            FROM rooms r JOIN room_participants rp ON rp.room_id = r.id
            WHERE r.type = 'DIRECT' AND r.direct_key IS NULL
            GROUP BY r.id, r.created_at
            HAVING count(*) = 2) p
      WHERE NOT EXISTS (SELECT 1 FROM rooms h WHERE h.direct_key = p.k)
      ORDER BY p.k, p.created_at, p.id) c
WHERE rooms.id = c.id;

-- The result gains status and room_id, so the old function goes; a node still
-- running the previous binary selects only "created", which is still there.
DROP FUNCTION chathub_room_put(bigint, text, text, boolean, bigint[]);

-- Upsert a room under the caller's id; with members, participants become
-- exactly those (an unknown member is a foreign-key error: nothing changes).
-- status 'ok'; 'invalid': a DIRECT room without exactly two distinct members;
-- 'conflict': another room already holds the DIRECT pair, room_id names it
-- and nothing changed. Any other type clears the key, freeing the pair.
CREATE FUNCTION chathub_room_put(p_id bigint, p_type text, p_name text, p_has_members boolean,
                                 p_members bigint[])
RETURNS TABLE (status text, room_id bigint, created boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    k text;
    holder bigint;
BEGIN
    room_id := p_id;
    created := false;
    IF p_type = 'DIRECT' THEN
        IF NOT p_has_members OR cardinality(p_members) <> 2 OR p_members[1] = p_members[2] THEN
            status := 'invalid';
            RETURN NEXT;
            RETURN;
        END IF;
        k := least(p_members[1], p_members[2])::text || ':'
             || greatest(p_members[1], p_members[2])::text;
    END IF;
    LOOP
        BEGIN
            INSERT INTO rooms (id, type, name, direct_key)
            VALUES (p_id, p_type, COALESCE(p_name, ''), k)
            ON CONFLICT (id) DO UPDATE
                SET type = EXCLUDED.type, name = EXCLUDED.name, direct_key = EXCLUDED.direct_key
            RETURNING (xmax = 0) INTO created;
            EXIT;
        EXCEPTION WHEN unique_violation THEN
            -- The index waited for the other writer, so its row is committed
            -- and this statement's fresh snapshot sees it.
            SELECT r.id INTO holder FROM rooms r WHERE r.direct_key = k;
            IF k IS NULL OR holder IS NULL THEN
                RAISE;
            END IF;
            IF holder <> p_id THEN
                status := 'conflict';
                room_id := holder;
                created := false;
                RETURN NEXT;
                RETURN;
            END IF;
            -- A concurrent PUT of this same id inserted it first: update it.
        END;
    END LOOP;
    IF p_has_members THEN
        DELETE FROM room_participants rp
        WHERE rp.room_id = p_id AND rp.user_id <> ALL (p_members);
        INSERT INTO room_participants (room_id, user_id)
        SELECT p_id, m FROM unnest(p_members) AS m ON CONFLICT DO NOTHING;
    END IF;
    status := 'ok';
    RETURN NEXT;
END
$$;

-- POST /api/v1/rooms with an Idempotency-Key header: the key remembers the
-- room its first request answered, so a retry (a timeout, a proxy) gets that
-- room back instead of making another. There is one API key, hence one
-- caller, so keys are global. A key lives 24 hours: an expired key counts as
-- new, and expired rows go lazily, a few each time a key is claimed.
CREATE TABLE room_idempotency_keys (
    key text PRIMARY KEY,
    type text NOT NULL,
    name text NOT NULL,
    members bigint[] NOT NULL, -- sorted, distinct: the same set is the same request
    room_id bigint REFERENCES rooms (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX room_idempotency_keys_created ON room_idempotency_keys (created_at);

-- Create a GROUP or DIRECT room once per key. The key's row is claimed
-- before the room is made: a concurrent request with the same key waits on
-- the primary key until the first commits, then reads the room it made (or
-- claims the key itself when the first rolled back).
-- status 'ok' (created: this call made the room); 'mismatch': the key's
-- first request had another type, name or member set, room_id is its room;
-- 'invalid': a type other than GROUP and DIRECT.
CREATE FUNCTION chathub_room_create_once(p_key text, p_type text, p_name text,
                                         p_members bigint[])
RETURNS TABLE (status text, room_id bigint, created boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    mem bigint[] := ARRAY(SELECT DISTINCT m FROM unnest(p_members) AS m ORDER BY m);
    nm text := COALESCE(p_name, '');
    claimed boolean;
    k room_idempotency_keys%ROWTYPE;
    rid bigint;
BEGIN
    IF p_type IS DISTINCT FROM 'GROUP' AND p_type IS DISTINCT FROM 'DIRECT' THEN
        status := 'invalid';
        RETURN NEXT;
        RETURN;
    END IF;
    DELETE FROM room_idempotency_keys x
    WHERE x.key = p_key AND x.created_at < now() - interval '24 hours';
    LOOP
        claimed := false;
        INSERT INTO room_idempotency_keys (key, type, name, members)
        VALUES (p_key, p_type, nm, mem)
        ON CONFLICT (key) DO NOTHING
        RETURNING true INTO claimed;
        EXIT WHEN claimed;
        SELECT * INTO k FROM room_idempotency_keys x WHERE x.key = p_key;
        -- Not found: its room went (cascade) or it expired meanwhile; claim again.
        IF FOUND THEN
            status := CASE WHEN k.type = p_type AND k.name = nm AND k.members = mem
                           THEN 'ok' ELSE 'mismatch' END;
            room_id := k.room_id;
            created := false;
            RETURN NEXT;
            RETURN;
        END IF;
    END LOOP;
    -- Skip rows another claim is deleting: cleanup never waits.
    DELETE FROM room_idempotency_keys x
    WHERE x.key IN (SELECT y.key FROM room_idempotency_keys y
                    WHERE y.created_at < now() - interval '24 hours'
                    ORDER BY y.created_at LIMIT 100 FOR UPDATE SKIP LOCKED);
    IF p_type = 'DIRECT' THEN
        SELECT d.room_id, d.created INTO rid, created
        FROM chathub_room_direct(p_members[1], p_members[2], nm) d;
    ELSE
        INSERT INTO rooms (type, name) VALUES (p_type, nm) RETURNING rooms.id INTO rid;
        INSERT INTO room_participants (room_id, user_id) SELECT rid, m FROM unnest(mem) AS m;
        created := true;
    END IF;
    UPDATE room_idempotency_keys x SET room_id = rid WHERE x.key = p_key;
    status := 'ok';
    room_id := rid;
    RETURN NEXT;
END
$$;

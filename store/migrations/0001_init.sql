-- chathub schema v1: users and tokens as the platform pushes them, rooms with
-- a gapless per-room seq, participants, messages, and the enrollment tables
-- the participant sync builds on. Uniqueness lives here, never in C.

CREATE TABLE users (
    id bigint PRIMARY KEY CHECK (id > 0 AND id <= 9007199254740991),
    full_name text NOT NULL,
    role text NOT NULL CHECK (role IN ('student', 'teacher', 'tutor', 'parent', 'admin')),
    is_active boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE auth_tokens (
    key text PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX auth_tokens_user ON auth_tokens (user_id);

-- Ids the hub picks start at 10^15 so that ids a platform PUTs never collide.
CREATE SEQUENCE rooms_id_seq START WITH 1000000000000000 MAXVALUE 9007199254740991;

CREATE TABLE rooms (
    id bigint PRIMARY KEY DEFAULT nextval('rooms_id_seq')
        CHECK (id > 0 AND id <= 9007199254740991),
    type text NOT NULL
        CHECK (type IN ('GENERAL', 'FORUM_SUBJECT', 'FORUM_TUTOR', 'GROUP', 'DIRECT')),
    name text NOT NULL DEFAULT '',
    enrollment_id bigint,
    direct_key text UNIQUE,
    is_archived boolean NOT NULL DEFAULT false,
    last_seq bigint NOT NULL DEFAULT 0,
    last_message_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (enrollment_id, type)
);
ALTER SEQUENCE rooms_id_seq OWNED BY rooms.id;
CREATE UNIQUE INDEX rooms_one_general ON rooms ((true)) WHERE type = 'GENERAL';
INSERT INTO rooms (type, name) VALUES ('GENERAL', 'General');

CREATE TABLE room_participants (
    room_id bigint NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    last_read_seq bigint NOT NULL DEFAULT 0,
    joined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_participants_user ON room_participants (user_id);

CREATE TABLE messages (
    id bigserial PRIMARY KEY,
    room_id bigint NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq bigint NOT NULL,
    sender_id bigint REFERENCES users (id) ON DELETE SET NULL,
    content text NOT NULL,
    client_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (room_id, seq)
);
-- A retry with the same client_id finds the original (system messages: sender 0).
CREATE UNIQUE INDEX messages_client_id ON messages (room_id, COALESCE(sender_id, 0), client_id)
    WHERE client_id IS NOT NULL;

CREATE TABLE parent_links (
    student_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    parent_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (student_id, parent_id)
);
CREATE INDEX parent_links_parent ON parent_links (parent_id);

CREATE TABLE enrollments (
    id bigint PRIMARY KEY,
    student_id bigint NOT NULL REFERENCES users (id),
    teacher_id bigint NOT NULL REFERENCES users (id),
    tutor_id bigint REFERENCES users (id),
    subject text NOT NULL DEFAULT '',
    is_active boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION chathub_ts(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- Store one message: the room row is locked, so seqs are gapless and a retry
-- with the same client_id sees the original. A status column, not an
-- exception, says what happened, so C maps it without parsing messages.
CREATE FUNCTION chathub_msg_insert(p_room bigint, p_sender bigint, p_content text,
                                   p_client_id text)
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

-- Authorize a socket in one round trip. p_kind: 1 a room by id, 2 the user's
-- first available room (latest activity, then lowest id), 3 GENERAL (joins).
-- parts: [[id, full_name, role, last_read_seq], ...].
CREATE FUNCTION chathub_join(p_user bigint, p_kind int, p_room bigint)
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
    IF p_kind = 3 THEN
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

-- Upsert a room under the caller's id; with members, participants become
-- exactly those (an unknown member is a foreign-key error: nothing changes).
CREATE FUNCTION chathub_room_put(p_id bigint, p_type text, p_name text, p_has_members boolean,
                                 p_members bigint[])
RETURNS TABLE (created boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    INSERT INTO rooms (id, type, name) VALUES (p_id, p_type, COALESCE(p_name, ''))
    ON CONFLICT (id) DO UPDATE SET type = EXCLUDED.type, name = EXCLUDED.name
    RETURNING (xmax = 0) INTO created;
    IF p_has_members THEN
        DELETE FROM room_participants rp
        WHERE rp.room_id = p_id AND rp.user_id <> ALL (p_members);
        INSERT INTO room_participants (room_id, user_id)
        SELECT p_id, m FROM unnest(p_members) AS m ON CONFLICT DO NOTHING;
    END IF;
    RETURN NEXT;
END
$$;

-- One DIRECT room per pair of users, whoever asks first.
CREATE FUNCTION chathub_room_direct(p_a bigint, p_b bigint, p_name text)
RETURNS TABLE (room_id bigint, created boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    k text := least(p_a, p_b)::text || ':' || greatest(p_a, p_b)::text;
    rid bigint;
BEGIN
    INSERT INTO rooms (type, name, direct_key) VALUES ('DIRECT', COALESCE(p_name, ''), k)
    ON CONFLICT (direct_key) DO NOTHING RETURNING rooms.id INTO rid;
    IF rid IS NULL THEN
        SELECT rooms.id INTO rid FROM rooms WHERE rooms.direct_key = k;
        created := false;
    ELSE
        INSERT INTO room_participants (room_id, user_id) VALUES (rid, p_a), (rid, p_b)
        ON CONFLICT DO NOTHING;
        created := true;
    END IF;
    room_id := rid;
    RETURN NEXT;
END
$$;

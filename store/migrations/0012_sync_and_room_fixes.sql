-- Four things the sync and room writes did wrong.
--
-- 1. An enrollment upserted without its former tutor took that tutor out of
--    every room they were in, not just the enrollment's tutor room: under
--    #variable_conflict use_column, the bare room_id in
--    "rp.room_id = room_id" named the column itself, so the condition held
--    for every row. Only the tutor room is meant. (What that deleted cannot
--    be told apart from a deliberate removal; an enrollment's next upsert
--    puts its teacher and tutor back in its own rooms.)
-- 2. PUT /api/v1/rooms/{id} with members took the others out without saying
--    who, so their live sockets stayed open and kept receiving the room.
--    chathub_room_put now returns them in removed, for the hub to close
--    with 4403 on every node as DELETE .../participants/{id} does. The
--    columns it had keep their names, which is how the hub reads them.
-- 3. An enrollment upserted without is_active or subject set them back to
--    true and '': an archived enrollment came back to life. Left out, they
--    now keep what is stored.
-- 4. POST /api/v1/rooms for a DIRECT pair whose room had lost one of the two
--    (DELETE .../participants) handed back that room without them, so they
--    could not reach their own conversation. Asking for the pair's room now
--    puts both back in it. (PUT .../participants lets nobody else in: the hub
--    checks that in the statement it runs.)

CREATE OR REPLACE FUNCTION chathub_enrollment_put(p_id bigint, p_student bigint, p_teacher bigint,
                                                  p_tutor bigint, p_subject text, p_active boolean)
RETURNS TABLE (status text, room_id bigint, user_id bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    old enrollments%ROWTYPE;
    student_name text;
    r chathub_removal;
    tutor_room bigint;
BEGIN
    SELECT full_name INTO student_name FROM users WHERE id = p_student FOR UPDATE;
    IF NOT FOUND OR NOT chathub_role_is(p_student, 'student')
       OR NOT chathub_role_is(p_teacher, 'teacher')
       OR (p_tutor IS NOT NULL AND NOT chathub_role_is(p_tutor, 'tutor')) THEN
        status := 'invalid';
        RETURN NEXT;
        RETURN;
    END IF;
    SELECT * INTO old FROM enrollments WHERE id = p_id FOR UPDATE;
    IF FOUND AND old.student_id <> p_student THEN
        status := 'conflict'; -- an enrollment never changes its student
        RETURN NEXT;
        RETURN;
    END IF;
    -- A field left out (NULL) keeps what is stored; a new enrollment is active.
    p_subject := COALESCE(p_subject, old.subject);
    p_active := COALESCE(p_active, old.is_active, true);
    INSERT INTO enrollments (id, student_id, teacher_id, tutor_id, subject, is_active)
    VALUES (p_id, p_student, p_teacher, p_tutor, COALESCE(p_subject, ''), p_active)
    ON CONFLICT (id) DO UPDATE SET teacher_id = EXCLUDED.teacher_id,
        tutor_id = EXCLUDED.tutor_id, subject = EXCLUDED.subject,
        is_active = EXCLUDED.is_active, updated_at = now();
    status := 'ok';
    FOR r IN SELECT * FROM chathub_forum_room(p_id, 'FORUM_SUBJECT',
            COALESCE(NULLIF(p_subject, ''), 'Subject') || ': ' || student_name,
            NOT p_active, p_student, p_teacher, old.teacher_id) LOOP
        room_id := r.room_id;
        user_id := r.user_id;
        RETURN NEXT;
    END LOOP;
    IF p_tutor IS NOT NULL THEN
        FOR r IN SELECT * FROM chathub_forum_room(p_id, 'FORUM_TUTOR',
                'Tutor: ' || student_name, NOT p_active, p_student, p_tutor, old.tutor_id) LOOP
            room_id := r.room_id;
            user_id := r.user_id;
            RETURN NEXT;
        END LOOP;
    ELSIF old.tutor_id IS NOT NULL THEN
        -- The tutor is gone: the tutor room stays readable, archived, without
        -- them (unless they are in it as the student's parent, as in
        -- chathub_forum_room).
        UPDATE rooms rr SET is_archived = true
        WHERE rr.enrollment_id = p_id AND rr.type = 'FORUM_TUTOR' RETURNING rr.id INTO tutor_room;
        DELETE FROM room_participants rp
        WHERE rp.room_id = tutor_room AND rp.user_id = old.tutor_id
          AND NOT EXISTS (SELECT 1 FROM parent_links pl
                          WHERE pl.student_id = p_student AND pl.parent_id = old.tutor_id);
        IF FOUND THEN
            room_id := tutor_room;
            user_id := old.tutor_id;
            RETURN NEXT;
        END IF;
    END IF;
    room_id := NULL;
    user_id := NULL;
    RETURN NEXT; -- the status row, always last
END
$$;

-- The same as 0009's but for removed, which needs a new result type.
DROP FUNCTION chathub_room_put(bigint, text, text, boolean, bigint[]);
CREATE FUNCTION chathub_room_put(p_id bigint, p_type text, p_name text, p_has_members boolean,
                                 p_members bigint[])
RETURNS TABLE (status text, room_id bigint, created boolean, removed bigint[])
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    k text;
    holder bigint;
BEGIN
    room_id := p_id;
    created := false;
    removed := '{}';
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
        WITH gone AS (
            DELETE FROM room_participants rp
            WHERE rp.room_id = p_id AND rp.user_id <> ALL (p_members)
            RETURNING rp.user_id)
        SELECT COALESCE(array_agg(gone.user_id ORDER BY gone.user_id), '{}') INTO removed
        FROM gone;
        INSERT INTO room_participants (room_id, user_id)
        SELECT p_id, m FROM unnest(p_members) AS m ON CONFLICT DO NOTHING;
    END IF;
    status := 'ok';
    RETURN NEXT;
END
$$;

-- 0001's, but both users are in the room whether it was made now or before.
CREATE OR REPLACE FUNCTION chathub_room_direct(p_a bigint, p_b bigint, p_name text)
RETURNS TABLE (room_id bigint, created boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    k text := least(p_a, p_b)::text || ':' || greatest(p_a, p_b)::text;
    rid bigint;
BEGIN
    INSERT INTO rooms (type, name, direct_key) VALUES ('DIRECT', COALESCE(p_name, ''), k)
    ON CONFLICT (direct_key) DO NOTHING RETURNING rooms.id INTO rid;
    created := rid IS NOT NULL;
    IF rid IS NULL THEN
        SELECT rooms.id INTO rid FROM rooms WHERE rooms.direct_key = k;
    END IF;
    INSERT INTO room_participants (room_id, user_id) VALUES (rid, p_a), (rid, p_b)
    ON CONFLICT DO NOTHING;
    room_id := rid;
    RETURN NEXT;
END
$$;

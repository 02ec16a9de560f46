-- Deadlocks between the server API and messages (an audit, two nodes):
--
-- - chathub_enrollment_put, chathub_parent_link and chathub_parent_unlink
--   lock the student's users row FOR UPDATE so that calls about one student
--   run one at a time. A message's insert holds its room's row (the seq
--   bump) and then takes FOR KEY SHARE on its sender's users row (the
--   foreign key), which FOR UPDATE blocks; the enrollment call then waited
--   for the room's row: a student chatting while their enrollment was PUT
--   made PostgreSQL abort one of the two (HTTP 500, or a send's error). FOR
--   NO KEY UPDATE serializes these calls all the same and lets foreign key
--   checks through.
-- - chathub_room_put set type and direct_key on every upsert. Both are key
--   columns (UNIQUE (enrollment_id, type), UNIQUE direct_key), so the upsert
--   locked the room's row FOR UPDATE, which blocks the FOR KEY SHARE of a
--   concurrent participant insert while that insert held the index entry
--   the PUT's own member insert waited for. They are now set by an UPDATE of
--   their own, only when they change; the upsert sets the name alone and
--   takes FOR NO KEY UPDATE.
--
-- The store also sends a statement again after a deadlock (store_pgconn.c),
-- for cycles no lock order here foresees.

-- 0016's, with FOR NO KEY UPDATE.
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
    PERFORM pg_advisory_xact_lock(hashtext('chathub_enrollment_put'), hashint8(p_id));
    SELECT full_name INTO student_name FROM users WHERE id = p_student FOR NO KEY UPDATE;
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

-- 0014's, with FOR NO KEY UPDATE.
CREATE OR REPLACE FUNCTION chathub_parent_link(p_student bigint, p_parent bigint)
RETURNS TABLE (status text, room_id bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    PERFORM 1 FROM users WHERE id = p_student FOR NO KEY UPDATE;
    IF NOT FOUND OR NOT EXISTS (SELECT 1 FROM users WHERE id = p_parent) THEN
        status := 'not_found';
        RETURN NEXT;
        RETURN;
    END IF;
    IF NOT chathub_role_is(p_student, 'student') OR NOT chathub_role_is(p_parent, 'parent') THEN
        status := 'invalid';
        RETURN NEXT;
        RETURN;
    END IF;
    INSERT INTO parent_links (student_id, parent_id) VALUES (p_student, p_parent)
    ON CONFLICT DO NOTHING;
    status := 'ok';
    RETURN QUERY
    WITH ins AS (
        INSERT INTO room_participants (room_id, user_id)
        SELECT r.id, p_parent FROM rooms r JOIN enrollments e ON e.id = r.enrollment_id
        WHERE e.student_id = p_student AND r.type IN ('FORUM_SUBJECT', 'FORUM_TUTOR')
        ON CONFLICT DO NOTHING RETURNING room_participants.room_id)
    SELECT 'ok'::text, ins.room_id FROM ins;
    room_id := NULL;
    RETURN NEXT;
END
$$;

-- 0002's, with FOR NO KEY UPDATE.
CREATE OR REPLACE FUNCTION chathub_parent_unlink(p_student bigint, p_parent bigint)
RETURNS TABLE (status text, room_id bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    PERFORM 1 FROM users WHERE id = p_student FOR NO KEY UPDATE;
    DELETE FROM parent_links WHERE student_id = p_student AND parent_id = p_parent;
    status := 'ok';
    RETURN QUERY
    DELETE FROM room_participants rp USING rooms r, enrollments e
    WHERE rp.room_id = r.id AND e.id = r.enrollment_id AND e.student_id = p_student
      AND r.type IN ('FORUM_SUBJECT', 'FORUM_TUTOR') AND rp.user_id = p_parent
      AND rp.user_id NOT IN (e.teacher_id, COALESCE(e.tutor_id, 0))
    RETURNING 'ok'::text, rp.room_id;
    room_id := NULL;
    RETURN NEXT;
END
$$;

-- 0012's, with type and direct_key set only when they change.
CREATE OR REPLACE FUNCTION chathub_room_put(p_id bigint, p_type text, p_name text, p_has_members boolean,
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
            ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name
            RETURNING (xmax = 0) INTO created;
            -- type and direct_key are key columns (unique indexes): setting
            -- them locks the row FOR UPDATE, so they are set only when they
            -- change.
            UPDATE rooms r SET type = p_type, direct_key = k
            WHERE r.id = p_id
              AND (r.type IS DISTINCT FROM p_type OR r.direct_key IS DISTINCT FROM k);
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

-- Participant and parent sync (issue 4). Every function takes the student's
-- users row FOR UPDATE first, so calls about one student run one at a time
-- and any interleaving ends as if they ran one by one: a parent link racing
-- the enrollment that creates the forum room always sees, or is seen by, it.

-- Who was removed from which room, for the hub to close their live sockets.
CREATE TYPE chathub_removal AS (room_id bigint, user_id bigint);

CREATE FUNCTION chathub_role_is(p_user bigint, p_role text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM users WHERE id = p_user AND role = p_role)
$$;

-- Ensure one forum room of p_type for an enrollment with exactly the people
-- it should have, swapping out p_old (a replaced teacher or tutor).
CREATE FUNCTION chathub_forum_room(p_enrollment bigint, p_type text, p_name text,
                                   p_archived boolean, p_student bigint, p_staff bigint,
                                   p_old bigint)
RETURNS SETOF chathub_removal
LANGUAGE plpgsql AS $$
DECLARE
    rid bigint;
BEGIN
    INSERT INTO rooms (type, name, enrollment_id, is_archived)
    VALUES (p_type, p_name, p_enrollment, p_archived)
    ON CONFLICT (enrollment_id, type) DO UPDATE
        SET name = EXCLUDED.name, is_archived = EXCLUDED.is_archived
    RETURNING id INTO rid;
    INSERT INTO room_participants (room_id, user_id)
    SELECT rid, u FROM (
        SELECT p_student AS u UNION SELECT p_staff
        UNION SELECT parent_id FROM parent_links WHERE student_id = p_student) m
    WHERE u IS NOT NULL
    ON CONFLICT DO NOTHING;
    IF p_old IS NOT NULL AND p_old IS DISTINCT FROM p_staff AND p_old <> p_student
       AND NOT EXISTS (SELECT 1 FROM parent_links WHERE student_id = p_student AND parent_id = p_old)
    THEN
        DELETE FROM room_participants WHERE room_id = rid AND user_id = p_old;
        IF FOUND THEN
            RETURN NEXT (rid, p_old)::chathub_removal;
        END IF;
    END IF;
END
$$;

-- PUT /api/v1/enrollments/{id}. status: ok, invalid (unknown user or wrong role).
CREATE FUNCTION chathub_enrollment_put(p_id bigint, p_student bigint, p_teacher bigint,
                                       p_tutor bigint, p_subject text, p_active boolean)
RETURNS TABLE (status text, room_id bigint, user_id bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    old enrollments%ROWTYPE;
    student_name text;
    r chathub_removal;
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
        -- The tutor is gone: the tutor room stays readable, archived, without them.
        UPDATE rooms SET is_archived = true
        WHERE enrollment_id = p_id AND type = 'FORUM_TUTOR' RETURNING id INTO room_id;
        DELETE FROM room_participants rp WHERE rp.room_id = room_id AND rp.user_id = old.tutor_id;
        IF FOUND THEN
            user_id := old.tutor_id;
            RETURN NEXT;
        END IF;
    END IF;
    room_id := NULL;
    user_id := NULL;
    RETURN NEXT; -- the status row, always last
END
$$;

-- PUT /api/v1/students/{id}/parents/{parent_id}: the parent joins every forum room.
CREATE FUNCTION chathub_parent_link(p_student bigint, p_parent bigint)
RETURNS TABLE (status text, room_id bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    PERFORM 1 FROM users WHERE id = p_student FOR UPDATE;
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

-- DELETE /api/v1/students/{id}/parents/{parent_id}: the parent leaves the forum rooms.
CREATE FUNCTION chathub_parent_unlink(p_student bigint, p_parent bigint)
RETURNS TABLE (status text, room_id bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    PERFORM 1 FROM users WHERE id = p_student FOR UPDATE;
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

-- chathub sync-parents: every missing parent added to every forum room of their child.
CREATE FUNCTION chathub_sync_parents()
RETURNS TABLE (room_id bigint, user_id bigint)
LANGUAGE sql AS $$
    INSERT INTO room_participants (room_id, user_id)
    SELECT r.id, pl.parent_id FROM rooms r
    JOIN enrollments e ON e.id = r.enrollment_id
    JOIN parent_links pl ON pl.student_id = e.student_id
    WHERE r.type IN ('FORUM_SUBJECT', 'FORUM_TUTOR')
    ON CONFLICT DO NOTHING
    RETURNING room_participants.room_id, room_participants.user_id
$$;

-- chathub check: problems a database from before the hub's rules may hold.
CREATE FUNCTION chathub_check()
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
    FROM (SELECT r.id, first_value(r.id) OVER (PARTITION BY pair ORDER BY r.id) AS first
          FROM rooms r
          JOIN LATERAL (SELECT string_agg(user_id::text, ':' ORDER BY user_id) AS pair
                        FROM room_participants WHERE room_participants.room_id = r.id) p ON true
          WHERE r.type = 'DIRECT') d
    WHERE d.id <> d.first
    UNION ALL
    SELECT 'duplicate_forum', r.id, 'enrollment ' || r.enrollment_id || ' ' || r.type
    FROM (SELECT id, enrollment_id, type,
                 row_number() OVER (PARTITION BY enrollment_id, type ORDER BY id) AS n
          FROM rooms WHERE enrollment_id IS NOT NULL) r
    WHERE r.n > 1
    ORDER BY 1, 2
$$;

CREATE FUNCTION chathub_stats()
RETURNS TABLE (rooms bigint, messages bigint, participants bigint, room_types json)
LANGUAGE sql STABLE AS $$
    SELECT (SELECT count(*) FROM rooms),
           (SELECT count(*) FROM messages),
           (SELECT count(*) FROM room_participants),
           (SELECT COALESCE(json_object_agg(type, n), '{}'::json)
            FROM (SELECT type, count(*) AS n FROM rooms GROUP BY type) t)
$$;

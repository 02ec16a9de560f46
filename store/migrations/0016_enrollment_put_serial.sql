-- Two PUTs of one new enrollment id with different students both succeeded:
-- 0012's function serialized on the student's row only, so each read "no
-- enrollment yet", skipped the "an enrollment never changes its student"
-- check, and the second's upsert put its student, parents and teacher into
-- the first student's room. Run one after the other, the second is a
-- conflict. Now every call for an enrollment id first takes a transaction
-- lock on that id, so concurrent calls for it run as if one by one. The
-- two-key form keeps these locks apart from the migrations' one-key lock;
-- two ids that hash alike only wait for each other.

-- 0012's, with the lock first.
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

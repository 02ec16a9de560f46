-- An unlink of a parent who was not linked took them out of every forum room
-- of the student anyway (the room's participant rows were deleted whether or
-- not a link row was): DELETE /students/7/parents/7 removed the student from
-- their own rooms, and an unlink of an admin added by hand removed them too
-- (an audit). protocol/README.md says such an unlink is 200 with "left":[],
-- and now it is. The teacher-or-tutor exception is also per room now: a
-- parent who is the enrollment's tutor stays in its FORUM_TUTOR room only,
-- not in its FORUM_SUBJECT room, where they were only as a parent.

-- 0018's, with both fixes.
CREATE OR REPLACE FUNCTION chathub_parent_unlink(p_student bigint, p_parent bigint)
RETURNS TABLE (status text, room_id bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    PERFORM 1 FROM users WHERE id = p_student FOR NO KEY UPDATE;
    DELETE FROM parent_links WHERE student_id = p_student AND parent_id = p_parent;
    IF FOUND THEN
        RETURN QUERY
        DELETE FROM room_participants rp USING rooms r, enrollments e
        WHERE rp.room_id = r.id AND e.id = r.enrollment_id AND e.student_id = p_student
          AND r.type IN ('FORUM_SUBJECT', 'FORUM_TUTOR') AND rp.user_id = p_parent
          AND rp.user_id <> e.student_id
          AND rp.user_id <> CASE r.type WHEN 'FORUM_SUBJECT' THEN e.teacher_id
                                        ELSE COALESCE(e.tutor_id, 0) END
        RETURNING 'ok'::text, rp.room_id;
    END IF;
    status := 'ok';
    room_id := NULL;
    RETURN NEXT;
END
$$;

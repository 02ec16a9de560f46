-- PUT /api/v1/students/{id}/parents/{parent_id} answered 400 "invalid" both
-- for ids that name no user and for users of the wrong role. Both ids are in
-- the path, so an unknown one is now 'not_found' (404) and only a wrong role
-- stays 'invalid' (400).

-- 0002's, with the two cases told apart.
CREATE OR REPLACE FUNCTION chathub_parent_link(p_student bigint, p_parent bigint)
RETURNS TABLE (status text, room_id bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    PERFORM 1 FROM users WHERE id = p_student FOR UPDATE;
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

-- chathub check reported, of a pair's DIRECT rooms, every one but the lowest
-- id as a duplicate. Since 0009 the room the hub serves for a pair is the one
-- holding its direct_key (POST's, or the one 0009 or a PUT gave it), which
-- need not be the lowest: report the others as duplicates of that one. A pair
-- with no keyed room keeps the lowest id as before.
CREATE OR REPLACE FUNCTION chathub_check()
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
    FROM (SELECT r.id, first_value(r.id) OVER (PARTITION BY pair
                                               ORDER BY r.direct_key IS NULL, r.id) AS first
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

-- Group commit: the message inserts a connection finds queued back to back go
-- to PostgreSQL as one statement and one transaction (store_msg.c). Each input
-- runs through chathub_msg_insert, so seq, idempotency and the checks are the
-- single insert's; rooms are taken in id order (then queue order) so that two
-- batches never wait on each other's room locks in a cycle. Row i answers
-- input i (1-based).
CREATE FUNCTION chathub_msg_insert_batch(p_rooms bigint[], p_senders bigint[],
                                         p_contents text[], p_client_ids text[])
RETURNS TABLE (i int, status text, id bigint, room_id bigint, seq bigint, sender_id bigint,
               full_name text, role text, content text, created_at text, client_id text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    k int;
BEGIN
    FOR k IN SELECT t.ord FROM unnest(p_rooms) WITH ORDINALITY AS t(room, ord)
             ORDER BY t.room, t.ord
    LOOP
        RETURN QUERY SELECT k, m.* FROM chathub_msg_insert(p_rooms[k], p_senders[k],
                                                           p_contents[k], p_client_ids[k]) AS m;
    END LOOP;
END
$$;

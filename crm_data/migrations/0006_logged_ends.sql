-- A logged (done) event ends no later than the moment it was logged: it was logged after it
-- happened, and only planned events occupy the future (crm_data.rules.logged_end). Events
-- logged before this rule lasted their type's default duration from the typed moment into the
-- future (a call logged at 09:09 ran until 09:24), so calls logged a few minutes apart made a
-- salesperson "double-booked". Their end becomes the moment they were logged (completed_at),
-- and at least a minute after their start.
UPDATE events
SET ends_at = greatest(completed_at, starts_at + INTERVAL '1 minute')
WHERE status = 'done' AND completed_at IS NOT NULL AND ends_at > completed_at;

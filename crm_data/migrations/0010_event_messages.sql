-- E-mails into a thread (issue 23): an event made from an e-mail keeps the message's id
-- (Message-ID, or a digest of the message when it has none), so the same message dropped
-- twice is recognised and not doubled.

CREATE TABLE event_messages (
    event_id BIGINT PRIMARY KEY REFERENCES events (id),
    message_id VARCHAR NOT NULL UNIQUE
);

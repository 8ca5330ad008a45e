-- One-time sign-in tickets: the set-up screen (a Streamlit page, whose websocket cannot set a
-- cookie) hands the first administrator a link to /auth/ticket, which trades the ticket for a
-- real session cookie. Only the ticket's SHA-256 is kept; it is used once, within minutes.
CREATE TABLE signin_tickets (
    ticket_hash VARCHAR PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    expires_at TIMESTAMPTZ NOT NULL
);

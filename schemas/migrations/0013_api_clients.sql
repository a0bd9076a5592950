-- Tongban views, part 13: the certificate services registered to ask questions (the API's OAuth 2.0 clients).
--
-- Why: a certificate service (a government-service portal, a certificate office) asks the hub questions about
-- citizens over HTTP. An operator registers it (`tongban clients add`) with the questions it may ask (scopes) and the
-- purposes it may state; it exchanges its id and secret for a short-lived signed access token (client credentials),
-- and every question carries that token and a purpose. The hub looks its client up here on every request, so a client
-- disabled here is refused from its next request, whatever tokens it still holds.
--
-- The secret is 32 random bytes, shown once when the client is registered and never stored: only SHA-256 of a random
-- 16-byte salt followed by the secret's text. A fast hash is right for a secret this long (there is nothing to guess);
-- a password would need a slow one.

CREATE TABLE tongban.api_client (
    -- Random: 'tbc_' and 16 random bytes in base64url.
    client_id text PRIMARY KEY CHECK (client_id ~ '^tbc_[A-Za-z0-9_-]{22}$'),
    -- Who it is, for operators (e.g. 'Pudong certificate office').
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- SHA-256(secret_salt || secret), compared in constant time.
    secret_hash bytea NOT NULL CHECK (octet_length(secret_hash) = 32),
    secret_salt bytea NOT NULL CHECK (octet_length(secret_salt) = 16),
    -- The questions it may ask: 'kinship', 'social-insurance', 'property', 'medical-insurance', 'prefill',
    -- 'certificates' (the build refuses any other when registering).
    scopes text[] NOT NULL CHECK (cardinality(scopes) > 0),
    -- The purposes it may state with a question, identifiers of [a-z0-9-]{1,64} (e.g. 'kinship-certificate').
    purposes text[] NOT NULL CHECK (cardinality(purposes) > 0),
    -- Its rate limit: questions per second, with a burst of as many.
    requests_per_second int NOT NULL CHECK (requests_per_second > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    -- When an operator disabled it (`tongban clients disable`); NULL while it may ask. A disabled client stays as
    -- history (the audit trail names it).
    disabled_at timestamptz
);

COMMENT ON TABLE tongban.api_client IS
    'Certificate services registered to ask questions (OAuth 2.0 clients): scopes, purposes, rate limit; the secret '
    'only as a salted SHA-256. See schemas/migrations/README.md.';
COMMENT ON COLUMN tongban.api_client.secret_hash IS
    'SHA-256(secret_salt || secret); the secret itself is shown once at registration and never stored.';
COMMENT ON COLUMN tongban.api_client.disabled_at IS
    'When an operator disabled the client: refused from its next request. NULL while it may ask.';

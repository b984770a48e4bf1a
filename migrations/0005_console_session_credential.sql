-- The admin credential a password console session was signed in with: a hash of the admin
-- token's configured SHA-256 (workers/domain/console-session.ts credentialFingerprint). A
-- session lives only while that exact token is still configured under its operator's name,
-- so removing or rotating the token ends it. NULL: a session behind Cloudflare Access (which
-- vouches on every request); such a session is refused once Access is switched off.
ALTER TABLE console_sessions ADD COLUMN credential TEXT;

-- What db-query-operator needs to render Konnektr.Secret values (deploy/operator/secrets.yaml):
-- pgcrypto, a copy of the operator's secrets key that only the operator's role may read, and the
-- function that opens the operator's half of a sealed value with it (src/lib/secret-crypto.ts:
-- AES-256-CBC, then HMAC-SHA256 over resource id, NUL, IV and ciphertext; both subkeys are
-- HMAC-SHA256 of the key with a fixed label). Run by an administrator after ktrlplane's
-- migrations and after operator-role.sql (which revokes what it does not know of, this
-- included), every time either of them runs:
--
--   psql "$ADMIN_URL" -v ON_ERROR_STOP=1 \
--     -c "SET ktrlplane.secrets_operator_key = '<SECRETS_OPERATOR_KEY>'" -f deploy/operator/operator-secrets.sql
--
-- Settings, read with current_setting() so the script runs from any client:
--   ktrlplane.operator_role         the operator's role (default ktrlplane_operator); a role that
--                                   does not exist gets nothing (a notice says so)
--   ktrlplane.secrets_operator_key  the key (base64, 32 bytes), the same as ktrlplane's
--                                   SECRETS_OPERATOR_KEY; without it the stored key stays as it is
--
-- Why a table and not a role setting: ALTER ROLE … SET values are readable by every role through
-- pg_db_role_setting. The table belongs to the administrator running this script, so ktrlplane's
-- own role (which owns the other tables) cannot read it unless it is a superuser. Running it again
-- is safe: it replaces the key and the function and converges the grants.
CREATE EXTENSION IF NOT EXISTS pgcrypto;

DO $operator_secrets$
DECLARE
  role_name text := coalesce(nullif(current_setting('ktrlplane.operator_role', true), ''), 'ktrlplane_operator');
  key_text text := nullif(current_setting('ktrlplane.secrets_operator_key', true), '');
  crypto_schema text;
  key_bytes bytea;
BEGIN
  SELECT n.nspname INTO crypto_schema
  FROM pg_extension AS x JOIN pg_namespace AS n ON n.oid = x.extnamespace
  WHERE x.extname = 'pgcrypto';

  CREATE TABLE IF NOT EXISTS ktrlplane.operator_secrets_key (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    secret_key bytea NOT NULL CHECK (length(secret_key) = 32)
  );
  REVOKE ALL ON ktrlplane.operator_secrets_key FROM PUBLIC;

  IF key_text IS NOT NULL THEN
    BEGIN
      key_bytes := decode(key_text, 'base64');
    EXCEPTION WHEN others THEN
      RAISE EXCEPTION 'ktrlplane.secrets_operator_key is not base64' USING HINT = 'Use the value of SECRETS_OPERATOR_KEY.';
    END;
    IF length(key_bytes) <> 32 THEN
      RAISE EXCEPTION 'ktrlplane.secrets_operator_key must be 32 bytes in base64, it has %', length(key_bytes);
    END IF;
    INSERT INTO ktrlplane.operator_secrets_key (only_row, secret_key) VALUES (true, key_bytes)
    ON CONFLICT (only_row) DO UPDATE SET secret_key = excluded.secret_key;
  END IF;

  -- SECURITY INVOKER (the default): it reads the key with the caller's privileges, so only a role
  -- that may read ktrlplane.operator_secrets_key can open anything.
  EXECUTE format($fn$
    CREATE OR REPLACE FUNCTION ktrlplane.open_secret_for_operator(resource_id text, sealed text)
    RETURNS text LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, %I
    AS $body$
    DECLARE
      parts text[] := string_to_array(sealed, '.');
      master bytea;
      enc_key bytea;
      mac_key bytea;
      iv bytea;
      ciphertext bytea;
    BEGIN
      SELECT k.secret_key INTO master FROM ktrlplane.operator_secrets_key AS k;
      IF master IS NULL THEN
        RAISE EXCEPTION 'no operator secrets key is installed'
          USING HINT = 'Run deploy/operator/operator-secrets.sql with ktrlplane.secrets_operator_key set.';
      END IF;
      IF sealed IS NULL OR array_length(parts, 1) IS DISTINCT FROM 8 OR parts[1] <> 'ksec1' THEN
        RETURN NULL;
      END IF;
      enc_key := hmac(convert_to('ktrlplane secrets: encryption', 'UTF8'), master, 'sha256');
      mac_key := hmac(convert_to('ktrlplane secrets: authentication', 'UTF8'), master, 'sha256');
      iv := decode(parts[6], 'base64');
      ciphertext := decode(parts[7], 'base64');
      IF hmac(convert_to(resource_id, 'UTF8') || '\x00'::bytea || iv || ciphertext, mac_key, 'sha256')
         IS DISTINCT FROM decode(parts[8], 'base64') THEN
        RETURN NULL;
      END IF;
      RETURN convert_from(decrypt_iv(ciphertext, enc_key, iv, 'aes-cbc/pad:pkcs'), 'UTF8');
    EXCEPTION WHEN invalid_parameter_value OR external_routine_exception OR data_exception THEN
      -- Not base64, a bad padding: a value that does not open is left out, not an error.
      RETURN NULL;
    END
    $body$
  $fn$, crypto_schema);
  REVOKE ALL ON FUNCTION ktrlplane.open_secret_for_operator(text, text) FROM PUBLIC;

  IF EXISTS (SELECT FROM pg_roles WHERE rolname = role_name) THEN
    EXECUTE format('GRANT SELECT ON ktrlplane.operator_secrets_key TO %I', role_name);
    EXECUTE format('GRANT EXECUTE ON FUNCTION ktrlplane.open_secret_for_operator(text, text) TO %I', role_name);
  ELSE
    RAISE NOTICE 'role % does not exist: nothing granted (run operator-role.sql first)', role_name;
  END IF;
END
$operator_secrets$;

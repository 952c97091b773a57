-- 0137 (ATTACK16 C7, the SQL side): a raw call of fl.post_entries with a NUL (\u0000) or a number
-- JSON has not (NaN, Infinity) in its documents is refused by a named rule of its own.
--
-- jsonb holds neither: a NUL escape in any text or key (the source document, a memo, a posting's
-- line reference) is PostgreSQL's 22P05 "unsupported Unicode escape sequence", NaN and Infinity its
-- 22P02 "invalid input syntax for type json" — raised by the cast to jsonb, before fl.post_entries
-- runs, in PostgreSQL's English (the entry reader refuses both first, and ledger.store.translate
-- words the raw errors as the input's fault, C7's first half). fl.post_entries(text) takes the
-- documents as text — what a raw call's quoted literal is (PostgreSQL resolves an untyped literal
-- to the text overload) — reads them as jsonb itself and refuses what jsonb cannot hold by name:
--   * entry_text_nul: the entry (its position in the call) and the field holding the NUL (source,
--     memo, postings, …; "key" when it is in one of the entry's own keys), saying to remove it;
--   * entry_json_number: the token (NaN, Infinity, -Infinity), saying to write it as text;
--   * bad_document: any other text that is not JSON, saying to correct it.
-- Then it posts by fl.post_entries(jsonb), unchanged (whatever else is worked on there: this
-- migration does not redefine it), so every rule of the posting path is the same one. The
-- command line's journal still passes jsonb (its reader refused these before the call).

CREATE FUNCTION fl.post_entries(p_docs text)
 RETURNS TABLE(ord integer, entry_id bigint, status text, held_id bigint)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET lock_timeout TO '5s'
AS $function$
DECLARE
  docs   jsonb;
  clean  text;
  detail text;
  token  text;
  n      bigint;
  f      text;
  mark   constant text := 'fl-nul-0137';
BEGIN
  BEGIN
    docs := p_docs::jsonb;
  EXCEPTION WHEN untranslatable_character OR invalid_text_representation THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    -- A NUL escape (\u0000 after an even number of backslashes) stands in a string: each is
    -- replaced by a mark jsonb holds, and the first entry and field holding a mark are named.
    IF p_docs ~ '\\u0000' THEN
      clean := p_docs;
      -- (a run of escapes \u0000\u0000 is replaced one in two per pass: log2 of the run's passes)
      WHILE clean ~ '(^|[^\\])(\\\\)*\\u0000' LOOP
        clean := regexp_replace(clean, '((^|[^\\])(\\\\)*)\\u0000', '\1' || mark, 'g');
      END LOOP;
      BEGIN
        SELECT x.i, CASE WHEN strpos(k.key, mark) > 0 THEN 'key' ELSE k.key END INTO n, f
          FROM jsonb_array_elements(CASE jsonb_typeof(clean::jsonb) WHEN 'array' THEN clean::jsonb
                                         ELSE jsonb_build_array(clean::jsonb) END) WITH ORDINALITY AS x(doc, i)
          CROSS JOIN LATERAL jsonb_each(CASE jsonb_typeof(x.doc) WHEN 'object' THEN x.doc ELSE '{}'::jsonb END) k
         WHERE strpos(k.key, mark) > 0 OR strpos(k.value::text, mark) > 0
         ORDER BY x.i, strpos(k.key, mark) > 0 DESC, k.key LIMIT 1;
      EXCEPTION WHEN untranslatable_character OR invalid_text_representation THEN
        n := NULL;             -- not JSON for another reason as well: told below
      END;
      IF n IS NOT NULL THEN
        PERFORM fl.refuse('entry_text_nul', format(
          'entry %s: its %s holds a NUL character (\u0000), which the ledger stores in no text or JSON value; '
          'remove it, then post again; nothing was written', n, f));
      END IF;
    END IF;
    token := substring(coalesce(detail, '') FROM 'Token "([^"]*)" is invalid');
    IF token ~* '^[-+]?(infinity|inf|nan)$' THEN
      PERFORM fl.refuse('entry_json_number', format(
        'the entries hold the number %s, which JSON has not (NaN, or a number past ±1.8×10^308) and the ledger '
        'stores in no JSON value; write it as text (in quotes) or correct it, then post again; nothing was written',
        token));
    END IF;
    PERFORM fl.refuse('bad_document',
      'the entries are not JSON: correct the document (an entry object or a list of entries), then post again; '
      'nothing was written');
  END;
  RETURN QUERY SELECT r.ord, r.entry_id, r.status, r.held_id FROM fl.post_entries(docs) r;
END $function$;
REVOKE ALL ON FUNCTION fl.post_entries(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.post_entries(text) TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;

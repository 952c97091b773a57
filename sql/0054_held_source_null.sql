-- 0054: a held entry whose maker sent `"source": null` confirms into an object source.
--
-- fl.post_entries takes `doc->'source'`; a document with "source": null (the library sends
-- it so for an entry without evidence) stored JSON null in fl.pending_entry.source, and
-- fl.confirm_entry's `coalesce(p.source, '{}') || jsonb_build_object('held', …)` then
-- made the posted entry's source the array [null, {"held": …, "made_by": …,
-- "confirmed_by": …}] — so the verdict's actors check (ATTACK6 T2) could not find who made
-- and who confirmed it, and named every such confirmation. A held entry's source is now
-- SQL NULL when the maker sent JSON null (a BEFORE INSERT trigger, whichever path holds
-- it); the verifier reads the array form that earlier confirmations left as the object it
-- carries (ledger.core.actors.entry_source).

CREATE FUNCTION fl.pending_source_null() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  IF NEW.source IS NOT NULL AND pg_catalog.jsonb_typeof(NEW.source) = 'null' THEN
    NEW.source := NULL;
  END IF;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION fl.pending_source_null() FROM PUBLIC;

CREATE TRIGGER pending_entry_source_null BEFORE INSERT ON fl.pending_entry
  FOR EACH ROW EXECUTE FUNCTION fl.pending_source_null();

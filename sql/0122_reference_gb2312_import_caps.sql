-- 0122 (ATTACK15b B3, B7): a reference's 汉字 are GB2312's simplified ones; every import kind is
-- counted by a daily cap.
--
-- B3. 0111 held a reference's 汉字 to the basic block (U+4E00–U+9FFF). That block keeps the
-- traditional and Japanese forms drawn almost like the everyday simplified ones — 內 (U+5167) for
-- 内, 呂 (U+5442) for 吕, 戸 (U+6238) for 户 — so a county re-imported the paid claim 内-1 as 內-1
-- and it was paid again: another reference, read alike in every report. A mainland fund's document
-- numbers are written in simplified characters, so a new reference's 汉字 are GB2312's 6,763
-- (levels 1 and 2; every one of them is in the basic block, and none of the look-alike traditional
-- or Japanese forms is). 〇, the punctuation and ASCII are judged by fl.reference_form_ok as before.
-- Pairs that GB2312 holds both of (乾/干, 於/于, 後/后, 著/着 …, docs/security.md) are different
-- characters with uses of their own, drawn differently: they stay distinct references, as on paper.
--
-- fl.reference_hanzi_ok(r): IMMUTABLE, usable in a CHECK — every character of r in U+4E00–U+9FFF is
-- one of GB2312's, read from a bitmap of the block (bit i = U+4E00 + i; written from Python's gb2312
-- codec and compared with it for every code point of the block by tests/security and test_upgrade).
-- A reference of ASCII only answers without the bitmap.
--
-- Where it binds: a new row of the three tables whose references are compared (0089's: the import
-- register fl.import_line, the register items, the bank statement lines), by a BEFORE INSERT trigger
-- — not a CHECK, and fl.reference_form_ok (0089's CHECKs) is not narrowed: 0118's lesson. A
-- register item is UPDATEd when it is cleared, and a CHECK judges every UPDATE too, so an honest
-- item 內-1 stored before this rule could never be cleared; a trigger on INSERT judges new rows
-- only, and a stored reference stays, dumps, restores and verifies. The reader refuses the row
-- first (ledger.io.tables.reference_form_problem: file, row, column, the character and its code
-- point, in Chinese), on both import paths (the plain COPY path sends any non-ASCII file to the
-- reader), and the manual entry reader a posting's line_ref. A posting's own line reference keeps
-- 0118's widest form (its CHECK is validated): no verdict judges references by the narrower rules.

CREATE FUNCTION fl.reference_hanzi_ok(r text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT r IS NULL OR octet_length(r) = length(r)
      OR NOT EXISTS (
        SELECT FROM pg_catalog.regexp_split_to_table(r, '') AS t(c)
         WHERE pg_catalog.ascii(t.c) BETWEEN 19968 AND 40959
           AND pg_catalog.get_bit('\x'
            '8b7f7b7fb43d55efa8fb5df343020b4040fb3e8df77b2c8cff6efae33a1deda802e683cff58c553548e0abffb99259d818ab9228e9d7208038c483f54ae70a45'
            '00b014976277005488d120142010c0c821210000a813040c00804004c0702808c0080400020000807b2b72142479fb3b2733e41a3598ef38d19a022813a869bf'
            'cf65c62f116bc9af0f345350a28604a0060109e80f3f0ec0880a4581100001c661a1e1264b4400ceaac7eed4dfcabb85743a20a56c434088063fd28b79ffef3b'
            '5af7efe8cbfb365b490dfd1b5401ee3955d8752ed8bf1aa9d7f3bff6e0670cb4c28213089dd48bd05a066110f274e0599f8f12b38000aa6a30325eb07a9dac60'
            '03d300c99830568a00709013141f421860c0080008808010000490ec172833e65807009008f7094e85f483fc53afc8187c180c08df6a14010cc834a711a01027'
            'c52822421304210010301241201800402b020cc600030010220022001058490294a07096b0ee921796cbf20525005823de25cc4238cf044a400c9f352811008a'
            'fa130a9129025610410620048404f0840000040c00042c41061254114b0a02000002c000000094000100bbbf7c162b24bb9ba87f7f0c79e3f4100de03241019f'
            '52867235b41012ff27cf23426bc002860631d31f0c3aaaa11208040272250108cc405048d0621060801c0029009a1000040000220000800020200068e6cb9e60'
            '6e91733fc06082393410304806005cbdd18cfbd6e120e84300064e080005d0c41f8daa89e1a602160100ed2156368b1ab71fa5130265a03078b2c723936c22e9'
            '7fe4743ae38f20980e2825269cbf49bf183254ac49b91619600c22b5c1fb590643e32084d9080080005522208401a1000048102080138040040d160040002080'
            '40fde78d365498e08b7b1e09c8fe49d21106ee8d371922baf477dd9fecf3daf0864342ec3f8d04266cfa21c08e62c20c85d74501ad77995550e245400b2654a1'
            '27981958433410a4f205144180220007b40066421072a11525608541540000000102040120c870cb2093626a4c18950080188b9ab2aa01327ad8c400e5f3c304'
            '4dd438a2a1a172500a98fc8452c1d1449410c220804110420000003a40029dd2012fb1a840bd32244dd34bd023a7add0920aa175acade9011a801f7725921ba0'
            'a1dfca2002068c737f573b00ff0bd0006a808800c4a12900052a24050940231622680580112011a20400906449488213d52330198029920802541188012004a0'
            '00048081028522609000010b2200021211408300011a00000000000000000000000000009f008446c8120002fc04001ade2e4c0c0204b88026a8fc0a028c2822'
            'e0a07b8fd6c73521c706b1f8130755626e93198afa6e0efb3016f9482fcdeb7d9258844ea04c2e7aeaed1e5649c6901124533ae8dbcf2481f118426353588a1a'
            '2074d3243baa140518605889004800c068820191a484d62c8688bac4770310024482380011ae4a40c02800514460141510730010820048020502064003c00000'
            '0000020c080020020090004000b861d12146743200f88a3b0f05008bd0bb8022000669074080430020540050d0410c25108410830111280208403000a1400002'
            '400000200015e3ab803144aac6c224c613ac048000b0d1031e61854203f39f1d0a44e878265e92c30020850001b00040904a428804ca8d0c05a70342a1220400'
            '6886010c645579100200a0de0020c1408b48015080030004000004505dc0d08010a00a9720bbaf4d21d9101e600414834888d6a63bd83f73bc277449dc0d1392'
            '2b14a18b752e39d10930505008880069d4494a021040168064e5d78920c01653922b008645a3e0158b00030c6e1900e231700680a51629a800208018ac7a48e1'
            '0732d6b5e832915fa150e520007c801080728a9daa001f42220e310200119404220008401000105c4303c8fca5a18005338400048000086e4b2a2681d8aa0129'
            '4d689044090088ba400082000000d1875b21e6b161310880000840c269a000a6588d324a715d0a55a09a572d0540a64a2120b130c63f1201c2100a2662448250'
            '80984080c004008103200000000018380002a6f134440e72a235e092018100090004000085880000000000000040800000000000404000000000000000000000'
            '0000000000000008820000000000000004000088ffbfefe7ffffbfffefeffffdfffbfebfffff7f053400b38506471642025410e4928005b32254308163420b18'
            '7b38f513e507eaa94c3c140500060280d91a48bd37ee96f45f70c07eb2bf5f3544e65f4500904641401d3b06a16213fe058502394805080c4f14000088341858'
            '773015d80ebdfb4b908a008500c11de614ed86b372ff9b6392fdbed97b88920afed3b21c80b97a17c98217dcfbff803960420c59010fdf37a39450b123060723'
            '5af80231f00102314000821e0a3a6a05845b8012028014a712264ba06910019000108a840218803f080740421001144eb080001810c581020282291010020088'
            '200042008002001100e01344045802fe073c283098977304d1ce13cb10621f438d27ac552e4292c880538802394051782c29888000b92824410c0e0821440042'
            '0804680806000412313090023e5b85e03629441014288210664234833c011b5304040d0e220c5100120000c0400000884a00000000000000f6df475468880800'
            '81000000000000400001000000000002000608000000000000000000000000008000000040000000000000004010000000000000ffeffdf77ffffefffffbffff'
            'fffdffbfffffff00c2122004060c080724161001000000000000000000000000000000e0feffffffffff797fdf28f900320c128008003ad558d8c2ec189da82f'
            '209610e00cd62226970f060240b25590a2801150009804040040000000000000000000000000000000000000c0fbfffffeeffbdf080b4362b6413bfb746f8923'
            '7faed7ec47e0605996a08f092c6130a00d09aa2a4ed47b4fb2c48b38c6a91061140000420c80020248fe85643ed6f7e3a03a070c0ce4300480f6021000000000'
            '00000000000000000000000000001000004000000040000000010000000000000000000000000040000000000004000000800000000000000004400000000000'
            '00000000000000400000000000080000e0ffbdfeffffffff7f7fe7fbbffffff7ffffffef7efff7dff7f6dffbfebf4f8000000000000000000000000000efff7f'
            '7ffff7b606447eb8f53b31889617f40060a9911380004972f3f224000187c842d3e348500024054300004c4a270258102028160109a8140000000000c03e6800'
            '0000000000000000000000000000e0ffffb7dbfdf700000000402ec780010000002001000040000000003000a8fff7b4f3adff03200100000000000000000000'
            '00000000000000000000000000f0fbfff79dcffdbf01c31527180a8142a8000a0881088008800418bea312000000000000000000000000000000000000000000'
            '00000000000000000000000000000090e66937dcff6bff3df8fcf9f3040000000000000000000000000000000000000000000000000000000000000000000000'
            '000000806fbfeee7fedfa25dd83f0bc084090ca04000106910e212b9a586005a006889020590806a1000030000000080f91f008e010000000000000000000000'::bytea, pg_catalog.ascii(t.c) - 19968) = 0)
$$;
GRANT EXECUTE ON FUNCTION fl.reference_hanzi_ok(text) TO PUBLIC;

CREATE FUNCTION fl.reference_hanzi_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE c text;
BEGIN
  SELECT t.c INTO c FROM regexp_split_to_table(NEW.reference, '') WITH ORDINALITY AS t(c, n)
   WHERE NOT fl.reference_hanzi_ok(t.c) ORDER BY t.n LIMIT 1;
  IF c IS NOT NULL THEN
    PERFORM fl.refuse('reference_hanzi', format(
      'reference %s holds %s (U+%s), a Chinese character outside GB2312''s 6,763 simplified characters: a '
      'traditional or Japanese form drawn like an everyday one (內 for 内, 呂 for 吕, 戸 for 户) would be another '
      'reference, and a paid claim paid again; write the reference in simplified characters, then import it '
      'again; nothing was written', NEW.reference, c, upper(to_hex(ascii(c)))));
  END IF;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION fl.reference_hanzi_guard() FROM PUBLIC;

CREATE TRIGGER import_line_reference_hanzi BEFORE INSERT ON fl.import_line FOR EACH ROW
  WHEN (octet_length(NEW.reference) <> length(NEW.reference) AND NOT fl.reference_hanzi_ok(NEW.reference))
  EXECUTE FUNCTION fl.reference_hanzi_guard();
CREATE TRIGGER register_item_reference_hanzi BEFORE INSERT ON fl.register_item FOR EACH ROW
  WHEN (octet_length(NEW.reference) <> length(NEW.reference) AND NOT fl.reference_hanzi_ok(NEW.reference))
  EXECUTE FUNCTION fl.reference_hanzi_guard();
CREATE TRIGGER statement_line_reference_hanzi BEFORE INSERT ON fl.statement_line FOR EACH ROW
  WHEN (octet_length(NEW.reference) <> length(NEW.reference) AND NOT fl.reference_hanzi_ok(NEW.reference))
  EXECUTE FUNCTION fl.reference_hanzi_guard();

-- B7. 0108 counted the rows of the imports that post (payments, collections, openings) in the user's
-- day row, at most 100,000 a region day for an officer and 2,000,000 for the city. The imports of the
-- region's reference data — budgets (fl.import_budget), insured headcounts (fl.import_insured) and
-- annual plans (fl.plan_import, which writes no batch) — were counted by no cap: a reviewer could
-- write budget or plan versions without bound, each hooked, chained and re-read by every verify.
-- They are now counted in the same row (fl.manual_day.reference_rows) with a cap of their own, as
-- 0108 gave imports one apart from the manual cap *(our reading)*: a budget, headcount or plan file
-- is reference data of a few hundred to a few thousand rows (the city's plans: units × books ×
-- components × kinds × 12 months), so 20,000 rows a region day for any user (reviewers import them)
-- is far past any honest day and bounds growth where 0108's city cap (2,000,000, claims files) would
-- not. Budgets and headcounts are counted where every import ends (fl._imp_finish: rows_posted, the
-- rows that wrote a new version; an unchanged file adds nothing), plans where fl.plan_import ends
-- (the lines of the new versions); incremented and read in one statement; a refused file rolls
-- back with its increment, and nothing is written. Refused as import_daily_cap, as 0108's.
--
-- Both verdicts re-derive it from the rows written after this rule's point (fl.rule_point
-- 'import_daily_cap_reference', the history's order): the budget and headcount batches
-- (fl.import_batch.rows_posted) and the plan versions' lines (fl.budget_plan, fl.budget_plan_line),
-- per importer and region day.
--
-- fl._imp_finish: 0108's definition, changed where marked 0122; fl.plan_import: 0024's, changed
-- where marked 0122.

ALTER TABLE fl.manual_day ADD COLUMN reference_rows bigint NOT NULL DEFAULT 0 CHECK (reference_rows >= 0);

CREATE FUNCTION fl._import_reference_rows(p_user text, p_rows bigint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  cap   bigint := 20000;
  today date := fl._region_today();
  sofar bigint;
BEGIN
  INSERT INTO fl.manual_day AS m (user_name, day, n, reference_rows) VALUES (p_user, today, 0, p_rows)
    ON CONFLICT (user_name, day) DO UPDATE SET reference_rows = m.reference_rows + EXCLUDED.reference_rows
    RETURNING m.reference_rows INTO sofar;
  IF sofar > cap THEN
    PERFORM fl.refuse('import_daily_cap', format(
      '%s has already imported %s rows of reference data today (%s, the region''s day; at most %s new rows a day, '
      'budgets, insured headcounts and annual plans together); this file''s %s new rows would pass that, and '
      'nothing was written. Import the rest tomorrow (from 00:00 of %s, the region''s time), splitting the file '
      'across days',
      p_user, sofar - p_rows, today, cap, p_rows, today + 1), 'program_limit_exceeded');
  END IF;
END $$;
REVOKE ALL ON FUNCTION fl._import_reference_rows(text, bigint) FROM PUBLIC;

CREATE OR REPLACE FUNCTION fl._imp_finish(p_batch bigint, p_posted int, p_extra jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  out jsonb;
  bt  fl.import_batch;
BEGIN
  UPDATE fl.import_batch b
     SET rows_posted = p_posted,
         rows_skipped = (SELECT count(*) FROM pg_temp.fl_imp_work) - p_posted,
         entries = (SELECT count(*) FROM pg_temp.fl_imp_res r WHERE r.status = 'posted')
   WHERE b.id = p_batch
  RETURNING jsonb_build_object('batch_id', b.id, 'kind', b.kind, 'file', b.file_name, 'rows_total', b.rows_total,
                               'rows_posted', b.rows_posted, 'rows_skipped', b.rows_skipped, 'entries', b.entries)
            || coalesce(p_extra, '{}')
    INTO out;
  -- (0108) The rows an import wrote, per user and region day, in 0073's counter row: 100000 for an
  -- officer, 2000000 for the city bureau and city finance, the kinds that post together.
  SELECT * INTO bt FROM fl.import_batch x WHERE x.id = p_batch;
  IF FOUND AND bt.kind IN ('payments', 'collections', 'opening') AND p_posted > 0 THEN
    DECLARE
      urole text := coalesce((SELECT u.role FROM fl.app_user u WHERE u.name = bt.imported_by), 'officer');
      cap   bigint;
      today date := fl._region_today();
      sofar bigint;
    BEGIN
      cap := CASE WHEN urole = 'officer' THEN 100000 ELSE 2000000 END;
      INSERT INTO fl.manual_day AS m (user_name, day, n, import_rows) VALUES (bt.imported_by, today, 0, p_posted)
        ON CONFLICT (user_name, day) DO UPDATE SET import_rows = m.import_rows + EXCLUDED.import_rows
        RETURNING m.import_rows INTO sofar;
      IF sofar > cap AND urole = 'officer' THEN
        PERFORM fl.refuse('import_daily_cap', format(
          '%s has already imported %s rows today (%s, the region''s day; at most %s new rows a day for an officer, '
          'payments, collections and openings together); this file''s %s new rows would pass that, and nothing was '
          'written. Import the rest tomorrow (from 00:00 of %s, the region''s time), splitting the file across days, '
          'or have the city bureau (a reviewer) import it: its rows paid from a county''s account are held for city '
          'finance to confirm',
          bt.imported_by, sofar - p_posted, today, cap, p_posted, today + 1), 'program_limit_exceeded');
      ELSIF sofar > cap THEN
        PERFORM fl.refuse('import_daily_cap', format(
          '%s has already imported %s rows today (%s, the region''s day; at most %s new rows a day for the city '
          'bureau or city finance, payments, collections and openings together); this file''s %s new rows would '
          'pass that, and nothing was written. Import the rest tomorrow (from 00:00 of %s, the region''s time), '
          'splitting the file across days',
          bt.imported_by, sofar - p_posted, today, cap, p_posted, today + 1), 'program_limit_exceeded');
      END IF;
    END;
  ELSIF FOUND AND bt.kind IN ('budget', 'insured') AND p_posted > 0 THEN
    -- (0122) reference data: the same day row, a cap of its own (fl._import_reference_rows)
    PERFORM fl._import_reference_rows(bt.imported_by, p_posted);
  END IF;
  RETURN out;
END $$;
REVOKE ALL ON FUNCTION fl._imp_finish(bigint, int, jsonb) FROM PUBLIC;

CREATE OR REPLACE FUNCTION fl.plan_import(p_rows jsonb) RETURNS TABLE (year int, unit text, book text, version int, status text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
#variable_conflict use_column
DECLARE
  u   fl.app_user := fl.require_role(ARRAY['reviewer'], 'import annual plans');
  g   record;
  cur fl.budget_plan;
  h   bytea;
  nid bigint;
  n   int;
  written bigint := 0;   -- (0122) the plan lines written, counted by the daily cap
BEGIN
  IF p_rows IS NULL OR jsonb_typeof(p_rows) <> 'array' OR jsonb_array_length(p_rows) = 0 THEN
    PERFORM fl.refuse('plan_rows', 'an annual plan has at least one row');
  END IF;
  FOR g IN
    SELECT (r ->> 'year')::int AS y, r ->> 'unit' AS un, r ->> 'book' AS bk,
           min(r ->> 'granularity') AS gran, count(DISTINCT r ->> 'granularity') AS grans,
           jsonb_agg(r ORDER BY r ->> 'component', r ->> 'kind', (r ->> 'period')::int) AS rows
      FROM jsonb_array_elements(p_rows) r GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  LOOP
    IF g.grans > 1 THEN
      PERFORM fl.refuse('plan_granularity', format('the plan %s %s %s mixes quarters and months; give one or the other',
                                                   g.y, g.un, g.bk));
    END IF;
    h := sha256(convert_to(g.gran || '|' || (SELECT string_agg(
           (x ->> 'component') || ':' || (x ->> 'kind') || ':' || (x ->> 'period') || ':' || (x ->> 'amount'), ','
           ORDER BY x ->> 'component', x ->> 'kind', (x ->> 'period')::int) FROM jsonb_array_elements(g.rows) x), 'UTF8'));
    SELECT * INTO cur FROM fl.budget_plan p WHERE p.year = g.y AND p.unit = g.un AND p.book = g.bk
     ORDER BY p.version DESC LIMIT 1 FOR UPDATE;
    IF FOUND AND cur.content_hash = h THEN
      RETURN QUERY SELECT g.y, g.un, g.bk, cur.version, 'unchanged'::text;
      CONTINUE;
    END IF;
    INSERT INTO fl.budget_plan (year, unit, book, version, granularity, content_hash)
    VALUES (g.y, g.un, g.bk, coalesce(cur.version, 0) + 1, g.gran, h) RETURNING id INTO nid;
    INSERT INTO fl.budget_plan_line (plan_id, granularity, component, kind, period, amount)
    SELECT nid, g.gran, x ->> 'component', x ->> 'kind', (x ->> 'period')::int, (x ->> 'amount')::bigint
      FROM jsonb_array_elements(g.rows) x;
    GET DIAGNOSTICS n = ROW_COUNT;
    written := written + n;
    RETURN QUERY SELECT g.y, g.un, g.bk, coalesce(cur.version, 0) + 1, 'created'::text;
  END LOOP;
  IF written > 0 THEN
    PERFORM fl._import_reference_rows(session_user, written);   -- (0122)
  END IF;
END $$;

SELECT fl._rule_takes_effect('import_daily_cap_reference', '0122');

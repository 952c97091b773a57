-- 0059, the owner's part: fl._region_today() (0056) is called by fl.request_justification, a
-- SECURITY INVOKER function every group may call, so every group needs EXECUTE on it (an
-- officer's `request submit` was refused "permission denied for function _region_today").
-- It reads only the region's time zone from fl.setting and returns today's date there.
GRANT EXECUTE ON FUNCTION fl._region_today() TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;

-- Signed reports, their history and the audit log cannot be changed, whoever writes to the file.

CREATE TRIGGER signoffs_no_update BEFORE UPDATE ON signoffs
BEGIN SELECT RAISE(ABORT, 'raddraft: sign-offs are final and cannot be updated'); END;
CREATE TRIGGER signoffs_no_delete BEFORE DELETE ON signoffs
BEGIN SELECT RAISE(ABORT, 'raddraft: sign-offs are final and cannot be deleted'); END;

CREATE TRIGGER report_versions_no_update BEFORE UPDATE ON report_versions
BEGIN SELECT RAISE(ABORT, 'raddraft: report versions are append-only and cannot be updated'); END;
CREATE TRIGGER report_versions_no_delete BEFORE DELETE ON report_versions
BEGIN SELECT RAISE(ABORT, 'raddraft: report versions are append-only and cannot be deleted'); END;
CREATE TRIGGER report_versions_not_after_signoff BEFORE INSERT ON report_versions
WHEN EXISTS (SELECT 1 FROM signoffs WHERE study_id = NEW.study_id)
BEGIN SELECT RAISE(ABORT, 'raddraft: the study is signed; its report cannot change (add an addendum)'); END;

CREATE TRIGGER addenda_no_update BEFORE UPDATE ON addenda
BEGIN SELECT RAISE(ABORT, 'raddraft: addenda are final and cannot be updated'); END;
CREATE TRIGGER addenda_no_delete BEFORE DELETE ON addenda
BEGIN SELECT RAISE(ABORT, 'raddraft: addenda are final and cannot be deleted'); END;
CREATE TRIGGER addenda_only_after_signoff BEFORE INSERT ON addenda
WHEN NOT EXISTS (SELECT 1 FROM signoffs WHERE study_id = NEW.study_id)
BEGIN SELECT RAISE(ABORT, 'raddraft: addenda are for signed studies only'); END;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'raddraft: the audit log is append-only and cannot be updated'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'raddraft: the audit log is append-only and cannot be deleted'); END;

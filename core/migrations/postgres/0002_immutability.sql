-- Signed reports, their history and the audit log cannot be changed, whoever writes to the database.

CREATE FUNCTION raddraft_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'raddraft: rows of % are final; % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE FUNCTION raddraft_refuse_report_after_signoff() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM signoffs WHERE study_id = NEW.study_id) THEN
        RAISE EXCEPTION 'raddraft: the study is signed; its report cannot change (add an addendum)'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION raddraft_refuse_addendum_before_signoff() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM signoffs WHERE study_id = NEW.study_id) THEN
        RAISE EXCEPTION 'raddraft: addenda are for signed studies only'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER signoffs_immutable BEFORE UPDATE OR DELETE ON signoffs
    FOR EACH ROW EXECUTE FUNCTION raddraft_refuse_change();
CREATE TRIGGER signoffs_no_truncate BEFORE TRUNCATE ON signoffs
    FOR EACH STATEMENT EXECUTE FUNCTION raddraft_refuse_change();

CREATE TRIGGER report_versions_immutable BEFORE UPDATE OR DELETE ON report_versions
    FOR EACH ROW EXECUTE FUNCTION raddraft_refuse_change();
CREATE TRIGGER report_versions_no_truncate BEFORE TRUNCATE ON report_versions
    FOR EACH STATEMENT EXECUTE FUNCTION raddraft_refuse_change();
CREATE TRIGGER report_versions_not_after_signoff BEFORE INSERT ON report_versions
    FOR EACH ROW EXECUTE FUNCTION raddraft_refuse_report_after_signoff();

CREATE TRIGGER addenda_immutable BEFORE UPDATE OR DELETE ON addenda
    FOR EACH ROW EXECUTE FUNCTION raddraft_refuse_change();
CREATE TRIGGER addenda_no_truncate BEFORE TRUNCATE ON addenda
    FOR EACH STATEMENT EXECUTE FUNCTION raddraft_refuse_change();
CREATE TRIGGER addenda_only_after_signoff BEFORE INSERT ON addenda
    FOR EACH ROW EXECUTE FUNCTION raddraft_refuse_addendum_before_signoff();

CREATE TRIGGER audit_log_immutable BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION raddraft_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION raddraft_refuse_change();

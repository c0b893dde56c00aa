-- riskmap migration 2: the hazard ledger (隐患台账) and access control.
-- New fields of the hazards layer (layers/catalog.go), the append-only
-- history of hazard transitions, API tokens (hashes only) and the audit
-- log of writes (packages ledger and auth).

ALTER TABLE "hazards"
    ADD COLUMN "description" text,
    ADD COLUMN "location" text,
    ADD COLUMN "source" text
        CONSTRAINT "hazards_source_code" CHECK ("source" IN ('self_check', 'inspection', 'public_report', 'third_party', 'system')),
    ADD COLUMN "measures" text,
    ADD COLUMN "temporary_measures" text,
    ADD COLUMN "acceptance_officer" text,
    ADD COLUMN "acceptance_date" date,
    ADD COLUMN "closed_date" date,
    ADD COLUMN "overdue" boolean;
COMMENT ON COLUMN "hazards"."description" IS '隐患详述 / Details';
COMMENT ON COLUMN "hazards"."location" IS '具体位置 / Location';
COMMENT ON COLUMN "hazards"."source" IS '发现渠道 / Found by. Codes: self_check = 自查上报 / self-check report; inspection = 督导检查 / supervisory inspection; public_report = 群众举报 / verified public report; third_party = 第三方检查 / third-party inspection; system = 系统预警 / system alert';
COMMENT ON COLUMN "hazards"."measures" IS '整改措施 / Rectification measures';
COMMENT ON COLUMN "hazards"."temporary_measures" IS '临时性保护措施 / Temporary protective measures';
COMMENT ON COLUMN "hazards"."acceptance_officer" IS '验收人员 / Acceptance officer';
COMMENT ON COLUMN "hazards"."acceptance_date" IS '验收时间 / Accepted on (date)';
COMMENT ON COLUMN "hazards"."closed_date" IS '销号日期 / Closed on (date)';
COMMENT ON COLUMN "hazards"."overdue" IS '逾期 / Overdue (kept current by the ledger)';

CREATE TABLE riskmap_hazard_history (
    seq bigserial PRIMARY KEY,
    hazard_id bigint NOT NULL,
    from_status text NOT NULL,
    to_status text NOT NULL,
    by_name text NOT NULL,
    at timestamptz NOT NULL,
    note text NOT NULL DEFAULT ''
);
CREATE INDEX riskmap_hazard_history_hazard_idx ON riskmap_hazard_history (hazard_id, seq);
COMMENT ON TABLE riskmap_hazard_history IS '隐患流转记录 / append-only history of hazard transitions (package ledger)';

CREATE TABLE riskmap_tokens (
    id text PRIMARY KEY,
    name text NOT NULL UNIQUE,
    role text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);
COMMENT ON TABLE riskmap_tokens IS 'API 令牌 / API tokens: SHA-256 of the secret only (package auth)';

CREATE TABLE riskmap_audit (
    seq bigserial PRIMARY KEY,
    at timestamptz NOT NULL,
    who text NOT NULL,
    role text NOT NULL,
    method text NOT NULL,
    route text NOT NULL,
    path text NOT NULL,
    layer text,
    ids bigint[],
    status integer NOT NULL,
    outcome text NOT NULL,
    remote text
);
CREATE INDEX riskmap_audit_at_idx ON riskmap_audit (at);
COMMENT ON TABLE riskmap_audit IS '写操作审计日志 / append-only audit log of writes (package auth)';
-- append-only: no updates or deletes by the application
CREATE RULE riskmap_audit_no_update AS ON UPDATE TO riskmap_audit DO INSTEAD NOTHING;
CREATE RULE riskmap_audit_no_delete AS ON DELETE TO riskmap_audit DO INSTEAD NOTHING;
CREATE RULE riskmap_hazard_history_no_update AS ON UPDATE TO riskmap_hazard_history DO INSTEAD NOTHING;
CREATE RULE riskmap_hazard_history_no_delete AS ON DELETE TO riskmap_hazard_history DO INSTEAD NOTHING;

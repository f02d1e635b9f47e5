package warehouse

// migrations[i] brings the schema from version i to i+1. Append only: a released
// migration is never edited.
var migrations = []string{
	// 1: records, kiosk heads, checkpoints, problems, and the views for dashboards.
	`
CREATE TABLE kiosks (
	kiosk      text PRIMARY KEY,
	site       text NOT NULL DEFAULT '',
	head_seq   bigint NOT NULL DEFAULT 0,   -- verified through this record
	head_hash  text NOT NULL DEFAULT '',    -- its hash ('' before the first)
	genesis    text NOT NULL DEFAULT '',    -- hash of the current chain's record 1
	chain      int NOT NULL DEFAULT 1,      -- incremented when the kiosk starts a new chain
	signed_seq bigint NOT NULL DEFAULT 0,   -- size of the last valid checkpoint on the verified chain
	head_time  timestamptz,                 -- decision time of the head record
	updated    timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE records (
	kiosk     text NOT NULL,
	seq       bigint NOT NULL,
	hash      text NOT NULL,
	prev      text NOT NULL,
	time      timestamptz NOT NULL,
	flow      text NOT NULL,
	outcome   text NOT NULL,
	reasons   text[] NOT NULL,
	distance  double precision,             -- the face distance, when the decision has one
	raw       bytea NOT NULL,               -- the signed record as received
	chain     int,                          -- set when the verified head passes it; NULL while it waits for a gap
	received  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (kiosk, seq, hash)
);
CREATE INDEX records_time ON records (time);
CREATE INDEX records_waiting ON records (kiosk, seq) WHERE chain IS NULL;
CREATE TABLE checkpoints (
	kiosk  text NOT NULL,
	seq    bigint NOT NULL,
	hash   text NOT NULL,
	note   text NOT NULL,
	valid  boolean NOT NULL,
	PRIMARY KEY (kiosk, seq, hash)
);
CREATE TABLE problems (
	id      bigserial PRIMARY KEY,
	kiosk   text NOT NULL,
	seq     bigint NOT NULL,
	hash    text NOT NULL,
	kind    text NOT NULL,                  -- restart, fork, edited, checkpoint, malformed
	detail  text NOT NULL,
	raw     bytea,
	at      timestamptz NOT NULL DEFAULT now(),
	UNIQUE (kiosk, seq, hash, kind)
);
CREATE VIEW decisions_per_site_hour AS
	SELECT k.site, date_trunc('hour', r.time) AS hour, r.outcome, count(*) AS decisions
	FROM records r JOIN kiosks k USING (kiosk)
	GROUP BY 1, 2, 3;
CREATE VIEW rejects_by_reason AS
	SELECT k.site, date_trunc('hour', r.time) AS hour, reason, count(*) AS rejects
	FROM records r JOIN kiosks k USING (kiosk), unnest(r.reasons) AS reason
	WHERE r.outcome = 'reject'
	GROUP BY 1, 2, 3;
CREATE VIEW kiosk_lag AS
	SELECT k.kiosk, k.site, k.head_seq, k.signed_seq, k.head_time,
		now() - k.head_time AS behind,
		(SELECT count(*) FROM records w WHERE w.kiosk = k.kiosk AND w.chain IS NULL AND w.seq > k.head_seq) AS waiting
	FROM kiosks k;
`,
}

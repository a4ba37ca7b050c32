"""The session database's schema, as numbered migrations (PRAGMA user_version is the version).

Never edit a migration that has shipped: add the next one. Units are in the column names;
per-leg measures have one column per leg; angles are signed, positive = valgus (DOMAIN.md).
"""

from __future__ import annotations

from formcheck.clinic.store.db import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "patients, prescriptions, thresholds, sessions, sets, reps, holds, files, safety answers",
        """
        CREATE TABLE patients (
            id          TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
            name        TEXT NOT NULL DEFAULT '',
            notes       TEXT NOT NULL DEFAULT '',
            created_at  TEXT NOT NULL
        );
        CREATE TABLE prescriptions (
            id          INTEGER PRIMARY KEY,
            patient_id  TEXT NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
            exercise    TEXT NOT NULL,
            sets        INTEGER NOT NULL CHECK (sets >= 1),
            reps        INTEGER CHECK (reps >= 1),
            hold_s      REAL CHECK (hold_s > 0),
            per_week    INTEGER NOT NULL DEFAULT 3 CHECK (per_week BETWEEN 1 AND 14),
            side        TEXT CHECK (side IN ('left', 'right')),
            notes       TEXT NOT NULL DEFAULT '',
            updated_at  TEXT NOT NULL,
            CHECK ((reps IS NULL) <> (hold_s IS NULL)),
            UNIQUE (patient_id, exercise)
        );
        CREATE TABLE patient_thresholds (
            patient_id         TEXT PRIMARY KEY REFERENCES patients(id) ON DELETE CASCADE,
            valgus_fppa_deg    REAL,
            valgus_shank_deg   REAL,
            valgus_knee_toe    REAL,
            baseline_relative  INTEGER,
            updated_at         TEXT NOT NULL
        );
        CREATE TABLE sessions (
            id              INTEGER PRIMARY KEY,
            patient_id      TEXT NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
            content_sha256  TEXT NOT NULL,
            out_dir         TEXT NOT NULL,
            exercise        TEXT NOT NULL,
            recorded_at     TEXT NOT NULL,
            imported_at     TEXT NOT NULL,
            partial         INTEGER NOT NULL,
            view            TEXT,
            pose_coverage   REAL,
            rep_count       INTEGER NOT NULL,
            hold_count      INTEGER NOT NULL,
            duration_s      REAL,
            fps             REAL,
            source_path     TEXT,
            baseline_fppa_left_deg   REAL,
            baseline_fppa_right_deg  REAL,
            thresholds_json TEXT NOT NULL,
            warnings_json   TEXT NOT NULL,
            model_name      TEXT,
            model_sha256    TEXT,
            pain_before     INTEGER CHECK (pain_before BETWEEN 0 AND 10),
            pain_after      INTEGER CHECK (pain_after BETWEEN 0 AND 10),
            summary_json    TEXT NOT NULL,
            UNIQUE (patient_id, content_sha256)
        );
        CREATE INDEX sessions_by_patient ON sessions(patient_id, recorded_at);
        CREATE TABLE session_sets (
            id          INTEGER PRIMARY KEY,
            session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            set_no      INTEGER NOT NULL,
            rep_count   INTEGER NOT NULL,
            hold_s      REAL NOT NULL DEFAULT 0,
            start_s     REAL,
            end_s       REAL,
            UNIQUE (session_id, set_no)
        );
        CREATE TABLE reps (
            id              INTEGER PRIMARY KEY,
            session_id      INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            set_id          INTEGER NOT NULL REFERENCES session_sets(id) ON DELETE CASCADE,
            rep_index       INTEGER NOT NULL,
            start_s REAL, bottom_s REAL, end_s REAL,
            start_frame INTEGER, bottom_frame INTEGER, end_frame INTEGER,
            legs            TEXT NOT NULL,
            fppa_left_deg REAL, fppa_right_deg REAL,
            peak_fppa_left_deg REAL, peak_fppa_right_deg REAL,
            peak_shank_left_deg REAL, peak_shank_right_deg REAL,
            peak_knee_toe_left REAL, peak_knee_toe_right REAL,
            valgus_left INTEGER, valgus_right INTEGER,
            valgus_basis    TEXT,
            depth_deg       REAL,
            min_separation_ratio REAL,
            extra_json      TEXT NOT NULL DEFAULT '{}',
            UNIQUE (session_id, rep_index)
        );
        CREATE TABLE holds (
            id          INTEGER PRIMARY KEY,
            session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            set_id      INTEGER NOT NULL REFERENCES session_sets(id) ON DELETE CASCADE,
            leg         TEXT,
            start_s REAL, end_s REAL, duration_s REAL,
            touchdowns  INTEGER,
            peak_fppa_deg REAL,
            sway        REAL,
            extra_json  TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TABLE session_files (
            session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            kind        TEXT NOT NULL,
            path        TEXT NOT NULL,
            PRIMARY KEY (session_id, kind)
        );
        CREATE TABLE safety_answers (
            id          INTEGER PRIMARY KEY,
            patient_id  TEXT NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
            session_id  INTEGER REFERENCES sessions(id) ON DELETE CASCADE,
            question    TEXT NOT NULL,
            answer      INTEGER NOT NULL CHECK (answer IN (0, 1)),
            asked_at    TEXT NOT NULL
        );
        """,
    ),
    Migration(
        2,
        "settings (dashboard password hash, session signing key)",
        """
        CREATE TABLE settings (
            key    TEXT PRIMARY KEY,
            value  TEXT NOT NULL
        );
        """,
    ),
    Migration(
        3,
        "knee-to-toe change from standing: per-patient threshold and switch, per-rep peak change per leg",
        # Reps recorded before this version kept summary.json's peak_knee_toe_change in
        # extra_json (unknown keys are kept): move it into its columns.
        """
        ALTER TABLE patient_thresholds ADD COLUMN valgus_knee_toe_change REAL;
        ALTER TABLE patient_thresholds ADD COLUMN knee_toe_from_standing INTEGER;
        ALTER TABLE reps ADD COLUMN peak_knee_toe_change_left REAL;
        ALTER TABLE reps ADD COLUMN peak_knee_toe_change_right REAL;
        UPDATE reps SET
            peak_knee_toe_change_left = json_extract(extra_json, '$.peak_knee_toe_change.left'),
            peak_knee_toe_change_right = json_extract(extra_json, '$.peak_knee_toe_change.right'),
            extra_json = json_remove(extra_json, '$.peak_knee_toe_change')
        WHERE json_valid(extra_json) AND json_type(extra_json, '$.peak_knee_toe_change') = 'object';
        """,
    ),
    Migration(
        4,
        "dashboard analysis jobs: each accepted upload, its video and where its analysis goes",
        # One row per accepted upload, written before the upload is answered: the queue survives
        # a restart. `running` rows found at start were cut off by a stopped server.
        """
        CREATE TABLE jobs (
            id           TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
            patient_id   TEXT NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
            exercise     TEXT NOT NULL,
            video_path   TEXT NOT NULL UNIQUE,
            out_dir      TEXT NOT NULL UNIQUE,
            recorded_at  TEXT,
            pain_before  INTEGER CHECK (pain_before BETWEEN 0 AND 10),
            pain_after   INTEGER CHECK (pain_after BETWEEN 0 AND 10),
            status       TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
            message      TEXT NOT NULL DEFAULT '',
            session_id   INTEGER REFERENCES sessions(id) ON DELETE SET NULL,
            attempts     INTEGER NOT NULL DEFAULT 0,
            created_at   TEXT NOT NULL,
            started_at   TEXT,
            finished_at  TEXT
        );
        CREATE INDEX jobs_by_status ON jobs(status);
        """,
    ),
    Migration(
        5,
        "two-footed squats: per-patient knee-to-toe offset limit",
        """
        ALTER TABLE patient_thresholds ADD COLUMN valgus_knee_toe_squat REAL;
        """,
    ),
)

LATEST = MIGRATIONS[-1].version

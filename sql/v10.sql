-- The V10 library: the schema of the file users have on disk before the upgrade.
-- Kept for tests and the demo-library generator; the upgrade itself never runs it.
CREATE TABLE meetings (id TEXT PRIMARY KEY, subject TEXT NOT NULL, start_time TEXT NOT NULL, end_time TEXT NOT NULL,
  location TEXT, organizer_name TEXT, organizer_email TEXT, attendees TEXT, description TEXT,
  is_recurring INTEGER DEFAULT 0, recurrence_rule TEXT, meeting_url TEXT,
  created_at TEXT DEFAULT CURRENT_TIMESTAMP, updated_at TEXT DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE recordings (id TEXT PRIMARY KEY, filename TEXT NOT NULL, original_filename TEXT, file_path TEXT,
  file_size INTEGER, duration_seconds REAL, date_recorded TEXT NOT NULL, meeting_id TEXT,
  correlation_confidence REAL, correlation_method TEXT, status TEXT DEFAULT 'pending',
  created_at TEXT DEFAULT CURRENT_TIMESTAMP, location TEXT DEFAULT 'device-only',
  transcription_status TEXT DEFAULT 'none', on_device INTEGER DEFAULT 1, device_last_seen TEXT,
  on_local INTEGER DEFAULT 0, source TEXT DEFAULT 'hidock', is_imported INTEGER DEFAULT 0,
  FOREIGN KEY (meeting_id) REFERENCES meetings(id));
CREATE TABLE transcripts (id TEXT PRIMARY KEY, recording_id TEXT NOT NULL UNIQUE, full_text TEXT NOT NULL,
  language TEXT DEFAULT 'es', summary TEXT, action_items TEXT, topics TEXT, key_points TEXT, sentiment TEXT,
  speakers TEXT, word_count INTEGER, transcription_provider TEXT, transcription_model TEXT,
  title_suggestion TEXT, question_suggestions TEXT, created_at TEXT DEFAULT CURRENT_TIMESTAMP,
  FOREIGN KEY (recording_id) REFERENCES recordings(id));
CREATE TABLE embeddings (id TEXT PRIMARY KEY, transcript_id TEXT NOT NULL, chunk_index INTEGER NOT NULL,
  chunk_text TEXT NOT NULL, embedding BLOB NOT NULL, created_at TEXT DEFAULT CURRENT_TIMESTAMP,
  FOREIGN KEY (transcript_id) REFERENCES transcripts(id));
CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT, updated_at TEXT DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT DEFAULT CURRENT_TIMESTAMP);
INSERT INTO schema_version (version) VALUES (10);

//! The NDJSON files of one export: one `Type.ndjson` per type, opened on its first resource,
//! each with its line count and byte length, so that a checkpoint can record them and a
//! resumed job can cut each file back to the length its checkpoint recorded (whatever was
//! written after it, a torn line included, is written again from the checkpoint's position).

use super::ExportOutput;
use serde_json::{Value, json};
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// What a checkpoint records of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileState {
    pub resource_type: String,
    pub file: String,
    pub count: u64,
    pub bytes: u64,
}

impl FileState {
    pub(crate) fn to_json(&self) -> Value {
        json!({"type": self.resource_type, "file": self.file, "count": self.count, "bytes": self.bytes})
    }

    pub(crate) fn from_json(v: &Value) -> Option<FileState> {
        Some(FileState {
            resource_type: v["type"].as_str()?.to_string(),
            file: v["file"].as_str()?.to_string(),
            count: v["count"].as_u64()?,
            bytes: v["bytes"].as_u64()?,
        })
    }
}

pub fn file_name(resource_type: &str) -> String {
    format!("{resource_type}.ndjson")
}

struct OpenFile {
    resource_type: String,
    writer: BufWriter<File>,
    count: u64,
    bytes: u64,
    /// A sync begun by [`Files::sync_early`], and the length it covers.
    syncing: Option<(u64, std::thread::JoinHandle<io::Result<()>>)>,
}

/// The files of an export being written.
pub(crate) struct Files {
    pub(crate) dir: PathBuf,
    open: Vec<OpenFile>,
}

const BUFFER: usize = 256 * 1024;

impl Files {
    /// An empty export in `dir` (created if needed).
    pub(crate) fn new(dir: &Path) -> io::Result<Files> {
        std::fs::create_dir_all(dir)?;
        Ok(Files { dir: dir.to_path_buf(), open: Vec::new() })
    }

    /// The files of an export stopped after the checkpoint that recorded `recorded`: each is
    /// cut back to its recorded length, and files created after that checkpoint are removed.
    /// An error means the files no longer hold what the checkpoint says (shorter, or not
    /// ending a line there: a disk that lost writes), and the export must start over.
    pub(crate) fn resume(dir: &Path, recorded: &[FileState]) -> io::Result<Files> {
        let mut open = Vec::new();
        for state in recorded {
            if state.file != file_name(&state.resource_type) {
                return Err(io::Error::new(io::ErrorKind::InvalidData, format!("unexpected file name {}", state.file)));
            }
            let mut file = OpenOptions::new().read(true).append(true).open(dir.join(&state.file))?;
            let len = file.metadata()?.len();
            if len < state.bytes {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} holds {len} bytes, fewer than the {} its checkpoint recorded", state.file, state.bytes),
                ));
            }
            if state.bytes > 0 {
                let mut last = [0u8];
                file.seek(SeekFrom::Start(state.bytes - 1))?;
                file.read_exact(&mut last)?;
                if last[0] != b'\n' {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{} does not end a line at its recorded length", state.file),
                    ));
                }
            }
            // Appends go to the end whatever the position, so cutting is all it takes.
            file.set_len(state.bytes)?;
            open.push(OpenFile {
                resource_type: state.resource_type.clone(),
                writer: BufWriter::with_capacity(BUFFER, file),
                count: state.count,
                bytes: state.bytes,
                syncing: None,
            });
        }
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if name.ends_with(".ndjson") && !recorded.iter().any(|s| s.file == name) {
                std::fs::remove_file(&path)?;
            }
        }
        Ok(Files { dir: dir.to_path_buf(), open })
    }

    pub(crate) fn write(&mut self, resource_type: &str, body: &[u8]) -> io::Result<()> {
        let i = match self.open.iter().position(|f| f.resource_type == resource_type) {
            Some(i) => i,
            None => {
                let file = File::create(self.dir.join(file_name(resource_type)))?;
                self.open.push(OpenFile {
                    resource_type: resource_type.to_string(),
                    writer: BufWriter::with_capacity(BUFFER, file),
                    count: 0,
                    bytes: 0,
                    syncing: None,
                });
                self.open.len() - 1
            }
        };
        let f = &mut self.open[i];
        // Stored bodies are compact JSON; a body that somehow holds a raw newline is re-encoded
        // rather than allowed to split its NDJSON line.
        if body.contains(&b'\n') {
            let v: Value = serde_json::from_slice(body).map_err(io::Error::other)?;
            let line = serde_json::to_vec(&v).map_err(io::Error::other)?;
            f.writer.write_all(&line)?;
            f.bytes += line.len() as u64;
        } else {
            f.writer.write_all(body)?;
            f.bytes += body.len() as u64;
        }
        f.writer.write_all(b"\n")?;
        f.bytes += 1;
        f.count += 1;
        Ok(())
    }

    /// Resources written so far, over all files.
    pub(crate) fn count(&self) -> u64 {
        self.open.iter().map(|f| f.count).sum()
    }

    /// Hands the buffered lines to the operating system and returns what a checkpoint
    /// records. No fsync: a process that dies keeps what the system holds, and a machine that
    /// loses it is caught by [`Files::resume`] (a file shorter than recorded starts over).
    pub(crate) fn flush(&mut self) -> io::Result<Vec<FileState>> {
        let mut states = Vec::with_capacity(self.open.len());
        for f in &mut self.open {
            f.writer.flush()?;
            states.push(FileState {
                resource_type: f.resource_type.clone(),
                file: file_name(&f.resource_type),
                count: f.count,
                bytes: f.bytes,
            });
        }
        states.sort_by(|a, b| a.resource_type.cmp(&b.resource_type));
        Ok(states)
    }

    /// Starts syncing `resource_type`'s file on its own thread, for a file the export is not
    /// expected to write again (a system-level type once read): the disk writes it while the
    /// next types are read, instead of every file waiting for the end. [`Files::finish`] waits
    /// for it, and syncs again if the file grew since.
    pub(crate) fn sync_early(&mut self, resource_type: &str) -> io::Result<()> {
        let Some(f) = self.open.iter_mut().find(|f| f.resource_type == resource_type) else { return Ok(()) };
        if let Some((_, pending)) = f.syncing.take() {
            joined(pending)?;
        }
        f.writer.flush()?;
        let file = f.writer.get_ref().try_clone()?;
        let pending = std::thread::Builder::new().name("salus-export-sync".into()).spawn(move || file.sync_all())?;
        f.syncing = Some((f.bytes, pending));
        Ok(())
    }

    /// Flushes and syncs every file: the export's outputs, by type.
    pub(crate) fn finish(self) -> io::Result<Vec<ExportOutput>> {
        let mut out = Vec::new();
        for mut f in self.open {
            f.writer.flush()?;
            let synced = match f.syncing.take() {
                Some((covered, pending)) => joined(pending).map(|()| covered == f.bytes)?,
                None => false,
            };
            if !synced {
                f.writer.get_ref().sync_all()?;
            }
            out.push(ExportOutput { file: file_name(&f.resource_type), resource_type: f.resource_type, count: f.count });
        }
        out.sort_by(|a, b| a.resource_type.cmp(&b.resource_type));
        Ok(out)
    }
}

fn joined(pending: std::thread::JoinHandle<io::Result<()>>) -> io::Result<()> {
    pending.join().unwrap_or_else(|_| Err(io::Error::other("a thread syncing an export file stopped unexpectedly")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(dir: &Path, file: &str) -> Vec<String> {
        std::fs::read_to_string(dir.join(file)).expect("read").lines().map(str::to_string).collect()
    }

    #[test]
    fn checkpoints_record_each_files_lines_and_bytes() {
        let dir = tempfile::tempdir().expect("dir");
        let mut files = Files::new(dir.path()).expect("new");
        files.write("Patient", br#"{"resourceType":"Patient","id":"a"}"#).expect("write");
        files.write("Observation", b"{\"resourceType\":\"Observation\",\n\"id\":\"o\"}").expect("write");
        let states = files.flush().expect("flush");
        assert_eq!(states.iter().map(|s| (s.resource_type.as_str(), s.count)).collect::<Vec<_>>(), [("Observation", 1), ("Patient", 1)]);
        for s in &states {
            assert_eq!(std::fs::metadata(dir.path().join(&s.file)).expect("meta").len(), s.bytes);
        }
        assert_eq!(lines(dir.path(), "Observation.ndjson"), [r#"{"resourceType":"Observation","id":"o"}"#], "a raw newline never splits a line");
    }

    #[test]
    fn a_file_synced_early_and_written_again_is_complete() {
        let dir = tempfile::tempdir().expect("dir");
        let mut files = Files::new(dir.path()).expect("new");
        files.write("Patient", br#"{"id":"a"}"#).expect("write");
        files.sync_early("Patient").expect("sync");
        files.sync_early("Nothing").expect("a type without a file has nothing to sync");
        files.write("Patient", br#"{"id":"b"}"#).expect("write after the sync began");
        files.write("Observation", br#"{"id":"o"}"#).expect("write");
        files.sync_early("Observation").expect("sync");
        let outputs = files.finish().expect("finish");
        assert_eq!(outputs.iter().map(|o| (o.resource_type.as_str(), o.count)).collect::<Vec<_>>(), [("Observation", 1), ("Patient", 2)]);
        assert_eq!(lines(dir.path(), "Patient.ndjson"), [r#"{"id":"a"}"#, r#"{"id":"b"}"#]);
    }

    #[test]
    fn resuming_cuts_each_file_back_to_its_checkpoint() {
        let dir = tempfile::tempdir().expect("dir");
        let mut files = Files::new(dir.path()).expect("new");
        files.write("Patient", br#"{"id":"a"}"#).expect("write");
        let recorded = files.flush().expect("flush");
        files.write("Patient", br#"{"id":"b"}"#).expect("write");
        files.write("Observation", br#"{"id":"o"}"#).expect("write");
        drop(files);
        let mut torn = OpenOptions::new().append(true).open(dir.path().join("Patient.ndjson")).expect("open");
        torn.write_all(br#"{"id":"#).expect("torn line");

        let mut files = Files::resume(dir.path(), &recorded).expect("resume");
        assert!(!dir.path().join("Observation.ndjson").exists(), "a file begun after the checkpoint is gone");
        files.write("Patient", br#"{"id":"b"}"#).expect("write");
        let outputs = files.finish().expect("finish");
        assert_eq!(lines(dir.path(), "Patient.ndjson"), [r#"{"id":"a"}"#, r#"{"id":"b"}"#]);
        assert_eq!(outputs[0].count, 2);
    }

    #[test]
    fn a_file_shorter_than_its_checkpoint_cannot_be_resumed() {
        let dir = tempfile::tempdir().expect("dir");
        let mut files = Files::new(dir.path()).expect("new");
        files.write("Patient", br#"{"id":"a"}"#).expect("write");
        let mut recorded = files.flush().expect("flush");
        drop(files);
        recorded[0].bytes += 5;
        assert!(Files::resume(dir.path(), &recorded).is_err());
        recorded[0].bytes -= 6;
        assert!(Files::resume(dir.path(), &recorded).is_err(), "the recorded length must end a line");
    }
}

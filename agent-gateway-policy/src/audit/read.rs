//! Reading a JSONL store back: every record, or one run's, in chain order.

use std::path::Path;

use super::AuditRecord;
use super::file::files;
use super::sink::AuditError;

/// Every record of the store at `path` (a directory or one segment), in chain order. A torn
/// last line is skipped; this does not verify the chain (see [`verify`](super::verify)).
pub fn read(path: &Path) -> Result<Vec<AuditRecord>, AuditError> {
    let mut out = Vec::new();
    scan(path, |r| out.push(r))?;
    Ok(out)
}

/// What run `run_id` did, in order: its records in the store at `path`.
pub fn run(path: &Path, run_id: &str) -> Result<Vec<AuditRecord>, AuditError> {
    let mut out = Vec::new();
    scan(path, |r| {
        if r.run_id.as_deref() == Some(run_id) {
            out.push(r);
        }
    })?;
    Ok(out)
}

fn scan(path: &Path, mut each: impl FnMut(AuditRecord)) -> Result<(), AuditError> {
    for file in files(path).map_err(AuditError::io(path))? {
        let data = std::fs::read(&file).map_err(AuditError::io(&file))?;
        let complete = data.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        for line in data[..complete]
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
        {
            let record = serde_json::from_slice(line).map_err(|_| AuditError::Corrupt {
                path: file.clone(),
                reason: super::chain::BadLine::Malformed,
            })?;
            each(record);
        }
    }
    Ok(())
}

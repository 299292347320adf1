//! Opening inputs: plain or gzip, with a progress bar over the bytes read.

use flate2::read::MultiGzDecoder;
use indicatif::{ProgressBar, ProgressStyle};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

/// How rows of a file are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

impl Format {
    /// `.jsonl` / `.ndjson` (optionally `.gz`) are JSON Lines; anything else CSV.
    pub fn of(path: &Path) -> Format {
        let name = path.to_string_lossy().to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        if name.ends_with(".jsonl") || name.ends_with(".ndjson") {
            Format::JsonLines
        } else {
            Format::Csv
        }
    }
}

/// An open input and its progress bar (hidden unless stderr is a terminal).
pub struct Input {
    pub reader: Box<dyn BufRead>,
    pub progress: ProgressBar,
}

/// Opens `path`, decompressing `.gz`; `label` names the bar.
pub fn open(path: &Path, label: &str, show_progress: bool) -> io::Result<Input> {
    let file = File::open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    let len = file.metadata()?.len();
    let progress = if show_progress {
        ProgressBar::new(len)
    } else {
        ProgressBar::hidden()
    };
    progress.set_style(
        ProgressStyle::with_template(
            "{prefix:>10} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    progress.set_prefix(label.to_string());
    let counted = progress.wrap_read(file);
    let raw: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(MultiGzDecoder::new(BufReader::with_capacity(
            1 << 16,
            counted,
        )))
    } else {
        Box::new(counted)
    };
    Ok(Input {
        reader: Box::new(BufReader::with_capacity(1 << 16, raw)),
        progress,
    })
}

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

/// Opens `path`, decompressing `.gz`; `label` names the bar. `-` is
/// standard input (gzip when it starts with the gzip magic bytes).
pub fn open(path: &Path, label: &str, show_progress: bool) -> io::Result<Input> {
    let stdin = path.as_os_str() == "-";
    let (raw, len): (Box<dyn Read>, u64) = if stdin {
        (Box::new(io::stdin().lock()), 0)
    } else {
        let file = File::open(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let len = file.metadata()?.len();
        (Box::new(file), len)
    };
    let progress = if !show_progress {
        ProgressBar::hidden()
    } else if stdin {
        ProgressBar::no_length()
    } else {
        ProgressBar::new(len)
    };
    progress.set_style(
        ProgressStyle::with_template(if stdin {
            "{prefix:>10} {bytes} {bytes_per_sec}"
        } else {
            "{prefix:>10} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
        })
        .expect("valid template")
        .progress_chars("=> "),
    );
    progress.set_prefix(label.to_string());
    let mut buffered = BufReader::with_capacity(1 << 16, progress.wrap_read(raw));
    let gzip = if stdin {
        buffered.fill_buf()?.starts_with(&[0x1f, 0x8b])
    } else {
        path.extension().is_some_and(|e| e == "gz")
    };
    let reader: Box<dyn BufRead> = if gzip {
        Box::new(BufReader::with_capacity(
            1 << 16,
            MultiGzDecoder::new(buffered),
        ))
    } else {
        Box::new(buffered)
    };
    Ok(Input { reader, progress })
}

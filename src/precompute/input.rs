//! Opening inputs: plain or gzip, with a progress bar over the bytes read.

use flate2::read::MultiGzDecoder;
use indicatif::{ProgressBar, ProgressStyle};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::mpsc::{self, Receiver};

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
    let (raw, len): (Box<dyn Read + Send>, u64) = if stdin {
        (Box::new(io::stdin()), 0)
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
    // Inflating, and draining a pipe (whose 64 KB buffer would otherwise
    // make the writer and this reader wait on each other), happen on their
    // own thread.
    let reader: Box<dyn BufRead> = if gzip {
        let ahead = ReadAhead::spawn(MultiGzDecoder::new(buffered));
        Box::new(BufReader::with_capacity(1 << 16, ahead))
    } else if stdin {
        Box::new(BufReader::with_capacity(
            1 << 16,
            ReadAhead::spawn(buffered),
        ))
    } else {
        Box::new(buffered)
    };
    Ok(Input { reader, progress })
}

/// Reads ahead on its own thread (up to 1 MB), so input overlaps parsing.
struct ReadAhead {
    chunks: Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl ReadAhead {
    fn spawn(mut input: impl Read + Send + 'static) -> ReadAhead {
        let (tx, rx) = mpsc::sync_channel(4);
        std::thread::spawn(move || loop {
            let mut chunk = vec![0; 1 << 18];
            let mut n = 0;
            let res = loop {
                match input.read(&mut chunk[n..]) {
                    Ok(0) => break Ok(()),
                    Ok(k) => {
                        n += k;
                        if n == chunk.len() {
                            break Ok(());
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            };
            chunk.truncate(n);
            let last = n == 0 || res.is_err();
            if n > 0 && tx.send(Ok(chunk)).is_err() {
                return; // the reader is gone
            }
            if let Err(e) = res {
                let _ = tx.send(Err(e));
            }
            if last {
                return;
            }
        });
        ReadAhead {
            chunks: rx,
            chunk: Vec::new(),
            pos: 0,
        }
    }
}

impl Read for ReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.chunk.len() {
            match self.chunks.recv() {
                Ok(Ok(chunk)) => (self.chunk, self.pos) = (chunk, 0),
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0), // end of the stream
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

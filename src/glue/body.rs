//! The body pump: origin bytes read into our own buffer (BYOB), through the
//! pipeline's [`PageBody`], out as a stream.

use crate::page::body::PageBody;
use futures_util::future::poll_fn;
use futures_util::io::AsyncRead;
use std::pin::Pin;
use worker::{AnalyticsEngineDataset, Response, ResponseBody, Result};

/// Bytes per origin read. Each read costs a fixed round of promises and
/// microtasks between the runtime and Wasm, so one large read beats many of
/// the runtime's default 4 KB chunks (1.4 MB page: 67 → 5 ms of CPU); a read
/// still returns as soon as any bytes are there, so latency is unchanged.
const READ_BYTES: usize = 256 << 10;

/// The origin's body through `page`, as a stream for the response. The
/// origin breaking off passes on as an error: never a faked ending.
pub(super) fn stream(
    origin: &mut Response,
    page: Box<PageBody>,
    events: Option<AnalyticsEngineDataset>,
    test_panic: bool,
) -> Result<impl futures_util::Stream<Item = Result<Vec<u8>>>> {
    let reader = match origin.body() {
        ResponseBody::Stream(raw) => Some(
            wasm_streams::ReadableStream::from_raw(raw.clone())
                .try_into_async_read()
                .map_err(|_| worker::Error::RustError("origin body: not a byte stream".into()))?,
        ),
        _ => None,
    };
    // `sent`: some bytes went out (a test panic waits for that).
    let state = (reader, vec![0; READ_BYTES], page, false, false);
    let events = std::rc::Rc::new(events);
    Ok(futures_util::stream::unfold(
        state,
        move |(mut reader, mut buf, mut page, mut done, sent)| {
            let events = std::rc::Rc::clone(&events);
            async move {
                while !done {
                    let read = match reader.as_mut() {
                        Some(r) => poll_fn(|cx| Pin::new(&mut *r).poll_read(cx, &mut buf)).await,
                        None => Ok(0),
                    };
                    let out = match read {
                        Ok(0) => {
                            done = true;
                            let (out, logs) = page.end();
                            super::events::emit_to(events.as_ref().as_ref(), &logs);
                            out
                        }
                        Ok(n) => page.write(buf.get(..n).unwrap_or_default()),
                        Err(e) => {
                            let e = worker::Error::RustError(e.to_string());
                            return Some((Err(e), (reader, buf, page, true, sent)));
                        }
                    };
                    if !out.is_empty() {
                        if test_panic && sent {
                            super::panic::trip("body");
                        }
                        return Some((Ok(out), (reader, buf, page, done, true)));
                    }
                }
                None
            }
        },
    ))
}

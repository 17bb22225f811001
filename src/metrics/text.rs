//! The per-flow series written straight to the text exposition format.
//!
//! The prometheus crate's `gather()` builds a protobuf object per series and
//! sorts its labels before re-encoding them as text: about 3 µs a series, a
//! third of a second for 10,000 flows, spent on a runtime worker at every
//! scrape. The fixed per-flow series (about ten a flow) are therefore kept
//! as atomics with their label text rendered once, and written here in one
//! pass per family. Daemon-wide and check-specific series stay in the
//! registry, whose output is appended.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// An f64 in an atomic, for values written by one probe and read by scrapes.
#[derive(Debug, Default)]
pub(crate) struct AtomicF64(AtomicU64);

impl AtomicF64 {
    pub(super) fn new(v: f64) -> Self {
        AtomicF64(AtomicU64::new(v.to_bits()))
    }
    pub(super) fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }
    pub(super) fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

/// Escape a label value (backslash, double quote, newline).
pub(crate) fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// `name="value",...` for label pairs, values escaped.
pub(crate) fn labels(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{k}=\"{}\"", escape(v));
    }
    out
}

/// Writes families: `# HELP`/`# TYPE` once, then samples.
/// Text exposition writer. With a sink it hands over the text in chunks of
/// about `chunk` bytes as it goes, so a scrape of 100,000 flows never holds
/// the whole (tens of megabytes) body in memory at once.
pub(crate) struct Writer<'a> {
    pub out: String,
    sink: Option<&'a mut dyn FnMut(String) -> bool>,
    chunk: usize,
    /// The sink refused a chunk (the scraper went away): stop sending.
    closed: bool,
}

impl<'a> Writer<'a> {
    /// A writer that keeps everything in `out`.
    pub(crate) fn buffered(capacity: usize) -> Writer<'static> {
        Writer {
            out: String::with_capacity(capacity),
            sink: None,
            chunk: usize::MAX,
            closed: false,
        }
    }

    /// A writer that passes chunks of about `chunk` bytes to `sink`; the
    /// sink returns false when nobody wants more.
    pub(crate) fn chunked(chunk: usize, sink: &'a mut dyn FnMut(String) -> bool) -> Writer<'a> {
        Writer {
            out: String::with_capacity(chunk + 1024),
            sink: Some(sink),
            chunk,
            closed: false,
        }
    }

    /// Hand what is buffered to the sink (no-op without one).
    pub(crate) fn flush(&mut self) {
        let Some(sink) = self.sink.as_mut() else {
            return;
        };
        if self.out.is_empty() {
            return;
        }
        let full = std::mem::replace(&mut self.out, String::with_capacity(self.chunk + 1024));
        if !self.closed && !sink(full) {
            self.closed = true;
        }
    }

    fn maybe_flush(&mut self) {
        if self.out.len() >= self.chunk {
            self.flush();
        }
    }

    pub(crate) fn header(&mut self, name: &str, kind: &str, help: &str) {
        if self.closed {
            return;
        }
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
        self.maybe_flush();
    }

    /// `name{base,extra} value`; `extra` may be empty.
    pub(crate) fn sample(&mut self, name: &str, base: &str, extra: &str, value: f64) {
        if self.closed {
            return;
        }
        self.out.push_str(name);
        self.out.push('{');
        self.out.push_str(base);
        if !extra.is_empty() {
            self.out.push(',');
            self.out.push_str(extra);
        }
        self.out.push_str("} ");
        if value.fract() == 0.0 && value.abs() < 1e15 {
            let _ = write!(self.out, "{}", value as i64);
        } else {
            let _ = write!(self.out, "{value}");
        }
        self.out.push('\n');
        self.maybe_flush();
    }
}

//! The core's `tracing` events at the edge: one JSON line each on the worker's console
//! (`wrangler tail`, the dashboard's logs), info and above, in the shape of the native
//! host's `--log-format json` (docs/operations.md, "Logs"): `timestamp`, `level`, `fields`
//! (in the order the event names them), `target`, and `spans` (the `request`, `drive` and
//! `call` spans the line is in, outermost first, each its fields and `name`). The core logs
//! ids, phases and codes, never card data or secrets; this only formats what it is given.
//!
//! Each line is written straight into one `String` (`json_line.rs`: values escaped as they
//! are formatted, the timestamp from `Date.now()`), each span's text once when the span
//! opens, and handed to one console call: no `serde_json` value per field or line
//! (docs/edge/measurements.md, "Log lines and a warmed first request", has what that saved).

use std::cell::{Cell, RefCell};
use std::fmt::{Debug, Write};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use wasm_bindgen::prelude::wasm_bindgen;

use super::json_line::{push_debug, push_f64, push_str, push_timestamp, push_wide};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    pub(super) fn console_error(line: &str);
    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    fn console_warn(line: &str);
    #[wasm_bindgen(js_namespace = console, js_name = log)]
    fn console_log(line: &str);
}

/// The level written: info and above, as the native host's default.
const LEVEL: Level = Level::INFO;

/// Installs the console writer as the isolate's subscriber (once; later calls do nothing).
pub fn install() {
    let _ = tracing::subscriber::set_global_default(ConsoleSubscriber);
}

/// One open span: its fields as JSON texts (in the order recorded), its whole JSON text
/// (written once, not for every line logged in the span) and how many handles hold it.
struct Open {
    name: &'static str,
    fields: Vec<(&'static str, String)>,
    text: String,
    handles: usize,
}

impl Open {
    fn new(attributes: &Attributes<'_>) -> Open {
        let mut open = Open {
            name: attributes.metadata().name(),
            fields: Vec::new(),
            text: String::new(),
            handles: 1,
        };
        attributes.record(&mut SpanFields(&mut open.fields));
        open.write_text();
        open
    }

    fn record(&mut self, values: &Record<'_>) {
        values.record(&mut SpanFields(&mut self.fields));
        self.write_text();
    }

    /// `{"field":value,…,"name":"…"}`, as the native host lists a span.
    fn write_text(&mut self) {
        let text = &mut self.text;
        text.clear();
        text.push('{');
        for (name, value) in &self.fields {
            push_str(text, name);
            text.push(':');
            text.push_str(value);
            text.push(',');
        }
        text.push_str("\"name\":");
        push_str(text, self.name);
        text.push('}');
    }
}

/// The isolate's spans (one thread: no locks): the open ones (a few per request in
/// flight: a list, no hashing), and the ones entered now, innermost last.
#[derive(Default)]
struct Spans {
    next: u64,
    open: Vec<(u64, Open)>,
    entered: Vec<u64>,
}

impl Spans {
    fn get(&self, id: u64) -> Option<&Open> {
        self.open
            .iter()
            .find(|(key, _)| *key == id)
            .map(|(_, open)| open)
    }

    fn get_mut(&mut self, id: u64) -> Option<&mut Open> {
        self.open
            .iter_mut()
            .find(|(key, _)| *key == id)
            .map(|(_, open)| open)
    }
}

thread_local! {
    static SPANS: RefCell<Spans> = RefCell::new(Spans::default());
    /// Set while the isolate warms its request path up ([`quietly`]).
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Runs `work` with every line formatted as usual but not written: the warm-up at the
/// isolate's load (`super::warm_up`) compiles the logging code without logging a request
/// nobody made.
pub fn quietly<T>(work: impl FnOnce() -> T) -> T {
    QUIET.with(|quiet| quiet.set(true));
    let done = work();
    QUIET.with(|quiet| quiet.set(false));
    done
}

struct ConsoleSubscriber;

impl Subscriber for ConsoleSubscriber {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= LEVEL
    }

    /// Lets `tracing` skip a debug line at its call site, before asking [`Self::enabled`].
    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::from_level(LEVEL))
    }

    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        let open = Open::new(attributes);
        SPANS.with(|spans| {
            let mut spans = spans.borrow_mut();
            spans.next += 1;
            let id = spans.next;
            spans.open.push((id, open));
            Id::from_u64(id)
        })
    }

    fn record(&self, id: &Id, values: &Record<'_>) {
        SPANS.with(|spans| {
            if let Some(open) = spans.borrow_mut().get_mut(id.into_u64()) {
                open.record(values);
            }
        });
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let metadata = event.metadata();
        let mut line = String::with_capacity(512);
        line.push_str("{\"timestamp\":");
        push_timestamp(&mut line, js_sys::Date::now() as i64);
        line.push_str(",\"level\":\"");
        line.push_str(metadata.level().as_str());
        line.push_str("\",\"fields\":{");
        event.record(&mut EventFields {
            line: &mut line,
            first: true,
        });
        line.push_str("},\"target\":");
        push_str(&mut line, metadata.target());
        line.push_str(",\"spans\":[");
        SPANS.with(|spans| {
            let spans = spans.borrow();
            // A span entered again while it is entered (the access line is logged in the
            // request span, inside the request's own future) is listed once, as the
            // native host's subscriber lists it.
            let mut listed: Vec<u64> = Vec::with_capacity(spans.entered.len());
            for id in &spans.entered {
                let Some(open) = spans.get(*id).filter(|_| !listed.contains(id)) else {
                    continue;
                };
                if !listed.is_empty() {
                    line.push(',');
                }
                listed.push(*id);
                line.push_str(&open.text);
            }
        });
        line.push_str("]}");
        if QUIET.with(Cell::get) {
            return;
        }
        match *metadata.level() {
            Level::ERROR => console_error(&line),
            Level::WARN => console_warn(&line),
            _ => console_log(&line),
        }
    }

    fn enter(&self, id: &Id) {
        SPANS.with(|spans| spans.borrow_mut().entered.push(id.into_u64()));
    }

    fn exit(&self, id: &Id) {
        SPANS.with(|spans| {
            let mut spans = spans.borrow_mut();
            if let Some(at) = spans.entered.iter().rposition(|e| *e == id.into_u64()) {
                spans.entered.remove(at);
            }
        });
    }

    fn clone_span(&self, id: &Id) -> Id {
        SPANS.with(|spans| {
            if let Some(open) = spans.borrow_mut().get_mut(id.into_u64()) {
                open.handles += 1;
            }
        });
        id.clone()
    }

    fn try_close(&self, id: Id) -> bool {
        SPANS.with(|spans| {
            let mut spans = spans.borrow_mut();
            let key = id.into_u64();
            let Some(at) = spans.open.iter().position(|(open_id, _)| *open_id == key) else {
                return false;
            };
            let open = &mut spans.open[at].1;
            open.handles -= 1;
            let closed = open.handles == 0;
            if closed {
                spans.open.swap_remove(at);
            }
            closed
        })
    }
}

/// An event's fields written into its line as JSON members: numbers and booleans as such,
/// the rest as text (a field's `Debug`, a `%` field's `Display`).
struct EventFields<'a> {
    line: &'a mut String,
    first: bool,
}

impl EventFields<'_> {
    fn name(&mut self, field: &Field) -> &mut String {
        if !std::mem::take(&mut self.first) {
            self.line.push(',');
        }
        push_str(self.line, field.name());
        self.line.push(':');
        self.line
    }
}

impl Visit for EventFields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        push_debug(self.name(field), value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        push_str(self.name(field), value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        let _ = write!(self.name(field), "{value}");
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        let _ = write!(self.name(field), "{value}");
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.name(field)
            .push_str(if value { "true" } else { "false" });
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        push_wide(self.name(field), false, value);
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        push_wide(self.name(field), value < 0, value.unsigned_abs());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        push_f64(self.name(field), value);
    }

    fn record_bytes(&mut self, field: &Field, value: &[u8]) {
        push_str(self.name(field), &String::from_utf8_lossy(value));
    }
}

/// A span's fields as (name, JSON text), in the order recorded; a field recorded again
/// (the request span learns its `payment`) keeps its place and takes the new value.
struct SpanFields<'a>(&'a mut Vec<(&'static str, String)>);

impl SpanFields<'_> {
    fn set(&mut self, field: &Field, text: String) {
        match self.0.iter_mut().find(|(name, _)| *name == field.name()) {
            Some((_, value)) => *value = text,
            None => self.0.push((field.name(), text)),
        }
    }
}

impl Visit for SpanFields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        let mut text = String::new();
        push_debug(&mut text, value);
        self.set(field, text);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let mut text = String::new();
        push_str(&mut text, value);
        self.set(field, text);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.set(field, value.to_string());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.set(field, value.to_string());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.set(field, value.to_string());
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        let mut text = String::new();
        push_wide(&mut text, false, value);
        self.set(field, text);
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        let mut text = String::new();
        push_wide(&mut text, value < 0, value.unsigned_abs());
        self.set(field, text);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        let mut text = String::new();
        push_f64(&mut text, value);
        self.set(field, text);
    }

    fn record_bytes(&mut self, field: &Field, value: &[u8]) {
        let mut text = String::new();
        push_str(&mut text, &String::from_utf8_lossy(value));
        self.set(field, text);
    }
}

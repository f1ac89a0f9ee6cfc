//! The core's `tracing` events at the edge: one JSON line each on the worker's console
//! (`wrangler tail`, the dashboard's logs), info and above, in the shape of the native
//! host's `--log-format json` (docs/operations.md, "Logs"): `timestamp`, `level`, `target`,
//! `fields`, and `spans` (the `request`, `drive` and `call` spans the line is in, outermost
//! first). The core logs ids, phases and codes, never card data or secrets; this only
//! formats what it is given.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Debug;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    pub(super) fn console_error(line: &str);
    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    fn console_warn(line: &str);
    #[wasm_bindgen(js_namespace = console, js_name = log)]
    fn console_log(line: &str);
}

/// Installs the console writer as the isolate's subscriber (once; later calls do nothing).
pub fn install() {
    let _ = tracing::subscriber::set_global_default(ConsoleSubscriber);
}

/// One open span: its fields (with its `name`), their JSON text (written once, not for
/// every line logged in the span) and how many handles hold it.
struct Open {
    fields: Map<String, Value>,
    text: String,
    handles: usize,
}

impl Open {
    fn new(fields: Map<String, Value>) -> Open {
        let text = object_text(&fields);
        Open {
            fields,
            text,
            handles: 1,
        }
    }

    fn record(&mut self, values: &Record<'_>) {
        values.record(&mut Json(&mut self.fields));
        self.text = object_text(&self.fields);
    }
}

/// A map's JSON text (a map of strings to values always has one).
fn object_text(fields: &Map<String, Value>) -> String {
    serde_json::to_string(fields).unwrap_or_default()
}

/// The isolate's spans (one thread: no locks): the open ones, and the ones entered now,
/// innermost last.
#[derive(Default)]
struct Spans {
    next: u64,
    open: HashMap<u64, Open>,
    entered: Vec<u64>,
}

thread_local! {
    static SPANS: RefCell<Spans> = RefCell::new(Spans::default());
}

struct ConsoleSubscriber;

impl Subscriber for ConsoleSubscriber {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= Level::INFO
    }

    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        let mut fields = Map::new();
        attributes.record(&mut Json(&mut fields));
        fields.insert("name".into(), attributes.metadata().name().into());
        SPANS.with(|spans| {
            let mut spans = spans.borrow_mut();
            spans.next += 1;
            let id = spans.next;
            spans.open.insert(id, Open::new(fields));
            Id::from_u64(id)
        })
    }

    fn record(&self, id: &Id, values: &Record<'_>) {
        SPANS.with(|spans| {
            if let Some(open) = spans.borrow_mut().open.get_mut(&id.into_u64()) {
                open.record(values);
            }
        });
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let metadata = event.metadata();
        let mut fields = Map::new();
        event.record(&mut Json(&mut fields));
        // The members in serde_json's order (its maps sort their keys): the line is the
        // one `json!({timestamp, level, fields, target, spans})` wrote, without building
        // it as a value first or copying each span's fields into it.
        let mut line = String::with_capacity(512);
        line.push_str("{\"fields\":");
        line.push_str(&Value::Object(fields).to_string());
        line.push_str(",\"level\":");
        line.push_str(&Value::from(metadata.level().as_str()).to_string());
        line.push_str(",\"spans\":[");
        SPANS.with(|spans| {
            let spans = spans.borrow();
            // A span entered again while it is entered (the access line is logged in the
            // request span, inside the request's own future) is listed once, as the
            // native host's subscriber lists it.
            let mut listed: Vec<u64> = Vec::with_capacity(spans.entered.len());
            for id in &spans.entered {
                let Some(open) = spans.open.get(id).filter(|_| !listed.contains(id)) else {
                    continue;
                };
                if !listed.is_empty() {
                    line.push(',');
                }
                listed.push(*id);
                line.push_str(&open.text);
            }
        });
        line.push_str("],\"target\":");
        line.push_str(&Value::from(metadata.target()).to_string());
        line.push_str(",\"timestamp\":");
        let timestamp = String::from(js_sys::Date::new_0().to_iso_string());
        line.push_str(&Value::from(timestamp).to_string());
        line.push('}');
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
            if let Some(open) = spans.borrow_mut().open.get_mut(&id.into_u64()) {
                open.handles += 1;
            }
        });
        id.clone()
    }

    fn try_close(&self, id: Id) -> bool {
        SPANS.with(|spans| {
            let mut spans = spans.borrow_mut();
            let key = id.into_u64();
            let Some(open) = spans.open.get_mut(&key) else {
                return false;
            };
            open.handles -= 1;
            let closed = open.handles == 0;
            if closed {
                spans.open.remove(&key);
            }
            closed
        })
    }
}

/// Fields as JSON members: numbers and booleans as such, the rest as text.
struct Json<'a>(&'a mut Map<String, Value>);

impl Visit for Json<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
}

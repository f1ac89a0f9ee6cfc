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

/// One open span: its fields (with its `name`) and how many handles hold it.
struct Open {
    fields: Map<String, Value>,
    handles: usize,
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
            spans.open.insert(id, Open { fields, handles: 1 });
            Id::from_u64(id)
        })
    }

    fn record(&self, id: &Id, values: &Record<'_>) {
        SPANS.with(|spans| {
            if let Some(open) = spans.borrow_mut().open.get_mut(&id.into_u64()) {
                values.record(&mut Json(&mut open.fields));
            }
        });
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let metadata = event.metadata();
        let mut fields = Map::new();
        event.record(&mut Json(&mut fields));
        let spans: Vec<Value> = SPANS.with(|spans| {
            let spans = spans.borrow();
            spans
                .entered
                .iter()
                .filter_map(|id| spans.open.get(id))
                .map(|open| Value::Object(open.fields.clone()))
                .collect()
        });
        let line = serde_json::json!({
            "timestamp": String::from(js_sys::Date::new_0().to_iso_string()),
            "level": metadata.level().to_string(),
            "fields": fields,
            "target": metadata.target(),
            "spans": spans,
        })
        .to_string();
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

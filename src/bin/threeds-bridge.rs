//! The native host: `threeds-bridge demo | serve | sandbox`.
fn main() {
    eprintln!("threeds-bridge: no command is built yet");
    std::process::exit(2);
}

//! Panics never reach a client as text. Engine work runs through
//! [`blocking`], which catches a panic, logs its message and location under a
//! fresh error id and hands back only that id; the client sees "an unexpected
//! error occurred" and the id, which an operator finds in the log beside the
//! detail. Panics elsewhere in a request are caught by the router's last-resort
//! layer the same way.

use std::cell::RefCell;
use std::panic::AssertUnwindSafe;
use std::sync::Once;

thread_local! {
    /// The message and location of the last panic on this thread, kept by the
    /// hook for the code that catches it.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Set while a request's work runs: its panics are logged with an error
    /// id by the catcher, not also by the hook.
    static CAUGHT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A request failed with an internal error, logged under this id.
#[derive(Debug, Clone)]
pub struct ErrorId(pub String);

impl ErrorId {
    /// What the client is told.
    pub fn message(&self) -> String {
        format!("An unexpected error occurred. Error id: {}.", self.0)
    }
}

/// Installs the hook that records panic details for [`caught`] (once per process).
pub fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = payload_text(info.payload());
            let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{message} at {location}")));
            if !CAUGHT.with(|c| c.get()) {
                previous(info);
            }
        }));
    });
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// Logs a caught panic under a new error id and returns the id.
pub fn caught(payload: &(dyn std::any::Any + Send)) -> ErrorId {
    let detail = LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| payload_text(payload));
    let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    tracing::error!(error_id = %id, panic = %detail, "a request failed with an internal error");
    ErrorId(id)
}

/// Runs `f` on this thread, turning a panic into a logged [`ErrorId`].
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, ErrorId> {
    let before = CAUGHT.with(|c| c.replace(true));
    let r = std::panic::catch_unwind(AssertUnwindSafe(f));
    CAUGHT.with(|c| c.set(before));
    r.map_err(|payload| caught(payload.as_ref()))
}

/// Runs blocking engine work off the async threads; a panic in it becomes
/// an [`ErrorId`].
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ErrorId> {
    match tokio::task::spawn_blocking(move || guarded(f)).await {
        Ok(r) => r,
        Err(e) if e.is_panic() => Err(caught(e.into_panic().as_ref())),
        Err(_) => {
            let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
            tracing::error!(error_id = %id, "blocking work was cancelled");
            Err(ErrorId(id))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Collects what the log says, for the assertions.
    #[derive(Clone, Default)]
    struct Log(Arc<Mutex<Vec<u8>>>);

    impl Write for Log {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged<T>(f: impl FnOnce() -> T) -> (T, String) {
        let log = Log::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
        let out = tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        (out, text)
    }

    #[test]
    fn a_caught_panic_gives_the_client_an_id_and_the_log_the_detail() {
        install_hook();
        let (r, log) =
            logged(|| guarded(|| -> u32 { panic!("overflow near the user's value 'Ромашка' <script>") }));
        let id = r.expect_err("the panic is caught");
        let message = id.message();
        assert!(message.contains(&id.0), "{message}");
        assert!(!message.contains("Ромашка") && !message.contains("overflow"), "no detail for the client: {message}");
        let line = log.lines().find(|l| l.contains(&id.0)).unwrap_or_else(|| panic!("the id is logged: {log}"));
        assert!(line.contains("Ромашка"), "the detail is beside the id: {line}");
        assert!(line.contains("panics.rs"), "with the panic's location: {line}");
        assert_eq!(guarded(|| 7).unwrap(), 7);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn blocking_work_that_panics_answers_with_an_id() {
        install_hook();
        let err = blocking(|| -> u32 { panic!("secret 42") }).await.expect_err("caught");
        assert!(!err.message().contains("secret"));
        assert_eq!(blocking(|| 5).await.unwrap(), 5);
    }
}

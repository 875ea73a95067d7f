//! Polling for something the driver or the card does in its own time.

use crate::ktap::CaseResult;
use std::time::{Duration, Instant};

/// Polls `done` every 2 ms until it answers true; an error after 5 s names
/// `what` was waited for.
pub fn wait_for(mut done: impl FnMut() -> Result<bool, String>, what: &str) -> CaseResult {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if done()? {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Err(format!("timed out after 5 s waiting for {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_until_done_and_passes_errors_on() {
        let mut polls = 0;
        let done = wait_for(
            || {
                polls += 1;
                Ok(polls == 3)
            },
            "the third poll",
        );
        assert_eq!((done, polls), (Ok(()), 3));
        assert_eq!(
            wait_for(|| Err("the card is gone".into()), "anything"),
            Err("the card is gone".to_string())
        );
    }
}

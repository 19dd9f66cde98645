//! A deadline for futures in the browser.

use std::future::Future;
use std::pin::pin;

use futures::future::{Either, select};
use gloo_timers::future::TimeoutFuture;

/// The future did not finish before its deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed;

/// Runs `future` until it finishes or `seconds` have passed.
///
/// A future that loses the race is dropped; JavaScript work it started (a
/// promise, a request) goes on unless the caller cancels it.
pub async fn within<T>(seconds: u32, future: impl Future<Output = T>) -> Result<T, Elapsed> {
    let deadline = TimeoutFuture::new(seconds.saturating_mul(1_000));

    match select(pin!(future), deadline).await {
        Either::Left((output, _)) => Ok(output),
        Either::Right(((), _)) => Err(Elapsed),
    }
}
